/*
 * sim_parse.c — the scenario text format (documented in native/fake/README.md) and the defaults
 * every GPU gets for what the scenario leaves out.
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

const char *const sim_reading_names[R_COUNT] = { NVX_READINGS(NVX_READING_NAME) };

#define GIB 1073741824.0

/* An H100 80GB HBM3 (SXM) under a moderate, steady load. */
static void default_gpu_values(sim_value_t *v) {
  static const struct { int k; int kind; double a, b; } d[] = {
    {R_GPU_UTIL, V_CONST, 35, 0}, {R_MEM_UTIL, V_CONST, 20, 0},
    {R_MEM_TOTAL, V_CONST, 85520809984.0, 0}, {R_MEM_RESERVED, V_CONST, 555745280.0, 0},
    {R_MEM_USED, V_CONST, 40 * GIB, 0}, {R_POWER_USAGE, V_CONST, 285000, 0},
    {R_POWER_LIMIT, V_CONST, 700000, 0}, {R_ENERGY, V_RAMP, 1.5e9, 285000},
    {R_GPU_TEMP, V_CONST, 45, 0}, {R_MEM_TEMP, V_CONST, 52, 0}, {R_SM_CLOCK, V_CONST, 1755, 0},
    {R_MEM_CLOCK, V_CONST, 2619, 0}, {R_GRAPHICS_CLOCK, V_CONST, 1755, 0},
    {R_VIDEO_CLOCK, V_CONST, 1545, 0}, {R_MAX_SM_CLOCK, V_CONST, 1980, 0},
    {R_MAX_MEM_CLOCK, V_CONST, 2619, 0}, {R_RETIRED_SBE, V_UNSUPPORTED, 0, 0},
    {R_RETIRED_DBE, V_UNSUPPORTED, 0, 0}, {R_RETIRED_PENDING, V_UNSUPPORTED, 0, 0},
    {R_FAN_SPEED, V_UNSUPPORTED, 0, 0}, {R_NVLINK_TX, V_RAMP, 0, 262144},
    {R_NVLINK_RX, V_RAMP, 0, 262144}, {R_PCIE_TX, V_CONST, 150000, 0},
    {R_PCIE_RX, V_CONST, 400000, 0},
    {R_POWER_LIMIT_MIN, V_CONST, 200000, 0}, {R_POWER_LIMIT_MAX, V_CONST, 700000, 0},
    {R_POWER_LIMIT_DEFAULT, V_CONST, 700000, 0}, {R_POWER_MGMT_LIMIT, V_CONST, 700000, 0},
    {R_PSTATE, V_CONST, 0, 0}, {R_PCIE_LINK_GEN, V_CONST, 5, 0}, {R_PCIE_LINK_GEN_MAX, V_CONST, 5, 0},
    {R_PCIE_LINK_WIDTH, V_CONST, 16, 0}, {R_PCIE_LINK_WIDTH_MAX, V_CONST, 16, 0},
    {R_TEMP_SHUTDOWN, V_CONST, 92, 0}, {R_TEMP_SLOWDOWN, V_CONST, 89, 0}, {R_TEMP_GPU_MAX, V_CONST, 87, 0},
    {R_TEMP_MEM_MAX, V_CONST, 95, 0}, {R_BAR1_TOTAL, V_CONST, 128 * GIB, 0}, {R_BAR1_USED, V_CONST, 4194304, 0},
    {R_COMPUTE_MODE, V_CONST, 0, 0}, {R_PERSISTENCE_MODE, V_CONST, 1, 0}, {R_ECC_MODE_CURRENT, V_CONST, 1, 0},
    {R_ECC_MODE_PENDING, V_CONST, 1, 0}, {R_APP_SM_CLOCK, V_CONST, 1980, 0}, {R_APP_MEM_CLOCK, V_CONST, 2619, 0},
    {R_MAX_VIDEO_CLOCK, V_CONST, 1980, 0},
  };
  for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
    if (v[d[i].k].kind == V_UNSET) {
      v[d[i].k].kind = d[i].kind;
      v[d[i].k].a = d[i].a;
      v[d[i].k].b = d[i].b;
    }
  /* everything else: a constant 0 (memFree and bar1Free stay derived; an unset vGPU licence
   * status is bare metal: licensing not supported) */
  for (int k = 0; k < R_COUNT; k++)
    if (v[k].kind == V_UNSET && k != R_MEM_FREE && k != R_BAR1_FREE && k != R_VGPU_LICENSE_STATUS) v[k].kind = V_CONST;
}

static unsigned long long mix64(unsigned long long x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

static void det_uuid(char *out, const char *prefix, unsigned long long seed) {
  unsigned long long a = mix64(seed), b = mix64(seed ^ 0xA5A5A5A5ULL);
  snprintf(out, SIM_STR, "%s%08llx-%04llx-%04llx-%04llx-%012llx", prefix, a >> 32, (a >> 16) & 0xffff,
           (a & 0x0fff) | 0x4000, ((b >> 48) & 0x3fff) | 0x8000, b & 0xffffffffffffULL);
}

/* `3g.40gb` → slices 3, memory 40 GB; `1c.2g.20gb` → a compute instance of 1 slice in a 2g.20gb
 * GPU instance; `1g.10gb+me` and other `+suffix` forms. Returns 0 when the profile is not of that
 * form; `gi` (if not NULL, 32 bytes) gets the GPU-instance part (without the `Nc.` prefix). */
static int parse_profile(const char *p, int *slices, int *gb, int *ci_slices, char *gi) {
  char tail[16];
  int n = 0, c = 0;
  *ci_slices = 0;
  if (sscanf(p, "%dc.%n", &c, &n) == 1 && n > 0) {
    if (c <= 0) return 0;
    *ci_slices = c;
    p += n;
  }
  int ok = 0;
  if (sscanf(p, "%dg.%dgb%15s", slices, gb, tail) == 2 && *slices > 0 && *gb > 0) ok = 1;
  else if (sscanf(p, "%dg.%dgb+%15s", slices, gb, tail) == 3 && *slices > 0 && *gb > 0) ok = 1;
  if (!ok || *ci_slices > *slices) return 0;
  if (!*ci_slices) *ci_slices = *slices;
  if (gi) snprintf(gi, 32, "%s", p);
  return 1;
}

/* H100 GPU-instance placement: the first GI id of each size. */
static int gi_start(int slices) {
  switch (slices) {
    case 7: return 0;
    case 4: return 1;
    case 3: return 1;
    case 2: return 3;
    default: return 7;
  }
}

static void str_default(sim_str_t *x, const char *text, int unsupported) {
  if (x->text[0] || x->unsupported) return;
  snprintf(x->text, sizeof x->text, "%s", text);
  x->unsupported = unsupported;
}

static void finish_gpu(sim_gpu_t *g, int index) {
  if (!g->uuid[0]) det_uuid(g->uuid, "GPU-", 0x6770750000ULL + (unsigned)index);
  if (!g->name[0]) strcpy(g->name, "NVIDIA H100 80GB HBM3");
  if (!g->pci[0]) {
    unsigned bus = (unsigned)index * 16 + 0x18;
    snprintf(g->pci, sizeof g->pci, "%08X:%02X:00.0", bus >> 8, bus & 0xff);
  }
  if (!g->serial[0]) snprintf(g->serial, sizeof g->serial, "16549220%05d", index + 1);
  if (g->minor < 0) g->minor = index;
  str_default(&g->vbios, "96.00.99.00.01", 0);
  str_default(&g->inforom_image, "G520.0200.00.05", 0);
  str_default(&g->inforom[0], "2.1", 0);  /* OEM */
  str_default(&g->inforom[1], "7.16", 0); /* ECC */
  str_default(&g->inforom[2], "", 1);     /* power: N/A on an H100 */
  if (g->mig_capable < 0) g->mig_capable = g->nmig > 0 || g->mig_mode > 0;
  if (g->mig_mode < 0) g->mig_mode = g->nmig > 0;
  default_gpu_values(g->v);
  sim_gpm_finish_gpu(g);
  for (int s = 0; s < g->nmig; s++) {
    sim_mig_t *m = &g->mig[s];
    int slices = m->slices, gb = m->gb;
    if (!m->uuid[0]) det_uuid(m->uuid, "MIG-", 0x6d696700000ULL + (unsigned)index * 64 + (unsigned)s);
    if (m->gi < 0) {
      for (int id = gi_start(slices);; id++) {
        int used = 0;
        for (int o = 0; o < g->nmig; o++) used |= (o != s && g->mig[o].gi == id);
        if (!used) { m->gi = id; break; }
      }
    }
    if (m->ci < 0) { /* the lowest compute-instance id not taken in its GPU instance */
      for (int id = 0;; id++) {
        int used = 0;
        for (int o = 0; o < g->nmig; o++) used |= (o != s && g->mig[o].gi == m->gi && g->mig[o].ci == id);
        if (!used) { m->ci = id; break; }
      }
    }
    sim_value_t *v = m->v;
    if (v[R_MEM_TOTAL].kind == V_UNSET) { v[R_MEM_TOTAL].kind = V_CONST; v[R_MEM_TOTAL].a = gb * GIB; }
    if (v[R_MEM_RESERVED].kind == V_UNSET) { v[R_MEM_RESERVED].kind = V_CONST; v[R_MEM_RESERVED].a = 0; }
    if (v[R_MEM_USED].kind == V_UNSET && v[R_MEM_TOTAL].kind == V_CONST) {
      v[R_MEM_USED].kind = V_CONST;
      v[R_MEM_USED].a = floor(v[R_MEM_TOTAL].a / 4);
    }
    for (int k = 0; k < R_COUNT; k++) /* MIG devices answer only what the scenario gives */
      if (v[k].kind == V_UNSET && k != R_MEM_FREE) v[k].kind = V_UNSUPPORTED;
  }
}

static void init_gpu(sim_gpu_t *g) {
  memset(g, 0, sizeof *g);
  g->minor = -1;
  g->mig_capable = -1;
  g->mig_mode = -1;
  g->nlinks = -1;
  g->brand = NVML_BRAND_NVIDIA; /* what an H100 reports */
  g->gpm_support = -1;
}

/* `s` comes zeroed from calloc (both callers): clearing it again here would touch every page of
 * its 64 GPU slots, ~3.7 MB of resident memory in every process that loads the simulated library,
 * where the slots of the scenario's own GPUs are all that is used (init_gpu clears each). */
static void init_scenario(sim_scenario_t *s) {
  s->latency = -1; /* NVML_SIM_LATENCY decides */
  s->gpm_metric_max = 333; /* a 13.2+ header */
#ifdef NVML_SIM_LEGACY
  strcpy(s->driver, "470.256.02");
  strcpy(s->nvml, "11.470.256.02");
  s->cuda = 11040;
#else
  strcpy(s->driver, "580.65.06");
  strcpy(s->nvml, "13.580.65.06");
  s->cuda = 13000;
#endif
}

static void finish(sim_scenario_t *s) {
  for (int i = 0; i < s->ngpus; i++) finish_gpu(&s->gpu[i], i);
}

void sim_default_scenario(sim_scenario_t *out, int ngpus) {
  init_scenario(out);
  out->ngpus = ngpus;
  for (int i = 0; i < ngpus; i++) init_gpu(&out->gpu[i]);
  finish(out);
}

/* ---- the parser -------------------------------------------------------------------------------- */

typedef struct {
  char *err;
  size_t errlen;
  int proc; /* the open process block (index into the GPU's procs), -1 = none */
} perr_t;

static int fail(perr_t *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->err, p->errlen, fmt, ap);
  va_end(ap);
  return -1;
}

static int num(perr_t *p, const char *tok, double *out) {
  char *end;
  if (!tok) return fail(p, "a number is missing");
  *out = strtod(tok, &end);
  if (end == tok || *end || !isfinite(*out)) return fail(p, "'%s' is not a number", tok);
  return 0;
}

static int integer(perr_t *p, const char *tok, int lo, int hi, int *out) {
  double d = 0;
  if (num(p, tok, &d)) return -1;
  if (d != floor(d) || d < lo || d > hi) return fail(p, "'%s' must be an integer in %d..%d", tok, lo, hi);
  *out = (int)d;
  return 0;
}

static int reading_key(const char *name) {
  for (int k = 0; k < R_COUNT; k++)
    if (!strcmp(name, sim_reading_names[k])) return k;
  return -1;
}

static int value(perr_t *p, char **t, int n, sim_value_t *v) {
  memset(v, 0, sizeof *v);
  if (n < 2) return fail(p, "'%s' needs a value (a number, wave, ramp or unsupported)", t[0]);
  if (!strcmp(t[1], "unsupported")) { v->kind = V_UNSUPPORTED; return n == 2 ? 0 : fail(p, "extra words after 'unsupported'"); }
  if (!strcmp(t[1], "wave")) {
    if (n < 5 || n > 6) return fail(p, "wave takes: min max periodSeconds [phase]");
    v->kind = V_WAVE;
    if (num(p, t[2], &v->a) || num(p, t[3], &v->b) || num(p, t[4], &v->c)) return -1;
    if (n == 6 && num(p, t[5], &v->d)) return -1;
    return v->c > 0 ? 0 : fail(p, "a wave's period must be > 0 seconds");
  }
  if (!strcmp(t[1], "ramp")) {
    if (n != 4) return fail(p, "ramp takes: start perSecond");
    v->kind = V_RAMP;
    return num(p, t[2], &v->a) || num(p, t[3], &v->b) ? -1 : 0;
  }
  v->kind = V_CONST;
  if (n != 2) return fail(p, "a constant takes one number");
  return num(p, t[1], &v->a);
}

/* A scenario value (number, wave, ramp, unsupported) from words t[0..n): t[0] is the key. */
int sim_parse_value(char **t, int n, sim_value_t *v, char *err, size_t errlen) {
  perr_t p = {err, errlen, -1};
  return value(&p, t, n, v);
}

static int call_entry(perr_t *p, char **t, int n, sim_calls_t *c, int is_delay) {
  if (n != 3) return fail(p, "%s takes: <nvmlFunction> <%s>", t[0], is_delay ? "milliseconds" : "code");
  if (strncmp(t[1], "nvml", 4) || strlen(t[1]) >= SIM_FN) return fail(p, "'%s' is not an NVML function name", t[1]);
  if (c->n >= SIM_MAX_CALLS) return fail(p, "too many %s lines (at most %d per scope)", t[0], SIM_MAX_CALLS);
  int v;
  if (integer(p, t[2], 0, is_delay ? 3600000 : 1000000, &v)) return -1;
  strcpy(c->e[c->n].fn, t[1]);
  c->e[c->n++].value = v;
  return 0;
}

static int text(perr_t *p, const char *rest, char *dst, size_t cap, const char *what) {
  if (!rest || !*rest) return fail(p, "%s needs a value", what);
  if (strlen(rest) >= cap) return fail(p, "%s is longer than %zu characters", what, cap - 1);
  strcpy(dst, rest);
  return 0;
}

static const struct {
  const char *name;
  int bit, global;
} quirks[] = {
  {"field-types-double", Q_FIELD_TYPES_DOUBLE, 0},
  {"ecc-fields-untouched", Q_ECC_FIELDS_UNTOUCHED, 0},
  {"no-nvlink-all-scope", Q_NO_NVLINK_ALL_SCOPE, 0},
  {"no-perf-policy-fields", Q_NO_PERF_POLICY_FIELDS, 0},
  {"no-libcuda", Q_NO_LIBCUDA, 1},
  {"event-wait-v2-not-supported", Q_WAIT_V2_NOT_SUPPORTED, 1},
  {"event-wait-v2-not-found", Q_WAIT_V2_NOT_FOUND, 1},
  {"process-info-32", Q_PROCESS_INFO_32, 1},
};

static int quirk(perr_t *p, char **t, int n, int *bits, int global) {
  if (n != 2) return fail(p, "quirk takes one name");
  for (size_t i = 0; i < sizeof quirks / sizeof quirks[0]; i++) {
    if (strcmp(quirks[i].name, t[1])) continue;
    if (quirks[i].global != global)
      return fail(p, "quirk %s belongs %s", t[1], quirks[i].global ? "to the global scope" : "in a gpu block");
    *bits |= quirks[i].bit;
    return 0;
  }
  return fail(p, "unknown quirk '%s'", t[1]);
}

static int latency(perr_t *p, char **t, int n, sim_scenario_t *s) {
  if (n == 2 && !strcmp(t[1], "published")) return s->latency = 1, 0;
  if (n == 2 && !strcmp(t[1], "off")) return s->latency = 0, 0;
  if (n != 3) return fail(p, "latency takes published, off, or <nvmlFunction> <microseconds>");
  double us = 0;
  if (strncmp(t[1], "nvml", 4) || strlen(t[1]) >= SIM_FN) return fail(p, "'%s' is not an NVML function name", t[1]);
  if (num(p, t[2], &us)) return -1;
  if (us < 0 || us > 1e6) return fail(p, "a latency is 0..1000000 microseconds");
  if (s->latencies.n >= SIM_MAX_CALLS) return fail(p, "too many latency lines (at most %d)", SIM_MAX_CALLS);
  strcpy(s->latencies.e[s->latencies.n].fn, t[1]);
  s->latencies.e[s->latencies.n++].value = (int)(us * 1000 + 0.5);
  return 0;
}

static int str_value(perr_t *p, char **t, int n, const char *rest, sim_str_t *x, const char *what) {
  memset(x, 0, sizeof *x);
  if (n == 2 && !strcmp(t[1], "unsupported")) return x->unsupported = 1, 0;
  return text(p, rest, x->text, sizeof x->text, what);
}

/* A line inside a `process PID` block. */
static int process_line(perr_t *p, sim_proc_t *pr, char **t, int n) {
  const char *w = t[0];
  if (!strcmp(w, "kind")) {
    if (n != 2) return fail(p, "kind takes compute, graphics, mps or a + of them (compute+graphics)");
    int bits = 0;
    char tmp[64];
    if (strlen(t[1]) >= sizeof tmp) return fail(p, "kind '%s' is too long", t[1]);
    strcpy(tmp, t[1]);
    for (char *save = NULL, *part = strtok_r(tmp, "+", &save); part; part = strtok_r(NULL, "+", &save)) {
      if (!strcmp(part, "compute")) bits |= SIM_PROC_COMPUTE;
      else if (!strcmp(part, "graphics")) bits |= SIM_PROC_GRAPHICS;
      else if (!strcmp(part, "mps")) bits |= SIM_PROC_MPS;
      else return fail(p, "kind takes compute, graphics, mps or a + of them, not '%s'", part);
    }
    pr->kinds = bits;
    return 0;
  }
  sim_value_t *v = !strcmp(w, "mem") ? &pr->mem : !strcmp(w, "sm") ? &pr->sm : !strcmp(w, "memutil") ? &pr->memutil
                 : !strcmp(w, "enc") ? &pr->enc : !strcmp(w, "dec") ? &pr->dec : NULL;
  if (v) {
    if (value(p, t, n, v)) return -1;
    return v->kind == V_UNSUPPORTED ? fail(p, "a process's %s cannot be unsupported", w) : 0;
  }
  if (!strcmp(w, "start") || !strcmp(w, "exit")) {
    double sec = 0;
    if (n != 2 || num(p, t[1], &sec)) return n != 2 ? fail(p, "%s takes seconds since the library was first initialised", w) : -1;
    if (sec < 0) return fail(p, "%s must be >= 0 seconds", w);
    *(w[0] == 's' ? &pr->start : &pr->exit) = sec;
    return 0;
  }
  return fail(p, "'%s' is not allowed in a process block (kind, mem, sm, memutil, enc, dec, start, exit)", w);
}

/* One line, already split. `rest` is the text after the first word (trimmed). */
static int line(perr_t *p, sim_scenario_t *s, int *gi, int *mi, char **t, int n, const char *rest) {
  sim_gpu_t *g = *gi >= 0 ? &s->gpu[*gi] : NULL;
  sim_mig_t *m = g && *mi >= 0 ? &g->mig[*mi] : NULL;
  const char *w = t[0];
  int k;
  if (!strcmp(w, "global") || !strcmp(w, "gpu") || !strcmp(w, "gpus") || !strcmp(w, "mig") || !strcmp(w, "process")) p->proc = -1;
  if (g && p->proc >= 0) return process_line(p, &g->procs[p->proc], t, n);
  if (g && !strcmp(w, "process")) {
    int pid;
    if (n != 2) return fail(p, "process takes a pid");
    if (integer(p, t[1], 1, 4194304, &pid)) return -1;
    if (g->nprocs >= SIM_MAX_PROCS) return fail(p, "at most %d processes per GPU", SIM_MAX_PROCS);
    for (int i = 0; i < g->nprocs; i++)
      if (g->procs[i].pid == (unsigned)pid && g->procs[i].mig == *mi) return fail(p, "process %d is listed twice on this device", pid);
    p->proc = g->nprocs++;
    sim_proc_t *pr = &g->procs[p->proc];
    memset(pr, 0, sizeof *pr);
    pr->pid = (unsigned)pid;
    pr->kinds = SIM_PROC_COMPUTE;
    pr->mig = *mi;
    pr->mem.kind = V_CONST;
    pr->mem.a = GIB;
    pr->sm.kind = pr->memutil.kind = pr->enc.kind = pr->dec.kind = V_CONST;
    pr->exit = -1;
    return 0;
  }
  if (!strcmp(w, "global")) { *gi = *mi = -1; return n == 1 ? 0 : fail(p, "'global' takes nothing"); }
  if (!strcmp(w, "gpus") || !strcmp(w, "gpu")) {
    int idx, many = w[3] == 's';
    if (n != 2 || integer(p, t[1], many ? 0 : 0, SIM_MAX_GPUS - (many ? 0 : 1), &idx)) return n != 2 ? fail(p, "%s takes one number", w) : -1;
    int want = many ? idx : idx + 1;
    if (!many && idx > s->ngpus) return fail(p, "gpu %d comes before gpu %d (GPUs are numbered 0, 1, 2, ... in order)", idx, s->ngpus);
    for (; s->ngpus < want; s->ngpus++) init_gpu(&s->gpu[s->ngpus]);
    *gi = many ? -1 : idx;
    *mi = -1;
    return 0;
  }
  if (!strcmp(w, "xid")) {
    int gpu, xid, id, at = 3, v;
    unsigned gi = 0xFFFFFFFFu, ci = 0xFFFFFFFFu;
    const char *use = "xid takes: <gpuIndex> <xid> [id] [gi <n>] [ci <n>]";
    if (n < 3) return fail(p, "%s", use);
    if (integer(p, t[1], 0, SIM_MAX_GPUS - 1, &gpu) || integer(p, t[2], 0, 1000000, &xid)) return -1;
    if (s->nxids >= SIM_MAX_XIDS) return fail(p, "too many xid lines (at most %d)", SIM_MAX_XIDS);
    id = s->nxids;
    if (n > 3 && strcmp(t[3], "gi") && strcmp(t[3], "ci")) {
      if (integer(p, t[3], 0, 2000000000, &id)) return -1;
      at = 4;
    }
    for (; at < n; at += 2) {
      if (at + 1 >= n || (strcmp(t[at], "gi") && strcmp(t[at], "ci"))) return fail(p, "%s", use);
      if (integer(p, t[at + 1], 0, 1000000, &v)) return -1;
      if (t[at][0] == 'g') gi = (unsigned)v;
      else ci = (unsigned)v;
    }
    s->xid[s->nxids++] = (sim_xid_t){gpu, xid, id, gi, ci};
    return 0;
  }
  if (!g) { /* global scope */
    if (!strcmp(w, "driver")) return text(p, rest, s->driver, SIM_STR, "driver");
    if (!strcmp(w, "nvml")) return text(p, rest, s->nvml, SIM_STR, "nvml");
    if (!strcmp(w, "cuda")) return n == 2 ? integer(p, t[1], 0, 1000000, &s->cuda) : fail(p, "cuda takes one number");
    if (!strcmp(w, "error")) return call_entry(p, t, n, &s->errors, 0);
    if (!strcmp(w, "delay")) return call_entry(p, t, n, &s->delays, 1);
    if (!strcmp(w, "quirk")) return quirk(p, t, n, &s->quirks, 1);
    if (!strcmp(w, "latency")) return latency(p, t, n, s);
    if (!strcmp(w, "gpm")) return sim_gpm_parse_line(t, n, s, NULL, NULL, p->err, p->errlen) ? -1 : 0;
    return fail(p, "unknown word '%s' outside a gpu block", w);
  }
  if (!strcmp(w, "mig")) {
    int sl, gb, cs;
    char gip[32];
    if (n != 2 || strlen(t[1]) >= 32 || !parse_profile(t[1], &sl, &gb, &cs, gip))
      return fail(p, "mig takes a profile like 1g.10gb, 3g.40gb, 1g.10gb+me or 1c.2g.20gb");
    if (g->nmig >= SIM_MAX_MIG) return fail(p, "at most %d MIG devices per GPU", SIM_MAX_MIG);
    *mi = g->nmig++;
    m = &g->mig[*mi];
    memset(m, 0, sizeof *m);
    strcpy(m->profile, t[1]);
    strcpy(m->gi_profile, gip);
    m->slices = sl;
    m->gb = gb;
    m->ci_slices = cs;
    m->gi = m->ci = -1;
    return 0;
  }
  if (!strcmp(w, "quirk")) return quirk(p, t, n, &g->quirks, 0);
  if (!strcmp(w, "gpm")) return sim_gpm_parse_line(t, n, s, g, m, p->err, p->errlen) ? -1 : 0;
  if ((k = reading_key(w)) >= 0) return value(p, t, n, m ? &m->v[k] : &g->v[k]);
  if (!strcmp(w, "uuid")) {
    if (n != 2) return fail(p, "uuid takes one word");
    return text(p, t[1], m ? m->uuid : g->uuid, SIM_STR, "uuid");
  }
  if (m) {
    if (!strcmp(w, "gi")) return n == 2 ? integer(p, t[1], 0, SIM_MAX_GI - 1, &m->gi) : fail(p, "gi takes one number");
    if (!strcmp(w, "ci")) return n == 2 ? integer(p, t[1], 0, 1000, &m->ci) : fail(p, "ci takes one number");
    if (!strcmp(w, "gimem")) return n == 2 ? integer(p, t[1], 1, 1 << 22, &m->gi_mem_mb) : fail(p, "gimem takes the profile's memory in MB");
    return fail(p, "'%s' is not allowed in a mig block (gpu lines come before the first mig line)", w);
  }
  if (!strcmp(w, "name")) return text(p, rest, g->name, SIM_STR, "name");
  if (!strcmp(w, "pci")) {
    unsigned d, b, dv;
    if (n != 2 || sscanf(t[1], "%x:%x:%x.0", &d, &b, &dv) != 3 || b > 255 || dv > 31 || strlen(t[1]) >= 32)
      return fail(p, "pci takes a bus id like 00000000:18:00.0");
    snprintf(g->pci, sizeof g->pci, "%08X:%02X:%02X.0", d, b, dv);
    return 0;
  }
  if (!strcmp(w, "serial")) return n == 2 ? text(p, t[1], g->serial, sizeof g->serial, "serial") : fail(p, "serial takes one word");
  if (!strcmp(w, "minor")) return n == 2 ? integer(p, t[1], 0, 1 << 20, &g->minor) : fail(p, "minor takes one number");
  if (!strcmp(w, "lost")) {
    g->lost = NVML_ERROR_GPU_IS_LOST;
    return n == 1 ? 0 : n == 2 ? integer(p, t[1], 1, 1000000, &g->lost) : fail(p, "lost takes at most a code");
  }
  if (!strcmp(w, "migcapable")) {
    if (n != 2 || (strcmp(t[1], "yes") && strcmp(t[1], "no"))) return fail(p, "migcapable takes yes or no");
    g->mig_capable = t[1][0] == 'y';
    return 0;
  }
  if (!strcmp(w, "migmode")) {
    if (n != 2 || (strcmp(t[1], "on") && strcmp(t[1], "off"))) return fail(p, "migmode takes on or off");
    g->mig_mode = t[1][1] == 'n';
    return 0;
  }
  if (!strcmp(w, "giaccess")) {
    if (n != 2 || (strcmp(t[1], "allowed") && strcmp(t[1], "denied"))) return fail(p, "giaccess takes allowed or denied");
    g->gi_denied = t[1][0] == 'd';
    return 0;
  }
  if (!strcmp(w, "nvlinks")) {
    if (n - 1 > SIM_NVLINK_LINKS) return fail(p, "nvlinks takes at most %d link ids", SIM_NVLINK_LINKS);
    g->nlinks = n - 1;
    for (int i = 1; i < n; i++) {
      if (integer(p, t[i], 0, SIM_NVLINK_LINKS - 1, &g->link_ids[i - 1])) return -1;
      for (int j = 1; j < i; j++)
        if (g->link_ids[j - 1] == g->link_ids[i - 1]) return fail(p, "link %s is listed twice", t[i]);
    }
    return 0;
  }
  if (!strcmp(w, "vbios")) return str_value(p, t, n, rest, &g->vbios, "vbios");
  if (!strcmp(w, "inforom")) {
    static const char *objs[] = {"oem", "ecc", "power", "image"};
    for (int o = 0; o < 4; o++)
      if (n >= 2 && !strcmp(t[1], objs[o])) {
        const char *r2 = rest + strlen(t[1]);
        while (*r2 == ' ' || *r2 == '\t') r2++;
        return str_value(p, t + 1, n - 1, r2, o == 3 ? &g->inforom_image : &g->inforom[o], "inforom");
      }
    return fail(p, "inforom takes oem, ecc, power or image, then a version or unsupported");
  }
  if (!strcmp(w, "brand")) {
    if (n == 2 && !strcmp(t[1], "unsupported")) return g->brand = -1, 0;
    return n == 2 ? integer(p, t[1], 0, 100, &g->brand) : fail(p, "brand takes an nvmlBrandType_t number or unsupported");
  }
  if (!strcmp(w, "error")) return call_entry(p, t, n, &g->errors, 0);
  if (!strcmp(w, "delay")) return call_entry(p, t, n, &g->delays, 1);
  return fail(p, "unknown word '%s' in a gpu block", w);
}

int sim_parse(const char *src, sim_scenario_t *s, char *err, size_t errlen) {
  perr_t p = {err, errlen, -1};
  int gi = -1, mi = -1, lineno = 0;
  init_scenario(s);
  while (*src) {
    char buf[1024], *t[16];
    const char *nl = strchr(src, '\n');
    size_t len = nl ? (size_t)(nl - src) : strlen(src);
    lineno++;
    if (len >= sizeof buf) { fail(&p, "line is longer than %zu characters", sizeof buf - 1); return lineno; }
    memcpy(buf, src, len);
    buf[len] = 0;
    src += len + (nl ? 1 : 0);
    if (len && buf[len - 1] == '\r') buf[--len] = 0;
    char *c = buf;
    while (isspace((unsigned char)*c)) c++;
    if (!*c || *c == '#') continue;
    char *end = c + strlen(c);
    while (end > c && isspace((unsigned char)end[-1])) *--end = 0;
    /* the rest of the line after the first word, for free-text values (names, versions) */
    const char *rest = c;
    while (*rest && !isspace((unsigned char)*rest)) rest++;
    while (isspace((unsigned char)*rest)) rest++;
    char words[1024];
    strcpy(words, c);
    int n = 0;
    for (char *w = words; *w && n < 16;) {
      while (*w == ' ' || *w == '\t') *w++ = 0;
      if (!*w) break;
      t[n++] = w;
      while (*w && *w != ' ' && *w != '\t') w++;
    }
    if (line(&p, s, &gi, &mi, t, n, rest)) return lineno;
  }
  for (int i = 0; i < s->nxids; i++)
    if (s->xid[i].gpu >= s->ngpus) {
      fail(&p, "xid for gpu %d, but the scenario has %d GPUs", s->xid[i].gpu, s->ngpus);
      return lineno;
    }
  for (int i = 0; i < s->ngpus; i++) { /* readings left unset follow the processes */
    sim_gpu_t *g = &s->gpu[i];
    g->procs_drive = 0;
    for (int j = 0; j < g->nprocs; j++) {
      int slot = g->procs[j].mig;
      if (slot < 0 && g->nmig == 0 && g->v[R_GPU_UTIL].kind == V_UNSET) g->procs_drive |= 1;
      if (slot < 0 && g->v[R_MEM_USED].kind == V_UNSET) g->procs_drive |= 2;
      if (slot >= 0 && g->mig[slot].v[R_MEM_USED].kind == V_UNSET) g->procs_drive |= 4 << slot;
    }
  }
  finish(s);
  for (int i = 0; i < s->ngpus; i++) { /* compute instances of one GPU instance agree on it */
    const sim_gpu_t *g = &s->gpu[i];
    for (int a = 0; a < g->nmig; a++) {
      int used = 0;
      for (int b = 0; b < g->nmig; b++) {
        if (g->mig[b].gi != g->mig[a].gi) continue;
        if (strcmp(g->mig[b].gi_profile, g->mig[a].gi_profile)) {
          fail(&p, "gpu %d: MIG devices %d and %d share GPU instance %d but name different profiles (%s, %s)", i, a, b,
               g->mig[a].gi, g->mig[a].gi_profile, g->mig[b].gi_profile);
          return lineno;
        }
        if (b != a && g->mig[b].ci == g->mig[a].ci) {
          fail(&p, "gpu %d: MIG devices %d and %d are both compute instance %d of GPU instance %d", i, a, b, g->mig[a].ci, g->mig[a].gi);
          return lineno;
        }
        used += g->mig[b].ci_slices;
      }
      if (used > g->mig[a].slices) {
        fail(&p, "gpu %d: the compute instances of GPU instance %d use %d slices of its %d", i, g->mig[a].gi, used, g->mig[a].slices);
        return lineno;
      }
    }
  }
  return 0;
}
