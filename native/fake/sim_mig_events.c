/*
 * sim_mig_events.c — MIG mode and MIG device handles, and XID events through event sets.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

#define SIM_H100_MIG_SLOTS 7
#define SUPPORTED_EVENTS                                                                          \
  (NVML_EVENT_TYPE_SINGLE_BIT_ECC_ERROR | NVML_EVENT_TYPE_DOUBLE_BIT_ECC_ERROR | NVML_EVENT_TYPE_PSTATE | \
   NVML_EVENT_TYPE_XID_CRITICAL_ERROR | NVML_EVENT_TYPE_CLOCK)

/* ---- MIG ----------------------------------------------------------------------------------------- */

SIM_API nvmlReturn_t nvmlDeviceGetMigMode(nvmlDevice_t dev, unsigned int *current, unsigned int *pending) {
  DEV_ENTER(dev);
  if (!current || !pending || m) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (!g->mig_capable) return sim_leave(NVML_ERROR_NOT_SUPPORTED);
  *current = *pending = sim_mig_enabled(g) ? NVML_DEVICE_MIG_ENABLE : NVML_DEVICE_MIG_DISABLE;
  return sim_leave(NVML_SUCCESS);
}

static unsigned int max_slots(const sim_gpu_t *g) {
  if (!sim_mig_enabled(g)) return 0;
  return g->nmig > SIM_H100_MIG_SLOTS ? (unsigned)g->nmig : SIM_H100_MIG_SLOTS;
}

SIM_API nvmlReturn_t nvmlDeviceGetMaxMigDeviceCount(nvmlDevice_t dev, unsigned int *count) {
  DEV_ENTER(dev);
  if (!count || m) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  *count = max_slots(g);
  return sim_leave(NVML_SUCCESS);
}

SIM_API nvmlReturn_t nvmlDeviceGetMigDeviceHandleByIndex(nvmlDevice_t dev, unsigned int index, nvmlDevice_t *out) {
  DEV_ENTER(dev);
  if (!out || m || index >= max_slots(g)) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (index >= (unsigned)sim_mig_visible(g)) return sim_leave(NVML_ERROR_NOT_FOUND); /* an empty slot */
  *out = &sim_mig_handles[sim_gpu_index(g)][index];
  return sim_leave(NVML_SUCCESS);
}

SIM_API nvmlReturn_t nvmlDeviceIsMigDeviceHandle(nvmlDevice_t dev, unsigned int *isMig) {
  DEV_ENTER(dev);
  if (!isMig) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  *isMig = m != NULL;
  return sim_leave(NVML_SUCCESS);
}

SIM_API nvmlReturn_t nvmlDeviceGetGpuInstanceId(nvmlDevice_t dev, unsigned int *id) {
  DEV_ENTER(dev);
  if (!id) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (!m) return sim_leave(NVML_ERROR_NOT_SUPPORTED);
  *id = (unsigned)m->gi;
  return sim_leave(NVML_SUCCESS);
}

SIM_API nvmlReturn_t nvmlDeviceGetComputeInstanceId(nvmlDevice_t dev, unsigned int *id) {
  DEV_ENTER(dev);
  if (!id) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (!m) return sim_leave(NVML_ERROR_NOT_SUPPORTED);
  *id = (unsigned)m->ci;
  return sim_leave(NVML_SUCCESS);
}

SIM_API nvmlReturn_t nvmlDeviceGetDeviceHandleFromMigDeviceHandle(nvmlDevice_t mig, nvmlDevice_t *parent) {
  DEV_ENTER(mig);
  if (!parent || !m) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  *parent = &sim_gpu_handles[sim_gpu_index(g)];
  return sim_leave(NVML_SUCCESS);
}

/* ---- events ---------------------------------------------------------------------------------------- */

struct nvmlEventSet_st {
  struct nvmlEventSet_st *next; /* live sets, to reject freed or foreign pointers */
  unsigned long long mask[SIM_MAX_GPUS];
  long long *done; /* ids of the XID events already delivered to this set */
  int ndone, cap;
};
static struct nvmlEventSet_st *live;

static int is_live(nvmlEventSet_t set) {
  for (struct nvmlEventSet_st *s = live; s; s = s->next)
    if (s == set) return 1;
  return 0;
}

SIM_API nvmlReturn_t nvmlDeviceGetSupportedEventTypes(nvmlDevice_t dev, unsigned long long *types) {
  DEV_ENTER(dev);
  if (!types) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (m) return sim_leave(NVML_ERROR_NOT_SUPPORTED);
  *types = SUPPORTED_EVENTS;
  return sim_leave(NVML_SUCCESS);
}

SIM_API nvmlReturn_t nvmlEventSetCreate(nvmlEventSet_t *out) {
  nvmlReturn_t r = sim_enter(__func__);
  if (r) return r;
  if (!out) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  struct nvmlEventSet_st *s = calloc(1, sizeof *s);
  if (!s) return sim_leave(NVML_ERROR_MEMORY);
  s->next = live;
  live = s;
  *out = s;
  return sim_leave(NVML_SUCCESS);
}

SIM_API nvmlReturn_t nvmlDeviceRegisterEvents(nvmlDevice_t dev, unsigned long long types, nvmlEventSet_t set) {
  DEV_ENTER(dev);
  if (!is_live(set)) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (m || (types & ~SUPPORTED_EVENTS)) return sim_leave(NVML_ERROR_NOT_SUPPORTED);
  set->mask[sim_gpu_index(g)] |= types;
  return sim_leave(NVML_SUCCESS);
}

static int delivered(const nvmlEventSet_t s, long long id) {
  for (int i = 0; i < s->ndone; i++)
    if (s->done[i] == id) return 1;
  return 0;
}

static double mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Polls the scenario (which reloads itself when its file changes) every 5 ms until an XID event
 * not yet delivered to this set appears for a GPU the set listens to, or the timeout passes. */
static nvmlReturn_t wait(const char *fn, nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeoutMs, int v2) {
  double until = mono_ms() + timeoutMs;
  for (;;) {
    nvmlReturn_t r = sim_enter(fn);
    if (r) return r;
    /* a driver whose library exports the v2 wait but refuses it when called */
    if (v2 && (sim_sc->quirks & Q_WAIT_V2_NOT_SUPPORTED)) return sim_leave(NVML_ERROR_NOT_SUPPORTED);
    if (v2 && (sim_sc->quirks & Q_WAIT_V2_NOT_FOUND)) return sim_leave(NVML_ERROR_FUNCTION_NOT_FOUND);
    if (!is_live(set) || !data) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
    for (int i = 0; i < sim_sc->nxids; i++) {
      const sim_xid_t *x = &sim_sc->xid[i];
      if (!(set->mask[x->gpu] & NVML_EVENT_TYPE_XID_CRITICAL_ERROR) || sim_sc->gpu[x->gpu].lost || delivered(set, x->id))
        continue;
      if (set->ndone == set->cap) {
        int cap = set->cap ? set->cap * 2 : 16;
        long long *d = realloc(set->done, sizeof *d * (size_t)cap);
        if (!d) return sim_leave(NVML_ERROR_MEMORY);
        set->done = d;
        set->cap = cap;
      }
      set->done[set->ndone++] = x->id;
      data->device = &sim_gpu_handles[x->gpu];
      data->eventType = NVML_EVENT_TYPE_XID_CRITICAL_ERROR;
      data->eventData = (unsigned long long)x->xid;
      if (v2) { /* the v1 struct ends after eventData */
        data->gpuInstanceId = x->gi;
        data->computeInstanceId = x->ci;
      }
      return sim_leave(NVML_SUCCESS);
    }
    sim_unlock();
    double left = until - mono_ms();
    if (left <= 0) return NVML_ERROR_TIMEOUT;
    sim_sleep_ms(left < 5 ? left : 5);
  }
}

SIM_API nvmlReturn_t nvmlEventSetWait(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeoutMs) {
  return wait(__func__, set, data, timeoutMs, 0);
}
SIM_API nvmlReturn_t nvmlEventSetWait_v2(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeoutMs) {
  return wait(__func__, set, data, timeoutMs, 1);
}

SIM_API nvmlReturn_t nvmlEventSetFree(nvmlEventSet_t set) {
  nvmlReturn_t r = sim_enter(__func__);
  if (r) return r;
  for (struct nvmlEventSet_st **p = &live; *p; p = &(*p)->next)
    if (*p == set) {
      *p = set->next;
      free(set->done);
      free(set);
      return sim_leave(NVML_SUCCESS);
    }
  return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
}

#pragma GCC diagnostic error "-Wincompatible-pointer-types"
__attribute__((unused)) static const nvmlDeviceGetMigMode_fn chk_mode = nvmlDeviceGetMigMode;
__attribute__((unused)) static const nvmlDeviceGetUInt_fn chk_u[] = {nvmlDeviceGetMaxMigDeviceCount, nvmlDeviceIsMigDeviceHandle,
  nvmlDeviceGetGpuInstanceId, nvmlDeviceGetComputeInstanceId};
__attribute__((unused)) static const nvmlDeviceGetMigDeviceHandleByIndex_fn chk_mh = nvmlDeviceGetMigDeviceHandleByIndex;
__attribute__((unused)) static const nvmlDeviceGetULL_fn chk_set = nvmlDeviceGetSupportedEventTypes;
__attribute__((unused)) static const nvmlEventSetCreate_fn chk_create = nvmlEventSetCreate;
__attribute__((unused)) static const nvmlDeviceRegisterEvents_fn chk_reg = nvmlDeviceRegisterEvents;
__attribute__((unused)) static const nvmlEventSetWait_fn chk_wait[] = {nvmlEventSetWait, nvmlEventSetWait_v2};
__attribute__((unused)) static const nvmlEventSetFree_fn chk_free = nvmlEventSetFree;
