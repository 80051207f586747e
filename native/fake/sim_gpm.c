/*
 * sim_gpm.c — GPU Performance Monitoring (GPM) as a Hopper-or-newer driver offers it: the support
 * query, samples (whole GPU, MIG compute instance through its handle, MIG GPU instance through the
 * parent) and the metrics computed between two samples. Documented in README.md ("GPM").
 *
 * Each entity has a counter per metric that every sample advances by the integral of the scenario's
 * value for that metric over the time since the entity's previous sample — the way a GPU's counters
 * advance with its load; a sample holds the counters and the time it was taken. A metrics call
 * divides the difference of two samples' counters by the time between
 * them: the time-weighted mean of the scenario's value, rounded to 1/1,048,576 of the metric's unit
 * (the finite resolution of real counters: one byte per second for a MiB/s metric; it also makes a
 * constant come back exactly, whatever the time between the samples). The cumulative
 * metrics (248 and up) give the later sample's counter itself, a counter since boot.
 *
 * The scenario lines are parsed in sim_gpm_parse.c. The R470-era legacy build has no GPM symbols at
 * all (GPM came with R520).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpm_abi.h"
#include "sim.h"

#define GPM_ID_LIMIT 333 /* ids 0..332 (a 13.2+ header) */

#ifndef NVML_SIM_LEGACY

/* The metric ids this library answers; others answer NOT_SUPPORTED. */
static const int known_ranges[][2] = {{1, 13}, {20, 21}, {30, 37}, {40, 47}, {50, 51}, {60, 97}, {100, 103}, {160, 163}, {248, 260}};
#define NKNOWN (13 + 2 + 8 + 8 + 2 + 38 + 4 + 4 + 13)
static int known_index[GPM_ID_LIMIT]; /* id → index + 1; 0 = not known */
static int known_ids[NKNOWN];

static void init_known(void) {
  if (known_ids[0]) return;
  int n = 0;
  for (size_t r = 0; r < sizeof known_ranges / sizeof known_ranges[0]; r++)
    for (int id = known_ranges[r][0]; id <= known_ranges[r][1]; id++) {
      known_ids[n] = id;
      known_index[id] = ++n;
    }
}

#define SAMPLE_MAGIC 0x67706d73u
struct nvmlGpmSample_st {
  unsigned magic;
  int filled;
  int gpu, slot, gi; /* the entity: slot >= 0 a compute instance, gi >= 0 a GPU instance, else the GPU */
  double tau;        /* sim_since_init_s() when taken */
  double integral[NKNOWN];
};

/* A metric's source at one entity: not supported, NaN, an error, or a scenario value × factor. */
enum { SRC_NS = 0, SRC_VALUE, SRC_NAN, SRC_ERROR };
typedef struct {
  int kind, code;
  sim_value_t v;
  double factor;
} source_t;

static const sim_gpm_line_t *line_for(const sim_gpm_line_t *lines, int n, int id) {
  for (int i = 0; i < n; i++)
    if (lines[i].id == id) return &lines[i];
  return NULL;
}

static source_t from_line(const sim_gpm_line_t *l) {
  source_t s = {SRC_NS, 0, {0}, 1};
  if (l->kind == GPM_NAN) s.kind = SRC_NAN;
  else if (l->kind == GPM_ERROR) s.kind = SRC_ERROR, s.code = l->code;
  else if (l->v.kind != V_UNSUPPORTED && l->v.kind != V_UNSET) s.kind = SRC_VALUE, s.v = l->v;
  return s;
}

static source_t scaled(const sim_value_t *v, double factor) {
  source_t s = {SRC_NS, 0, {0}, factor};
  if (v->kind != V_UNSUPPORTED && v->kind != V_UNSET) s.kind = SRC_VALUE, s.v = *v;
  return s;
}

static source_t constant(double a) {
  source_t s = {SRC_VALUE, 0, {0}, 1};
  s.v.kind = V_CONST;
  s.v.a = a;
  return s;
}

/* Shares of the load (gpuUtil) each engine/pipe ratio gets by default; 10 (DRAM) follows memUtil. */
static double ratio_share(int id) {
  static const double share[14] = {0, 1, 0.9, 0.5, 0.1, 0.6, 0.05, 0.5, 0.05, 0.1, 1, 0.05, 0.3, 0.2};
  return id >= 1 && id <= 13 ? share[id] : 0;
}

static int active_links(const sim_gpu_t *g) { return g->nlinks < 0 ? SIM_NVLINK_LINKS : g->nlinks; }

static int link_active(const sim_gpu_t *g, int k) {
  if (g->nlinks < 0) return k < SIM_NVLINK_LINKS;
  for (int i = 0; i < g->nlinks; i++)
    if (g->link_ids[i] == k) return 1;
  return 0;
}

/* NVLink KiB counters that ramp give a rate: the ramp's slope in MiB/s. */
static source_t nvlink_rate(const sim_gpu_t *g, int rx, double share) {
  const sim_value_t *v = &g->v[rx ? R_NVLINK_RX : R_NVLINK_TX];
  if (v->kind == V_UNSUPPORTED) return (source_t){SRC_NS, 0, {0}, 1};
  return constant(v->kind == V_RAMP ? v->b / 1024 * share : 0);
}

static source_t gpu_source(const sim_gpu_t *g, int id) {
  const sim_gpm_line_t *l = line_for(g->gpm, g->ngpm, id);
  if (l) return from_line(l);
  if (id == NVML_GPM_METRIC_DRAM_BW_UTIL) return scaled(&g->v[R_MEM_UTIL], 1);
  if (id >= 1 && id <= 13) return scaled(&g->v[R_GPU_UTIL], ratio_share(id));
  if (id == NVML_GPM_METRIC_PCIE_TX_PER_SEC) return scaled(&g->v[R_PCIE_TX], 1000.0 / 1048576); /* KB/s → MiB/s */
  if (id == NVML_GPM_METRIC_PCIE_RX_PER_SEC) return scaled(&g->v[R_PCIE_RX], 1000.0 / 1048576);
  if (id >= 30 && id <= 37) return scaled(&g->v[R_DEC_UTIL], 1);
  if ((id >= 40 && id <= 47) || id == 50 || id == 51) return constant(0);
  if (id == 60 || id == 61) return nvlink_rate(g, id == 60, 1);
  if (id >= 62 && id <= 97) {
    int k = (id - 62) / 2;
    if (!link_active(g, k) || active_links(g) == 0) return (source_t){SRC_NS, 0, {0}, 1};
    return nvlink_rate(g, id % 2 == 0, 1.0 / active_links(g));
  }
  if (id == NVML_GPM_METRIC_PCIE_TX) return scaled(&g->v[R_PCIE_TX], 1000); /* bytes since boot */
  if (id == NVML_GPM_METRIC_PCIE_RX) return scaled(&g->v[R_PCIE_RX], 1000);
  return (source_t){SRC_NS, 0, {0}, 1}; /* C2C, caches, cycle counters: an H100 SXM without them */
}

/* A compute instance: the engine and pipe ratios only (no DRAM, no PCIe/NVLink). */
static source_t ci_source(const sim_gpu_t *g, const sim_mig_t *m, int id) {
  if (id < 1 || id > 13 || id == NVML_GPM_METRIC_DRAM_BW_UTIL) return (source_t){SRC_NS, 0, {0}, 1};
  const sim_gpm_line_t *l = line_for(m->gpm, m->ngpm, id);
  if (l) return from_line(l);
  return scaled(&g->v[R_GPU_UTIL], ratio_share(id));
}

static double integral(const source_t *s, double tau, double wall) {
  const sim_value_t *v = &s->v;
  double x;
  switch (v->kind) {
    case V_RAMP: return s->factor * (v->a * tau + v->b * tau * tau / 2);
    case V_WAVE:
      x = wall / v->c + v->d;
      x -= floor(x);
      return s->factor * ((v->a + v->b) / 2 * tau - (v->b - v->a) / 2 * v->c / (2 * 3.14159265358979323846) * sin(2 * 3.14159265358979323846 * x));
    default: return s->factor * v->a * tau;
  }
}

static int gi_visible(const sim_gpu_t *g, int gi) {
  for (int s = 0; s < sim_mig_visible(g); s++)
    if (g->mig[s].gi == gi) return 1;
  return 0;
}

/* A GPU instance aggregates its compute instances: the ratios weighted by their slices; DRAM is
 * the GPU instance's own (a `gpm dramBwUtil` line on its first MIG device, else the GPU's memUtil). */
static source_t gi_source(const sim_gpu_t *g, int gi, int id, double tau, double wall, double *out) {
  *out = 0;
  if (id < 1 || id > 13) return (source_t){SRC_NS, 0, {0}, 1};
  if (id == NVML_GPM_METRIC_DRAM_BW_UTIL) {
    for (int s = 0; s < sim_mig_visible(g); s++)
      if (g->mig[s].gi == gi) {
        const sim_gpm_line_t *l = line_for(g->mig[s].gpm, g->mig[s].ngpm, id);
        source_t src = l ? from_line(l) : scaled(&g->v[R_MEM_UTIL], 1);
        if (src.kind == SRC_VALUE) *out = integral(&src, tau, wall);
        return src;
      }
    return (source_t){SRC_NS, 0, {0}, 1};
  }
  double sum = 0, weight = 0;
  source_t agg = {SRC_NS, 0, {0}, 1};
  for (int s = 0; s < sim_mig_visible(g); s++) {
    const sim_mig_t *m = &g->mig[s];
    if (m->gi != gi) continue;
    source_t src = ci_source(g, m, id);
    if (src.kind == SRC_ERROR || src.kind == SRC_NAN) return src;
    if (src.kind != SRC_VALUE) continue;
    agg.kind = SRC_VALUE;
    sum += m->ci_slices * integral(&src, tau, wall);
    weight += m->ci_slices;
  }
  *out = weight > 0 ? sum / weight : 0;
  return agg;
}

static int sample_ok(const struct nvmlGpmSample_st *s) { return s && s->magic == SAMPLE_MAGIC; }

/* The integral of metric `id` of an entity over [init, tau] under the current scenario. */
static double entity_integral(const sim_gpu_t *g, int slot, int gi, int id, double tau, double wall) {
  double v = 0;
  if (gi >= 0) {
    gi_source(g, gi, id, tau, wall, &v);
    return v;
  }
  source_t src = slot >= 0 ? ci_source(g, &g->mig[slot], id) : gpu_source(g, id);
  return src.kind == SRC_VALUE ? integral(&src, tau, wall) : 0;
}

/* Each entity's counters: advanced at every sample by the scenario's values over the time since
 * that entity's previous sample, so a scenario that changes between two samples weighs in for the
 * part of the interval after the change was read, as a load change does on a GPU. */
typedef struct {
  int used;
  double tau, wall;
  double acc[NKNOWN];
} counters_t;
static counters_t counters[SIM_MAX_GPUS][1 + SIM_MAX_MIG + SIM_MAX_GI];

/* Under the lock: fills `s` for the entity. */
static void fill(struct nvmlGpmSample_st *s, const sim_gpu_t *g, int slot, int gi) {
  init_known();
  const double tau = sim_since_init_s(), wall = sim_now_s();
  const int gpu = sim_gpu_index(g);
  counters_t *c = &counters[gpu][slot >= 0 ? 1 + slot : gi >= 0 ? 1 + SIM_MAX_MIG + gi : 0];
  s->filled = 1;
  s->gpu = gpu;
  s->slot = slot;
  s->gi = gi;
  s->tau = tau;
  for (int i = 0; i < NKNOWN; i++) {
    const int id = known_ids[i];
    const double now = entity_integral(g, slot, gi, id, tau, wall);
    if (!c->used) c->acc[i] = now; /* the first sample: as if the current values held since init */
    else if (tau > c->tau) c->acc[i] += now - entity_integral(g, slot, gi, id, c->tau, c->wall);
    if (c->acc[i] < 0) c->acc[i] = 0;
    s->integral[i] = c->acc[i];
  }
  if (tau > c->tau || !c->used) {
    c->tau = tau;
    c->wall = wall;
  }
  c->used = 1;
}

SIM_API nvmlReturn_t nvmlGpmQueryDeviceSupport(nvmlDevice_t dev, nvmlGpmSupport_t *support) {
  DEV_ENTER(dev);
  if (!support) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (support->version != NVML_GPM_SUPPORT_VERSION) return sim_leave(NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
  (void)m; /* a MIG device handle answers for its GPU */
  support->isSupportedDevice = g->gpm_support ? 1 : 0;
  return sim_leave(NVML_SUCCESS);
}

SIM_API nvmlReturn_t nvmlGpmSampleAlloc(nvmlGpmSample_t *out) {
  nvmlReturn_t r = sim_enter(__func__);
  if (r) return r;
  if (!out) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  struct nvmlGpmSample_st *s = calloc(1, sizeof *s);
  if (!s) return sim_leave(NVML_ERROR_MEMORY);
  s->magic = SAMPLE_MAGIC;
  *out = s;
  return sim_leave(NVML_SUCCESS);
}

SIM_API nvmlReturn_t nvmlGpmSampleFree(nvmlGpmSample_t s) {
  nvmlReturn_t r = sim_enter(__func__);
  if (r) return r;
  if (!sample_ok(s)) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  s->magic = 0;
  free(s);
  return sim_leave(NVML_SUCCESS);
}

SIM_API nvmlReturn_t nvmlGpmSampleGet(nvmlDevice_t dev, nvmlGpmSample_t s) {
  DEV_ENTER(dev);
  if (!sample_ok(s)) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (!g->gpm_support) return sim_leave(NVML_ERROR_NOT_SUPPORTED);
  fill(s, g, m ? (int)(m - g->mig) : -1, -1);
  return sim_leave(NVML_SUCCESS);
}

SIM_API nvmlReturn_t nvmlGpmMigSampleGet(nvmlDevice_t dev, unsigned int gpuInstanceId, nvmlGpmSample_t s) {
  DEV_ENTER(dev);
  if (!sample_ok(s) || m) return sim_leave(NVML_ERROR_INVALID_ARGUMENT); /* the parent's handle, not a MIG device's */
  if (!g->gpm_support || !sim_mig_enabled(g)) return sim_leave(NVML_ERROR_NOT_SUPPORTED);
  if (gpuInstanceId >= SIM_MAX_GI || !gi_visible(g, (int)gpuInstanceId)) return sim_leave(NVML_ERROR_NOT_FOUND);
  fill(s, g, -1, (int)gpuInstanceId);
  return sim_leave(NVML_SUCCESS);
}

SIM_API nvmlReturn_t nvmlGpmMetricsGet(nvmlGpmMetricsGet_t *mg) {
  nvmlReturn_t r = sim_enter(__func__);
  if (r) return r;
  if (!mg) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (mg->head.version != NVML_GPM_METRICS_GET_VERSION) return sim_leave(NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
  const struct nvmlGpmSample_st *a = mg->head.sample1, *b = mg->head.sample2;
  /* more metrics than the driver's header has room for, samples that are not two of one entity in
   * order, or closer than the 100 ms refresh: the simulator's answer is INVALID_ARGUMENT */
  if (mg->head.numMetrics == 0 || (int)mg->head.numMetrics > sim_sc->gpm_metric_max) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (!sample_ok(a) || !sample_ok(b) || !a->filled || !b->filled) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (a->gpu != b->gpu || a->slot != b->slot || a->gi != b->gi) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (b->tau - a->tau < 0.1) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (a->gpu >= sim_sc->ngpus) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  const sim_gpu_t *g = &sim_sc->gpu[a->gpu];
  if (g->lost) return sim_leave(g->lost);
  if (a->slot >= sim_mig_visible(g) || (a->gi >= 0 && !gi_visible(g, a->gi))) return sim_leave(NVML_ERROR_NOT_FOUND);
  const double dt = b->tau - a->tau;
  for (unsigned i = 0; i < mg->head.numMetrics; i++) {
    nvmlGpmMetric_t *x = &mg->metrics[i];
    const int id = (int)x->metricId;
    x->value = 0;
    x->metricInfo.shortName = x->metricInfo.longName = x->metricInfo.unit = NULL;
    const int at = id >= 0 && id < GPM_ID_LIMIT ? known_index[id] - 1 : -1;
    source_t src = {SRC_NS, 0, {0}, 1};
    double ignored;
    if (at >= 0) {
      if (a->gi >= 0) src = gi_source(g, a->gi, id, 0, 0, &ignored);
      else if (a->slot >= 0) src = ci_source(g, &g->mig[a->slot], id);
      else src = gpu_source(g, id);
    }
    switch (src.kind) {
      case SRC_VALUE:
        x->nvmlReturn = NVML_SUCCESS;
        if (id >= NVML_GPM_METRIC_SM_CYCLES_ELAPSED) {
          x->value = round(b->integral[at]); /* a counter since boot */
        } else {
          double v = (b->integral[at] - a->integral[at]) / dt;
          x->value = v <= 0 ? 0 : round(v * 1048576) / 1048576;
        }
        break;
      case SRC_NAN: x->nvmlReturn = NVML_SUCCESS, x->value = NAN; break;
      case SRC_ERROR: x->nvmlReturn = src.code; break;
      default: x->nvmlReturn = NVML_ERROR_NOT_SUPPORTED; break;
    }
  }
  return sim_leave(NVML_SUCCESS);
}

#endif
