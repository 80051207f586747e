/*
 * sim_gpu_instances.c — MIG GPU instances: a GPU instance by id, its info (the profile id), and
 * the GPU-instance profile table (nvmlDeviceGetGpuInstanceProfileInfo, …V, …ByIdV).
 *
 * The profile table is an H100 80GB's: index (NVML_GPU_INSTANCE_PROFILE_*) and profile id differ,
 * as on the real GPU. A profile a scenario names that is not in the table gets an entry of its own
 * (index 0x0A + n, id 40 + n). memorySizeMB is GB × 1024 − 256 unless `gimem` sets it, so that
 * DCGM's ceil(MB / 1024) gives back the GB of the name. On the real driver these calls can need a
 * privileged caller (`giaccess denied` answers NO_PERMISSION).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sim.h"

typedef struct {
  char name[32];
  int index;
  unsigned id;
  int slices, gb, instances, sms, mem_mb;
} profile_t;

static const profile_t h100[] = {
  {"1g.10gb", NVML_GPU_INSTANCE_PROFILE_1_SLICE, 19, 1, 10, 7, 16, 0},
  {"1g.10gb+me", NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV1, 20, 1, 10, 1, 16, 0},
  {"1g.20gb", NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV2, 15, 1, 20, 4, 26, 0},
  {"2g.20gb", NVML_GPU_INSTANCE_PROFILE_2_SLICE, 14, 2, 20, 3, 32, 0},
  {"3g.40gb", NVML_GPU_INSTANCE_PROFILE_3_SLICE, 9, 3, 40, 2, 60, 0},
  {"4g.40gb", NVML_GPU_INSTANCE_PROFILE_4_SLICE, 5, 4, 40, 1, 64, 0},
  {"7g.80gb", NVML_GPU_INSTANCE_PROFILE_7_SLICE, 0, 7, 80, 1, 132, 0},
};
#define H100_PROFILES (int)(sizeof h100 / sizeof h100[0])
#define MAX_PROFILES (H100_PROFILES + SIM_MAX_MIG)

/* This GPU's table: the H100 profiles, then one entry per other profile its MIG devices name. */
static int table(const sim_gpu_t *g, profile_t *out) {
  int n = 0, extra = 0;
  for (int i = 0; i < H100_PROFILES; i++) out[n++] = h100[i];
  for (int s = 0; s < g->nmig; s++) {
    int known = 0;
    for (int i = 0; i < n; i++) known |= !strcmp(out[i].name, g->mig[s].gi_profile);
    if (known) continue;
    profile_t p = {"", 0x0A + extra, 40u + (unsigned)extra, g->mig[s].slices, g->mig[s].gb, 1, 16 * g->mig[s].slices, 0};
    snprintf(p.name, sizeof p.name, "%s", g->mig[s].gi_profile);
    out[n++] = p;
    extra++;
  }
  for (int i = 0; i < n; i++) {
    out[i].mem_mb = out[i].gb * 1024 - 256;
    for (int s = 0; s < g->nmig; s++) /* `gimem` on a MIG device sets its GPU instance profile's memory */
      if (g->mig[s].gi_mem_mb > 0 && !strcmp(g->mig[s].gi_profile, out[i].name)) out[i].mem_mb = g->mig[s].gi_mem_mb;
  }
  return n;
}

/* The GPU instance `id` exists: a visible MIG device is one of its compute instances. */
static const sim_mig_t *gi_member(const sim_gpu_t *g, int id) {
  for (int s = 0; s < sim_mig_visible(g); s++)
    if (g->mig[s].gi == id) return &g->mig[s];
  return NULL;
}

SIM_API nvmlReturn_t nvmlDeviceGetGpuInstanceById(nvmlDevice_t dev, unsigned int id, nvmlGpuInstance_t *gi) {
  DEV_ENTER(dev);
  if (!gi || m || id >= SIM_MAX_GI) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (!sim_mig_enabled(g)) return sim_leave(NVML_ERROR_NOT_SUPPORTED);
  if (g->gi_denied) return sim_leave(NVML_ERROR_NO_PERMISSION);
  if (!gi_member(g, (int)id)) return sim_leave(NVML_ERROR_NOT_FOUND);
  *gi = &sim_gi_handles[sim_gpu_index(g)][id];
  return sim_leave(NVML_SUCCESS);
}

SIM_API nvmlReturn_t nvmlGpuInstanceGetInfo(nvmlGpuInstance_t gi, nvmlGpuInstanceInfo_t *info) {
  uintptr_t p = (uintptr_t)gi, b = (uintptr_t)&sim_gi_handles[0][0];
  if (p < b || p >= b + sizeof sim_gi_handles || (p - b) % sizeof(struct nvmlGpuInstance_st)) {
    nvmlReturn_t r = sim_enter(__func__);
    return r ? r : sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  }
  size_t i = (p - b) / sizeof(struct nvmlGpuInstance_st);
  int gpu = (int)(i / SIM_MAX_GI), id = (int)(i % SIM_MAX_GI);
  DEV_ENTER(&sim_gpu_handles[gpu]); /* the parent's errors, delays and lost state apply */
  if (!info) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (g->gi_denied) return sim_leave(NVML_ERROR_NO_PERMISSION);
  const sim_mig_t *mm = gi_member(g, id);
  if (!mm) return sim_leave(NVML_ERROR_INVALID_ARGUMENT); /* destroyed: the handle is no longer valid */
  profile_t t[MAX_PROFILES];
  int n = table(g, t);
  memset(info, 0, sizeof *info);
  info->device = &sim_gpu_handles[gpu];
  info->id = (unsigned)id;
  for (int k = 0; k < n; k++)
    if (!strcmp(t[k].name, mm->gi_profile)) info->profileId = t[k].id;
  info->placement.start = (unsigned)(id % 8);
  info->placement.size = (unsigned)mm->slices;
  return sim_leave(NVML_SUCCESS);
}

/* The common part of the profile-info calls: the entry, or the code to answer. */
static nvmlReturn_t lookup_profile(const sim_gpu_t *g, const sim_mig_t *m, unsigned key, int by_id, profile_t *out) {
  if (m) return NVML_ERROR_INVALID_ARGUMENT;
  if (!sim_mig_enabled(g)) return NVML_ERROR_NOT_SUPPORTED;
  if (g->gi_denied) return NVML_ERROR_NO_PERMISSION;
  if (!by_id && key >= NVML_GPU_INSTANCE_PROFILE_COUNT) return NVML_ERROR_INVALID_ARGUMENT;
  profile_t t[MAX_PROFILES];
  int n = table(g, t);
  for (int i = 0; i < n; i++)
    if (by_id ? t[i].id == key : (unsigned)t[i].index == key) return *out = t[i], NVML_SUCCESS;
  return by_id ? NVML_ERROR_INVALID_ARGUMENT : NVML_ERROR_NOT_SUPPORTED; /* an index this GPU has no profile for */
}

SIM_API nvmlReturn_t nvmlDeviceGetGpuInstanceProfileInfo(nvmlDevice_t dev, unsigned int profile, nvmlGpuInstanceProfileInfo_t *info) {
  DEV_ENTER(dev);
  if (!info) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  profile_t p;
  if ((r = lookup_profile(g, m, profile, 0, &p))) return sim_leave(r);
  memset(info, 0, sizeof *info);
  info->id = p.id;
  info->isP2pSupported = 0;
  info->sliceCount = (unsigned)p.slices;
  info->instanceCount = (unsigned)p.instances;
  info->multiprocessorCount = (unsigned)p.sms;
  info->copyEngineCount = (unsigned)p.slices;
  info->decoderCount = info->jpegCount = (unsigned)(p.slices > 1 ? p.slices - 1 : 0);
  info->memorySizeMB = (unsigned long long)p.mem_mb;
  return sim_leave(NVML_SUCCESS);
}

#ifndef NVML_SIM_LEGACY
/* v2 or v3 by info->version (NVML 13 knows both). */
static nvmlReturn_t profile_v(const char *fn, nvmlDevice_t dev, unsigned key, int by_id, nvmlGpuInstanceProfileInfo_v2_t *info) {
  sim_gpu_t *g;
  sim_mig_t *m;
  nvmlReturn_t r = sim_enter_dev(fn, dev, &g, &m);
  if (r) return r;
  if (!info) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  unsigned version = info->version;
  if (version != nvmlGpuInstanceProfileInfo_v2 && version != nvmlGpuInstanceProfileInfo_v3)
    return sim_leave(NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
  profile_t p;
  if ((r = lookup_profile(g, m, key, by_id, &p))) return sim_leave(r);
  if (version == nvmlGpuInstanceProfileInfo_v2) {
    memset(info, 0, sizeof *info);
    info->version = version;
    info->id = p.id;
    info->sliceCount = (unsigned)p.slices;
    info->instanceCount = (unsigned)p.instances;
    info->multiprocessorCount = (unsigned)p.sms;
    info->memorySizeMB = (unsigned long long)p.mem_mb;
    snprintf(info->name, sizeof info->name, "%s", p.name);
  } else {
    nvmlGpuInstanceProfileInfo_v3_t *v3 = (nvmlGpuInstanceProfileInfo_v3_t *)info;
    memset(v3, 0, sizeof *v3);
    v3->version = version;
    v3->id = p.id;
    v3->sliceCount = (unsigned)p.slices;
    v3->instanceCount = (unsigned)p.instances;
    v3->multiprocessorCount = (unsigned)p.sms;
    v3->memorySizeMB = (unsigned long long)p.mem_mb;
    snprintf(v3->name, sizeof v3->name, "%s", p.name);
  }
  return sim_leave(NVML_SUCCESS);
}

SIM_API nvmlReturn_t nvmlDeviceGetGpuInstanceProfileInfoV(nvmlDevice_t dev, unsigned int profile, nvmlGpuInstanceProfileInfo_v2_t *info) {
  return profile_v(__func__, dev, profile, 0, info);
}
SIM_API nvmlReturn_t nvmlDeviceGetGpuInstanceProfileInfoByIdV(nvmlDevice_t dev, unsigned int profileId,
                                                              nvmlGpuInstanceProfileInfo_v2_t *info) {
  return profile_v(__func__, dev, profileId, 1, info);
}
#endif

#pragma GCC diagnostic error "-Wincompatible-pointer-types"
__attribute__((unused)) static const nvmlDeviceGetGpuInstanceById_fn chk_byid = nvmlDeviceGetGpuInstanceById;
__attribute__((unused)) static const nvmlGpuInstanceGetInfo_fn chk_info = nvmlGpuInstanceGetInfo;
__attribute__((unused)) static const nvmlDeviceGetGpuInstanceProfileInfo_fn chk_p1 = nvmlDeviceGetGpuInstanceProfileInfo;
#ifndef NVML_SIM_LEGACY
__attribute__((unused)) static const nvmlDeviceGetGpuInstanceProfileInfoV_fn chk_pv[] = {nvmlDeviceGetGpuInstanceProfileInfoV,
  nvmlDeviceGetGpuInstanceProfileInfoByIdV};
#endif
