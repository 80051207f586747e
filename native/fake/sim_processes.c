/*
 * sim_processes.c — processes on simulated GPUs: the running-process lists (compute, graphics,
 * MPS clients, in the 16-, 24- or 32-byte entry layouts real drivers write) and per-process
 * utilisation samples, one per busy process per sample period, as the driver keeps them.
 * Scenario syntax: README.md, "Processes".
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "sim.h"

/* The driver's per-process sample period: a sixth of a second. */
#define SAMPLE_US 166667ULL
/* Samples the driver keeps per GPU (older ones are gone): about 16 s. */
#define SAMPLE_WINDOW 100ULL

/* A value at wall-clock time `t` (seconds since the epoch); ramps at the matching uptime. */
static double eval_at(const sim_value_t *v, double t) {
  switch (v->kind) {
    case V_WAVE: {
      double x = t / v->c + v->d;
      x -= floor(x);
      return v->a + (v->b - v->a) * (1 - cos(2 * 3.14159265358979323846 * x)) / 2;
    }
    case V_RAMP: return v->a + v->b * (sim_uptime_s() - (sim_now_s() - t));
    case V_CONST: return v->a;
    default: return 0;
  }
}

static double clamp_pct(double x) { return x < 0 ? 0 : x > 100 ? 100 : x; }

/* Whether process p runs at wall-clock time t. */
static int alive_at(const sim_proc_t *p, double t) {
  double up = sim_uptime_s() - (sim_now_s() - t);
  return up >= p->start && (p->exit < 0 || up < p->exit);
}

/* Whether p shows on the device a handle stands for: its MIG slot, or the GPU (which lists all). */
static int on_device(const sim_gpu_t *g, const sim_mig_t *m, const sim_proc_t *p) {
  if (!m) return 1;
  return p->mig == (int)(m - g->mig);
}

int sim_proc_derived(const sim_gpu_t *g, const sim_mig_t *m, int k, double *out) {
  double now = sim_now_s(), sum = 0;
  int slot = m ? (int)(m - g->mig) : -1;
  int want;
  if (k == R_GPU_UTIL) want = !m && (g->procs_drive & 1);
  else if (k == R_MEM_USED) want = m ? (g->procs_drive & (4 << slot)) != 0 : (g->procs_drive & 2) != 0;
  else return 0;
  if (!want) return 0;
  for (int i = 0; i < g->nprocs; i++) {
    const sim_proc_t *p = &g->procs[i];
    if (!alive_at(p, now) || p->mig != slot) continue;
    sum += k == R_GPU_UTIL ? clamp_pct(eval_at(&p->sm, now)) : fmax(0, eval_at(&p->mem, now));
  }
  *out = k == R_GPU_UTIL ? (sum > 100 ? 100 : sum) : sum;
  return 1;
}

/* One process list. `stride`: the entry size this symbol writes. */
static nvmlReturn_t list(const char *fn, nvmlDevice_t dev, unsigned int *count, void *infos, int kind, int stride) {
  sim_gpu_t *g;
  sim_mig_t *m;
  nvmlReturn_t r = sim_enter_dev(fn, dev, &g, &m); /* errors and delays by the exported name */
  if (r) return r;
  if (!count) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (stride == 24 && (sim_sc->quirks & Q_PROCESS_INFO_32) && strstr(fn, "_v3")) stride = 32;
  double now = sim_now_s();
  unsigned n = 0;
  for (int i = 0; i < g->nprocs; i++)
    if ((g->procs[i].kinds & kind) && alive_at(&g->procs[i], now) && on_device(g, m, &g->procs[i])) n++;
  if (n == 0) {
    *count = 0;
    return sim_leave(NVML_SUCCESS);
  }
  if (!infos || *count < n) {
    *count = n;
    return sim_leave(NVML_ERROR_INSUFFICIENT_SIZE);
  }
  unsigned char *b = infos;
  unsigned w = 0;
  for (int i = 0; i < g->nprocs; i++) {
    const sim_proc_t *p = &g->procs[i];
    if (!(p->kinds & kind) || !alive_at(p, now) || !on_device(g, m, p)) continue;
    unsigned char *e = b + (size_t)w++ * stride;
    unsigned long long mem = (unsigned long long)llround(fmax(0, eval_at(&p->mem, now)));
    unsigned gi = 0xFFFFFFFFu, ci = 0xFFFFFFFFu;
    if (p->mig >= 0 && p->mig < g->nmig) {
      gi = (unsigned)g->mig[p->mig].gi;
      ci = (unsigned)g->mig[p->mig].ci;
    }
    memset(e, 0, stride);
    memcpy(e, &p->pid, 4);
    memcpy(e + 8, &mem, 8);
    if (stride >= 24) {
      memcpy(e + 16, &gi, 4);
      memcpy(e + 20, &ci, 4);
    }
  }
  *count = n;
  return sim_leave(NVML_SUCCESS);
}

#define LISTS(NAME, KIND)                                                                                   \
  SIM_API nvmlReturn_t NAME(nvmlDevice_t dev, unsigned int *count, void *infos) {                           \
    return list(__func__, dev, count, infos, KIND, 16);                                                     \
  }                                                                                                         \
  SIM_API nvmlReturn_t NAME##_v2(nvmlDevice_t dev, unsigned int *count, void *infos) {                      \
    return list(__func__, dev, count, infos, KIND, 24);                                                     \
  }
LISTS(nvmlDeviceGetComputeRunningProcesses, SIM_PROC_COMPUTE)
LISTS(nvmlDeviceGetGraphicsRunningProcesses, SIM_PROC_GRAPHICS)
LISTS(nvmlDeviceGetMPSComputeRunningProcesses, SIM_PROC_MPS)

#ifndef NVML_SIM_LEGACY /* the _v3 forms came with R510 */
SIM_API nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t dev, unsigned int *count, void *infos) {
  return list(__func__, dev, count, infos, SIM_PROC_COMPUTE, 24);
}
SIM_API nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v3(nvmlDevice_t dev, unsigned int *count, void *infos) {
  return list(__func__, dev, count, infos, SIM_PROC_GRAPHICS, 24);
}
SIM_API nvmlReturn_t nvmlDeviceGetMPSComputeRunningProcesses_v3(nvmlDevice_t dev, unsigned int *count, void *infos) {
  return list(__func__, dev, count, infos, SIM_PROC_MPS, 24);
}
#endif

/* Per-process utilisation samples newer than lastSeen (µs since the epoch): one per process that
 * was busy in a sample period, for the periods still in the driver's window. Not supported on MIG
 * devices or a MIG-enabled GPU, as on the real driver. */
SIM_API nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t dev, nvmlProcessUtilizationSample_t *samples,
                                                     unsigned int *count, unsigned long long lastSeen) {
  DEV_ENTER(dev);
  if (!count) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (m || sim_mig_enabled(g)) return sim_leave(NVML_ERROR_NOT_SUPPORTED);
  unsigned long long now = (unsigned long long)(sim_now_s() * 1e6);
  unsigned long long last = now / SAMPLE_US, first = last >= SAMPLE_WINDOW ? last - SAMPLE_WINDOW + 1 : 0;
  if (lastSeen / SAMPLE_US + 1 > first) first = lastSeen / SAMPLE_US + 1;
  unsigned n = 0, cap = samples ? *count : 0;
  for (unsigned long long k = first; k <= last; k++) {
    double t = (double)(k * SAMPLE_US) / 1e6;
    for (int i = 0; i < g->nprocs; i++) {
      const sim_proc_t *p = &g->procs[i];
      if (!alive_at(p, t)) continue;
      unsigned sm = (unsigned)llround(clamp_pct(eval_at(&p->sm, t))), mu = (unsigned)llround(clamp_pct(eval_at(&p->memutil, t)));
      unsigned en = (unsigned)llround(clamp_pct(eval_at(&p->enc, t))), de = (unsigned)llround(clamp_pct(eval_at(&p->dec, t)));
      if (!sm && !mu && !en && !de) continue; /* the driver keeps samples of busy processes only */
      if (n < cap) samples[n] = (nvmlProcessUtilizationSample_t){p->pid, k * SAMPLE_US, sm, mu, en, de};
      n++;
    }
  }
  if (n == 0) return sim_leave(NVML_ERROR_NOT_FOUND);
  *count = n;
  return sim_leave(n > cap ? NVML_ERROR_INSUFFICIENT_SIZE : NVML_SUCCESS);
}
