/*
 * sim_state.c — the one scenario, its lock, reloading it when its file changes, init
 * refcounting, handle resolution, error/delay injection and reading evaluation.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sim.h"

sim_scenario_t *sim_sc;
struct nvmlDevice_st sim_gpu_handles[SIM_MAX_GPUS];
struct nvmlDevice_st sim_mig_handles[SIM_MAX_GPUS][SIM_MAX_MIG];
struct nvmlGpuInstance_st sim_gi_handles[SIM_MAX_GPUS][SIM_MAX_GI];

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int refcount;
static int env_latency; /* NVML_SIM_LATENCY=published (read at init) */
static char path[4096];
static double ramp_t0 = -1, last_check;

typedef struct {
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  int set;
} filesig_t;
static filesig_t cur_sig, bad_sig;

void sim_lock(void) { pthread_mutex_lock(&mu); }
void sim_unlock(void) { pthread_mutex_unlock(&mu); }
int sim_initialized(void) { return refcount > 0; }

static double mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

double sim_since_init_s(void) { return mono_s() - ramp_t0; }

double sim_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

void sim_sleep_ms(double ms) {
  if (ms <= 0) return;
  struct timespec ts = {(time_t)(ms / 1000), (long)(fmod(ms, 1000) * 1e6)};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

static int same_sig(const filesig_t *a, const struct stat *st) {
  return a->set && a->dev == st->st_dev && a->ino == st->st_ino && a->size == st->st_size &&
         a->mtime.tv_sec == st->st_mtim.tv_sec && a->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

static void set_sig(filesig_t *a, const struct stat *st) {
  *a = (filesig_t){st->st_dev, st->st_ino, st->st_size, st->st_mtim, 1};
}

/* Reads and parses the scenario file. Returns the new scenario, or NULL after printing one line. */
static sim_scenario_t *load(const struct stat *st) {
  char err[256] = "";
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "nvml_sim: %s: cannot open the scenario file (%s); keeping the previous state\n", path, strerror(errno));
    return NULL;
  }
  size_t cap = (size_t)st->st_size + 1, n;
  char *text = malloc(cap + 1);
  sim_scenario_t *s = calloc(1, sizeof *s);
  if (!text || !s) {
    fclose(f);
    free(text);
    free(s);
    return NULL;
  }
  n = fread(text, 1, cap, f);
  fclose(f);
  text[n] = 0;
  int line = sim_parse(text, s, err, sizeof err);
  free(text);
  if (line) {
    fprintf(stderr, "nvml_sim: %s:%d: %s; keeping the previous state\n", path, line, err);
    free(s);
    return NULL;
  }
  return s;
}

/* Under the lock. `force`: read now (at init), else at most every 10 ms and only on a change. */
static int refresh(int force) {
  if (!path[0]) return 0;
  double now = mono_s();
  if (!force && now - last_check < 0.010) return 0;
  last_check = now;
  struct stat st;
  if (stat(path, &st) != 0) {
    if (force || !bad_sig.set || bad_sig.ino != 0) {
      fprintf(stderr, "nvml_sim: %s: cannot read the scenario file (%s); keeping the previous state\n", path, strerror(errno));
      bad_sig = (filesig_t){0};
      bad_sig.set = 1;
    }
    return -1;
  }
  if (!force && same_sig(&cur_sig, &st)) return 0;
  if (!force && same_sig(&bad_sig, &st)) return -1;
  sim_scenario_t *s = load(&st);
  if (!s) {
    set_sig(&bad_sig, &st);
    return -1;
  }
  free(sim_sc);
  sim_sc = s;
  set_sig(&cur_sig, &st);
  bad_sig.set = 0;
  return 0;
}

void sim_refresh(void) { refresh(0); }

/* `entry` names `fn` exactly, or names its unversioned base (`nvmlDeviceGetCount` covers `_v2`). */
static int names(const char *entry, const char *fn) {
  if (!strcmp(entry, fn)) return 1;
  size_t n = strlen(entry);
  return !strncmp(entry, fn, n) && fn[n] == '_' && fn[n + 1] == 'v' && fn[n + 2] >= '0' && fn[n + 2] <= '9';
}

static int lookup(const sim_calls_t *c, const char *fn, int *out) {
  for (int i = 0; i < c->n; i++) /* an exact entry wins over a base-name one */
    if (!strcmp(c->e[i].fn, fn)) return *out = c->e[i].value, 1;
  for (int i = 0; i < c->n; i++)
    if (names(c->e[i].fn, fn)) return *out = c->e[i].value, 1;
  return 0;
}

nvmlReturn_t sim_init(const char *fn) {
  int code, delay = 0;
  sim_lock();
  if (ramp_t0 < 0) ramp_t0 = mono_s();
  if (refcount == 0) {
    const char *lat = getenv("NVML_SIM_LATENCY");
    env_latency = lat && (!strcmp(lat, "published") || !strcmp(lat, "1"));
    const char *env = getenv("NVML_SIM_SCENARIO");
    if (env && *env) {
      if (strlen(env) >= sizeof path) env = "";
      snprintf(path, sizeof path, "%s", env);
      cur_sig.set = bad_sig.set = 0;
      if (refresh(1)) {
        fprintf(stderr, "nvml_sim: %s fails with NVML_ERROR_DRIVER_NOT_LOADED until NVML_SIM_SCENARIO names a valid scenario\n", fn);
        return sim_leave(NVML_ERROR_DRIVER_NOT_LOADED);
      }
    } else {
      path[0] = 0;
      free(sim_sc);
      sim_sc = calloc(1, sizeof *sim_sc);
      if (!sim_sc) return sim_leave(NVML_ERROR_MEMORY);
      sim_default_scenario(sim_sc, 2);
    }
  } else {
    refresh(0);
  }
  lookup(&sim_sc->delays, fn, &delay);
  if (lookup(&sim_sc->errors, fn, &code) && code) {
    sim_unlock();
    sim_sleep_ms(delay);
    return code;
  }
  refcount++;
  sim_unlock();
  sim_sleep_ms(delay);
  return NVML_SUCCESS;
}

nvmlReturn_t sim_shutdown(void) {
  sim_lock();
  if (refcount == 0) return sim_leave(NVML_ERROR_UNINITIALIZED);
  refcount--;
  return sim_leave(NVML_SUCCESS);
}

nvmlReturn_t sim_leave(nvmlReturn_t r) {
  sim_unlock();
  return r;
}

/* The latency model: what `fn` costs (ns), or 0 when the model is off. */
static long long cost_ns(const char *fn) {
  int on = sim_sc->latency < 0 ? env_latency : sim_sc->latency;
  if (!on) return 0;
  int ns;
  if (lookup(&sim_sc->latencies, fn, &ns)) return ns;
  return sim_published_cost_ns(fn);
}

/* Busy-waits: sleeping cannot time a few microseconds (timer slack is ~50 µs). */
static void spin_ns(long long ns) {
  double until = mono_s() + ns / 1e9;
  while (mono_s() < until) {
  }
}

nvmlReturn_t sim_enter(const char *fn) {
  int code, delay = 0;
  sim_lock();
  refresh(0);
  if (!refcount) return sim_leave(NVML_ERROR_UNINITIALIZED);
  long long cost = cost_ns(fn);
  if (cost > 0) { /* spent outside the lock, like a driver call's time in the kernel */
    sim_unlock();
    spin_ns(cost);
    sim_lock();
    refresh(0);
    if (!refcount) return sim_leave(NVML_ERROR_UNINITIALIZED);
  }
  if (lookup(&sim_sc->errors, fn, &code) && code) return sim_leave(code);
  if (lookup(&sim_sc->delays, fn, &delay) && delay > 0) {
    sim_unlock();
    sim_sleep_ms(delay);
    sim_lock();
    refresh(0);
    if (!refcount) return sim_leave(NVML_ERROR_UNINITIALIZED);
  }
  return NVML_SUCCESS;
}

/* Under the lock: the GPU and MIG device a handle stands for in the current scenario. */
static nvmlReturn_t resolve(nvmlDevice_t dev, int *gi, int *slot, sim_gpu_t **g, sim_mig_t **m) {
  uintptr_t p = (uintptr_t)dev, g0 = (uintptr_t)&sim_gpu_handles[0], m0 = (uintptr_t)&sim_mig_handles[0][0];
  if (p >= g0 && p < g0 + sizeof sim_gpu_handles && (p - g0) % sizeof(struct nvmlDevice_st) == 0) {
    *gi = (int)((p - g0) / sizeof(struct nvmlDevice_st));
    *slot = -1;
  } else if (p >= m0 && p < m0 + sizeof sim_mig_handles && (p - m0) % sizeof(struct nvmlDevice_st) == 0) {
    size_t i = (p - m0) / sizeof(struct nvmlDevice_st);
    *gi = (int)(i / SIM_MAX_MIG);
    *slot = (int)(i % SIM_MAX_MIG);
  } else {
    return NVML_ERROR_INVALID_ARGUMENT;
  }
  if (*gi >= sim_sc->ngpus) return NVML_ERROR_INVALID_ARGUMENT;
  *g = &sim_sc->gpu[*gi];
  *m = NULL;
  if (*slot >= 0) {
    if (*slot >= sim_mig_visible(*g)) return NVML_ERROR_INVALID_ARGUMENT; /* the instance is gone */
    *m = &(*g)->mig[*slot];
  }
  return NVML_SUCCESS;
}

nvmlReturn_t sim_enter_dev(const char *fn, nvmlDevice_t dev, sim_gpu_t **g, sim_mig_t **m) {
  int gi, slot, code, delay = 0;
  nvmlReturn_t r = sim_enter(fn);
  if (r) return r;
  if ((r = resolve(dev, &gi, &slot, g, m))) return sim_leave(r);
  if ((*g)->lost) return sim_leave((*g)->lost);
  if ((lookup(&(*g)->errors, fn, &code) || lookup(&sim_sc->errors, fn, &code)) && code) return sim_leave(code);
  if (lookup(&(*g)->delays, fn, &delay) && delay > 0) {
    sim_unlock();
    sim_sleep_ms(delay);
    sim_lock();
    refresh(0);
    if (!refcount) return sim_leave(NVML_ERROR_UNINITIALIZED);
    if ((r = resolve(dev, &gi, &slot, g, m))) return sim_leave(r);
  }
  return NVML_SUCCESS;
}

int sim_gpu_index(const sim_gpu_t *g) { return (int)(g - sim_sc->gpu); }

int sim_mig_enabled(const sim_gpu_t *g) { return g->mig_capable && g->mig_mode > 0; }

int sim_mig_visible(const sim_gpu_t *g) { return sim_mig_enabled(g) ? g->nmig : 0; }

const sim_mig_t *sim_gi_owner(const sim_gpu_t *g, const sim_mig_t *m) {
  for (int s = 0; s < g->nmig; s++)
    if (g->mig[s].gi == m->gi) return &g->mig[s];
  return m;
}

/* The container toolkit gives a container the MIG monitoring capability (aggregate parent
 * memory) only with NVIDIA_MIG_MONITOR_DEVICES=all; here the simulated process's own variable. */
int sim_mig_monitor_allowed(void) {
  const char *v = getenv("NVIDIA_MIG_MONITOR_DEVICES");
  return v && !strcmp(v, "all");
}

static double eval(const sim_value_t *v) {
  switch (v->kind) {
    case V_WAVE: {
      double t = sim_now_s();
      double x = t / v->c + v->d;
      x -= floor(x); /* keep precision: only the phase within the period matters */
      return v->a + (v->b - v->a) * (1 - cos(2 * 3.14159265358979323846 * x)) / 2;
    }
    case V_RAMP: return v->a + v->b * (mono_s() - ramp_t0);
    default: return v->a;
  }
}

double sim_uptime_s(void) { return ramp_t0 < 0 ? 0 : mono_s() - ramp_t0; }

nvmlReturn_t sim_read(const sim_gpu_t *g, const sim_mig_t *m, int k, double *out) {
  int memkey = k == R_MEM_TOTAL || k == R_MEM_RESERVED || k == R_MEM_USED || k == R_MEM_FREE;
  if (m && memkey) m = sim_gi_owner(g, m); /* compute instances share their GPU instance's memory */
  if (g->procs_drive && sim_proc_derived(g, m, k, out)) return NVML_SUCCESS;
  const sim_value_t *v = m ? m->v : g->v;
  int sampled = k == R_GPU_UTIL || k == R_MEM_UTIL || k == R_ENC_UTIL || k == R_DEC_UTIL;
  if (sampled && (m || sim_mig_enabled(g))) return NVML_ERROR_NOT_SUPPORTED;
  /* "On MIG-enabled GPUs with active instances, querying the number of remapped rows is not supported" */
  int remap = k == R_REMAP_COR || k == R_REMAP_UNC || k == R_REMAP_PENDING || k == R_REMAP_FAILURE;
  if (remap && !m && sim_mig_visible(g) > 0) return NVML_ERROR_NOT_SUPPORTED;
  if (k == R_BAR1_FREE && v[k].kind == V_UNSET) {
    double t, u;
    if (sim_read(g, m, R_BAR1_TOTAL, &t) || sim_read(g, m, R_BAR1_USED, &u)) return NVML_ERROR_NOT_SUPPORTED;
    *out = t - u > 0 ? t - u : 0;
    return NVML_SUCCESS;
  }
  if (k == R_MEM_FREE && v[k].kind == V_UNSET) {
    double t, r, u;
    if (sim_read(g, m, R_MEM_TOTAL, &t) || sim_read(g, m, R_MEM_RESERVED, &r) || sim_read(g, m, R_MEM_USED, &u))
      return NVML_ERROR_NOT_SUPPORTED;
    *out = t - r - u > 0 ? t - r - u : 0;
    return NVML_SUCCESS;
  }
  if (v[k].kind == V_UNSUPPORTED || v[k].kind == V_UNSET) return NVML_ERROR_NOT_SUPPORTED;
  *out = eval(&v[k]);
  return NVML_SUCCESS;
}

nvmlReturn_t sim_read_u32(const sim_gpu_t *g, const sim_mig_t *m, int k, unsigned int *out) {
  double d;
  nvmlReturn_t r = sim_read(g, m, k, &d);
  if (!r) *out = d <= 0 ? 0 : d >= (double)UINT_MAX ? UINT_MAX : (unsigned int)llround(d);
  return r;
}

nvmlReturn_t sim_read_u64(const sim_gpu_t *g, const sim_mig_t *m, int k, unsigned long long *out) {
  double d;
  nvmlReturn_t r = sim_read(g, m, k, &d);
  if (!r) *out = d <= 0 ? 0 : d >= 1.8e19 ? ULLONG_MAX : (unsigned long long)floor(d + 0.5);
  return r;
}

nvmlReturn_t sim_copy_str(char *buf, unsigned int len, const char *s) {
  if (!buf) return NVML_ERROR_INVALID_ARGUMENT;
  size_t n = strlen(s);
  if (len < n + 1) return NVML_ERROR_INSUFFICIENT_SIZE;
  memcpy(buf, s, n + 1);
  return NVML_SUCCESS;
}
