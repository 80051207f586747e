/*
 * sim_gpm_parse.c — the `gpm` scenario lines (README.md, "GPM"): support per GPU, a metric's value,
 * NaN or error per GPU or MIG device, and the simulated header's metric count; and the default
 * support, from the GPU's name.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define GPM_ID_LIMIT 333 /* ids 0..332 (a 13.2+ header) */

static const struct {
  const char *name;
  int id;
} metric_names[] = {
  {"graphicsUtil", 1}, {"smUtil", 2}, {"smOccupancy", 3}, {"integerUtil", 4}, {"anyTensorUtil", 5},
  {"dfmaTensorUtil", 6}, {"hmmaTensorUtil", 7}, {"dmmaTensorUtil", 8}, {"immaTensorUtil", 9},
  {"dramBwUtil", 10}, {"fp64Util", 11}, {"fp32Util", 12}, {"fp16Util", 13}, {"pcieTxPerSec", 20},
  {"pcieRxPerSec", 21}, {"nvlinkTotalRxPerSec", 60}, {"nvlinkTotalTxPerSec", 61},
};

static int metric_id(const char *w) {
  for (size_t i = 0; i < sizeof metric_names / sizeof metric_names[0]; i++)
    if (!strcmp(w, metric_names[i].name)) return metric_names[i].id;
  char *end;
  long v = strtol(w, &end, 10);
  return end != w && !*end && v >= 0 && v < GPM_ID_LIMIT ? (int)v : -1;
}

static int perr(char *err, size_t errlen, const char *msg) {
  snprintf(err, errlen, "%s", msg);
  return -1;
}

int sim_gpm_parse_line(char **t, int n, sim_scenario_t *s, sim_gpu_t *g, sim_mig_t *m, char *err, size_t errlen) {
  if (!g) {
    if (n == 3 && !strcmp(t[1], "max")) {
      char *end;
      long v = strtol(t[2], &end, 10);
      if (end == t[2] || *end || v < 1 || v > GPM_ID_LIMIT)
        return perr(err, errlen, "gpm max takes the simulated header's NVML_GPM_METRIC_MAX (98, 210 or 333)");
      s->gpm_metric_max = (int)v;
      return 0;
    }
    return perr(err, errlen, "outside a gpu block, gpm takes: max <NVML_GPM_METRIC_MAX>");
  }
  if (n == 2 && (!strcmp(t[1], "on") || !strcmp(t[1], "off"))) {
    if (m) return perr(err, errlen, "gpm on|off belongs in the gpu block (before its first mig line)");
    g->gpm_support = t[1][1] == 'n';
    return 0;
  }
  if (n < 3) return perr(err, errlen, "gpm takes on, off, or <metric> <value|nan|error CODE>");
  int id = metric_id(t[1]);
  if (id < 0) {
    snprintf(err, errlen, "'%s' is not a GPM metric (a name such as graphicsUtil, or an id 0..332)", t[1]);
    return -1;
  }
  sim_gpm_line_t *lines = m ? m->gpm : g->gpm;
  int *count = m ? &m->ngpm : &g->ngpm;
  int at = 0;
  while (at < *count && lines[at].id != id) at++;
  if (at == *count) {
    if (*count >= SIM_GPM_LINES) {
      snprintf(err, errlen, "at most %d gpm lines per gpu or mig block", SIM_GPM_LINES);
      return -1;
    }
    (*count)++;
  }
  sim_gpm_line_t *l = &lines[at];
  memset(l, 0, sizeof *l);
  l->id = id;
  if (!strcmp(t[2], "nan")) {
    l->kind = GPM_NAN;
    return n == 3 ? 0 : perr(err, errlen, "extra words after 'nan'");
  }
  if (!strcmp(t[2], "error")) {
    char *end;
    long v = n == 4 ? strtol(t[3], &end, 10) : -1;
    if (n != 4 || end == t[3] || *end || v < 1 || v > 1000000) return perr(err, errlen, "gpm METRIC error takes one NVML code (1..999)");
    l->kind = GPM_ERROR;
    l->code = (int)v;
    return 0;
  }
  l->kind = GPM_VALUE;
  return sim_parse_value(t + 1, n - 1, &l->v, err, errlen);
}

/* Hopper (H100, H200, H800, H20, GH200) and Blackwell (B100, B200, B300, GB200, GB300) have GPM. */
void sim_gpm_finish_gpu(sim_gpu_t *g) {
  static const char *const newer[] = {" H100", " H200", " H800", " H20", "GH200", " B100", " B200", " B300", "GB200", "GB300"};
  if (g->gpm_support >= 0) return;
  g->gpm_support = 0;
  for (size_t i = 0; i < sizeof newer / sizeof newer[0]; i++)
    if (strstr(g->name, newer[i])) g->gpm_support = 1;
}
