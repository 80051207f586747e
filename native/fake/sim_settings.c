/*
 * sim_settings.c — the simulated NVML's configuration and identity calls: power-limit constraints,
 * P-state, temperature thresholds, BAR1, compute/persistence/ECC modes, application clocks, VBIOS
 * and inforom versions, brand, and vGPU licensing.
 */
#define _POSIX_C_SOURCE 200809L
#include <string.h>

#include "sim.h"

SIM_API nvmlReturn_t nvmlDeviceGetPowerManagementLimitConstraints(nvmlDevice_t dev, unsigned int *mn, unsigned int *mx) {
  DEV_ENTER(dev);
  if (!mn || !mx) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  unsigned int a, b;
  if ((r = sim_read_u32(g, m, R_POWER_LIMIT_MIN, &a)) || (r = sim_read_u32(g, m, R_POWER_LIMIT_MAX, &b))) return sim_leave(r);
  *mn = a;
  *mx = b;
  return sim_leave(NVML_SUCCESS);
}

/* A call that answers one reading through a 4-byte enum pointer. */
#define ENUM_READING(fn, key)                          \
  SIM_API nvmlReturn_t fn(nvmlDevice_t dev, int *out) { \
    DEV_ENTER(dev);                                    \
    if (!out) return sim_leave(NVML_ERROR_INVALID_ARGUMENT); \
    unsigned int v;                                    \
    if ((r = sim_read_u32(g, m, key, &v))) return sim_leave(r); \
    *out = (int)v;                                     \
    return sim_leave(NVML_SUCCESS);                    \
  }

ENUM_READING(nvmlDeviceGetPerformanceState, R_PSTATE)
ENUM_READING(nvmlDeviceGetComputeMode, R_COMPUTE_MODE)
ENUM_READING(nvmlDeviceGetPersistenceMode, R_PERSISTENCE_MODE)

SIM_API nvmlReturn_t nvmlDeviceGetTemperatureThreshold(nvmlDevice_t dev, int type, unsigned int *deg) {
  static const int keys[4] = {R_TEMP_SHUTDOWN, R_TEMP_SLOWDOWN, R_TEMP_MEM_MAX, R_TEMP_GPU_MAX};
  DEV_ENTER(dev);
  if (!deg || type < 0) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (type > NVML_TEMPERATURE_THRESHOLD_GPU_MAX) return sim_leave(NVML_ERROR_NOT_SUPPORTED); /* acoustic, GPS: none here */
  return sim_leave(sim_read_u32(g, m, keys[type], deg));
}

SIM_API nvmlReturn_t nvmlDeviceGetBAR1MemoryInfo(nvmlDevice_t dev, nvmlBAR1Memory_t *b) {
  DEV_ENTER(dev);
  if (!b) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  unsigned long long t, u, f;
  if ((r = sim_read_u64(g, m, R_BAR1_TOTAL, &t)) || (r = sim_read_u64(g, m, R_BAR1_USED, &u)) ||
      (r = sim_read_u64(g, m, R_BAR1_FREE, &f)))
    return sim_leave(r);
  b->bar1Total = t;
  b->bar1Used = u;
  b->bar1Free = f;
  return sim_leave(NVML_SUCCESS);
}

SIM_API nvmlReturn_t nvmlDeviceGetEccMode(nvmlDevice_t dev, unsigned int *cur, unsigned int *pending) {
  DEV_ENTER(dev);
  if (!cur || !pending) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  unsigned int a, b;
  if ((r = sim_read_u32(g, m, R_ECC_MODE_CURRENT, &a)) || (r = sim_read_u32(g, m, R_ECC_MODE_PENDING, &b))) return sim_leave(r);
  *cur = a ? NVML_FEATURE_ENABLED : NVML_FEATURE_DISABLED;
  *pending = b ? NVML_FEATURE_ENABLED : NVML_FEATURE_DISABLED;
  return sim_leave(NVML_SUCCESS);
}

/* Graphics and SM share the SM application clock. */
SIM_API nvmlReturn_t nvmlDeviceGetApplicationsClock(nvmlDevice_t dev, int type, unsigned int *mhz) {
  DEV_ENTER(dev);
  if (!mhz || type < 0 || type > NVML_CLOCK_VIDEO) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (type == NVML_CLOCK_VIDEO) return sim_leave(NVML_ERROR_NOT_SUPPORTED);
  return sim_leave(sim_read_u32(g, m, type == NVML_CLOCK_MEM ? R_APP_MEM_CLOCK : R_APP_SM_CLOCK, mhz));
}

static nvmlReturn_t str_call(const char *fn, nvmlDevice_t dev, int which, char *buf, unsigned int len) {
  sim_gpu_t *g;
  sim_mig_t *m;
  nvmlReturn_t r = sim_enter_dev(fn, dev, &g, &m);
  if (r) return r;
  if (!buf) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (m) return sim_leave(NVML_ERROR_NOT_SUPPORTED);
  const sim_str_t *x = which < 0 ? &g->vbios : which == 3 ? &g->inforom_image : &g->inforom[which];
  if (x->unsupported) return sim_leave(NVML_ERROR_NOT_SUPPORTED);
  return sim_leave(sim_copy_str(buf, len, x->text));
}

SIM_API nvmlReturn_t nvmlDeviceGetVbiosVersion(nvmlDevice_t dev, char *buf, unsigned int len) {
  return str_call(__func__, dev, -1, buf, len);
}
SIM_API nvmlReturn_t nvmlDeviceGetInforomImageVersion(nvmlDevice_t dev, char *buf, unsigned int len) {
  return str_call(__func__, dev, 3, buf, len);
}
SIM_API nvmlReturn_t nvmlDeviceGetInforomVersion(nvmlDevice_t dev, int object, char *buf, unsigned int len) {
  if (object < NVML_INFOROM_OEM || object > NVML_INFOROM_POWER) {
    sim_gpu_t *g;
    sim_mig_t *m;
    nvmlReturn_t r = sim_enter_dev(__func__, dev, &g, &m);
    return r ? r : sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  }
  return str_call(__func__, dev, object, buf, len);
}

SIM_API nvmlReturn_t nvmlDeviceGetBrand(nvmlDevice_t dev, int *brand) {
  DEV_ENTER(dev);
  if (!brand) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (m || g->brand < 0) return sim_leave(NVML_ERROR_NOT_SUPPORTED);
  *brand = g->brand;
  return sim_leave(NVML_SUCCESS);
}

/*
 * vGPU licensing. The reading vgpuLicenseStatus says what the GPU is: unset = bare metal (the call
 * succeeds, isGridLicenseSupported 0), a number = a vGPU whose vGPU feature is licensed (non-zero)
 * or not (0), unsupported = the call answers NOT_SUPPORTED. Entries are written with the stride of
 * the symbol called: 284 bytes for _v4, 268 for _v3 (no licenseExpiry).
 */
static nvmlReturn_t licensable(const char *fn, nvmlDevice_t dev, nvmlGridLicensableFeatures_t *f, size_t stride) {
  sim_gpu_t *g;
  sim_mig_t *m;
  nvmlReturn_t r = sim_enter_dev(fn, dev, &g, &m);
  if (r) return r;
  if (!f) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (m) return sim_leave(NVML_ERROR_NOT_SUPPORTED);
  const sim_value_t *v = &g->v[R_VGPU_LICENSE_STATUS];
  if (v->kind == V_UNSUPPORTED) return sim_leave(NVML_ERROR_NOT_SUPPORTED);
  f->isGridLicenseSupported = v->kind != V_UNSET;
  f->licensableFeaturesCount = 0;
  if (v->kind == V_UNSET) return sim_leave(NVML_SUCCESS);
  double d;
  sim_read(g, NULL, R_VGPU_LICENSE_STATUS, &d);
  unsigned char *base = (unsigned char *)f->gridLicensableFeatures;
  /* entry 0: a compute licence the product does not hold; entry 1: the vGPU feature */
  for (int i = 0; i < 2; i++) {
    nvmlGridLicensableFeature_t e;
    memset(&e, 0, sizeof e);
    e.featureCode = i == 0 ? 4 /* NVML_GRID_LICENSE_FEATURE_CODE_COMPUTE */ : NVML_GRID_LICENSE_FEATURE_CODE_VGPU;
    e.featureState = i == 0 ? 0 : d > 0;
    e.featureEnabled = i == 1;
    strcpy(e.productName, i == 0 ? "NVIDIA Virtual Compute Server" : "NVIDIA vGPU");
    memcpy(base + (size_t)i * stride, &e, stride);
  }
  f->licensableFeaturesCount = 2;
  return sim_leave(NVML_SUCCESS);
}

SIM_API nvmlReturn_t nvmlDeviceGetGridLicensableFeatures_v4(nvmlDevice_t dev, nvmlGridLicensableFeatures_t *f) {
  return licensable(__func__, dev, f, NVML_GRID_LICENSABLE_FEATURE_V4_SIZE);
}
SIM_API nvmlReturn_t nvmlDeviceGetGridLicensableFeatures_v3(nvmlDevice_t dev, nvmlGridLicensableFeatures_t *f) {
  return licensable(__func__, dev, f, NVML_GRID_LICENSABLE_FEATURE_V3_SIZE);
}

#pragma GCC diagnostic error "-Wincompatible-pointer-types"
__attribute__((unused)) static const nvmlDeviceGetUIntPair_fn chk_pair[] = {nvmlDeviceGetPowerManagementLimitConstraints,
  nvmlDeviceGetEccMode};
__attribute__((unused)) static const nvmlDeviceGetIntOut_fn chk_enum[] = {nvmlDeviceGetPerformanceState, nvmlDeviceGetComputeMode,
  nvmlDeviceGetPersistenceMode, nvmlDeviceGetBrand};
__attribute__((unused)) static const nvmlDeviceGetTemperatureThreshold_fn chk_th = nvmlDeviceGetTemperatureThreshold;
__attribute__((unused)) static const nvmlDeviceGetBAR1MemoryInfo_fn chk_bar1 = nvmlDeviceGetBAR1MemoryInfo;
__attribute__((unused)) static const nvmlDeviceGetClockInfo_fn chk_app = nvmlDeviceGetApplicationsClock;
__attribute__((unused)) static const nvmlDeviceGetString_fn chk_str[] = {nvmlDeviceGetVbiosVersion, nvmlDeviceGetInforomImageVersion};
__attribute__((unused)) static const nvmlDeviceGetInforomVersion_fn chk_ir = nvmlDeviceGetInforomVersion;
__attribute__((unused)) static const nvmlDeviceGetGridLicensableFeatures_fn chk_lic[] = {nvmlDeviceGetGridLicensableFeatures_v4,
  nvmlDeviceGetGridLicensableFeatures_v3};
