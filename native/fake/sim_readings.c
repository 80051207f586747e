/*
 * sim_readings.c — the per-device reading calls of the simulated NVML.
 */
#define _POSIX_C_SOURCE 200809L
#include <string.h>

#include "sim.h"

/* A call that reads one unsigned int reading. */
#define UINT_READING(fn, key)                                   \
  SIM_API nvmlReturn_t fn(nvmlDevice_t dev, unsigned int *out) { \
    DEV_ENTER(dev);                                             \
    if (!out) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);    \
    return sim_leave(sim_read_u32(g, m, key, out));             \
  }

#define ULL_READING(fn, key)                                          \
  SIM_API nvmlReturn_t fn(nvmlDevice_t dev, unsigned long long *out) { \
    DEV_ENTER(dev);                                                   \
    if (!out) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);          \
    return sim_leave(sim_read_u64(g, m, key, out));                   \
  }

UINT_READING(nvmlDeviceGetPowerUsage, R_POWER_USAGE)
UINT_READING(nvmlDeviceGetEnforcedPowerLimit, R_POWER_LIMIT)
UINT_READING(nvmlDeviceGetPowerManagementLimit, R_POWER_MGMT_LIMIT)
UINT_READING(nvmlDeviceGetPowerManagementDefaultLimit, R_POWER_LIMIT_DEFAULT)
UINT_READING(nvmlDeviceGetCurrPcieLinkGeneration, R_PCIE_LINK_GEN)
UINT_READING(nvmlDeviceGetMaxPcieLinkGeneration, R_PCIE_LINK_GEN_MAX)
UINT_READING(nvmlDeviceGetCurrPcieLinkWidth, R_PCIE_LINK_WIDTH)
UINT_READING(nvmlDeviceGetMaxPcieLinkWidth, R_PCIE_LINK_WIDTH_MAX)
UINT_READING(nvmlDeviceGetPcieReplayCounter, R_PCIE_REPLAY)
UINT_READING(nvmlDeviceGetFanSpeed, R_FAN_SPEED)
ULL_READING(nvmlDeviceGetTotalEnergyConsumption, R_ENERGY)
ULL_READING(nvmlDeviceGetCurrentClocksThrottleReasons, R_CLOCK_EVENT_REASONS)
#ifndef NVML_SIM_LEGACY
ULL_READING(nvmlDeviceGetCurrentClocksEventReasons, R_CLOCK_EVENT_REASONS)
#endif

SIM_API nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t dev, nvmlUtilization_t *u) {
  DEV_ENTER(dev);
  if (!u) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  unsigned int gpu, mem;
  if ((r = sim_read_u32(g, m, R_GPU_UTIL, &gpu)) || (r = sim_read_u32(g, m, R_MEM_UTIL, &mem))) return sim_leave(r);
  u->gpu = gpu;
  u->memory = mem;
  return sim_leave(NVML_SUCCESS);
}

static nvmlReturn_t memory(const sim_gpu_t *g, const sim_mig_t *m, unsigned long long *t, unsigned long long *res,
                           unsigned long long *f, unsigned long long *u) {
  nvmlReturn_t r;
  /* With MIG enabled the parent answers "aggregate information, only if the caller has
   * appropriate privileges": in a container, NVIDIA_MIG_MONITOR_DEVICES=all. */
  if (!m && sim_mig_enabled(g) && !sim_mig_monitor_allowed()) return NVML_ERROR_NO_PERMISSION;
  if ((r = sim_read_u64(g, m, R_MEM_TOTAL, t)) || (r = sim_read_u64(g, m, R_MEM_RESERVED, res)) ||
      (r = sim_read_u64(g, m, R_MEM_FREE, f)) || (r = sim_read_u64(g, m, R_MEM_USED, u)))
    return r;
  return NVML_SUCCESS;
}

/* v1: used includes the driver-reserved memory. On a MIG handle: the instance's memory. */
SIM_API nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t dev, nvmlMemory_t *mem) {
  DEV_ENTER(dev);
  if (!mem) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  unsigned long long t, res, f, u;
  if ((r = memory(g, m, &t, &res, &f, &u))) return sim_leave(r);
  mem->total = t;
  mem->free = f;
  mem->used = u + res;
  return sim_leave(NVML_SUCCESS);
}

#ifndef NVML_SIM_LEGACY
SIM_API nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t dev, nvmlMemory_v2_t *mem) {
  DEV_ENTER(dev);
  if (!mem) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (mem->version != nvmlMemory_v2) return sim_leave(NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
  unsigned long long t, res, f, u;
  if ((r = memory(g, m, &t, &res, &f, &u))) return sim_leave(r);
  mem->total = t;
  mem->reserved = res;
  mem->free = f;
  mem->used = u;
  return sim_leave(NVML_SUCCESS);
}
#endif

SIM_API nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t dev, int sensor, unsigned int *deg) {
  DEV_ENTER(dev);
  if (!deg || sensor != NVML_TEMPERATURE_GPU) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  return sim_leave(sim_read_u32(g, m, R_GPU_TEMP, deg));
}

#ifndef NVML_SIM_LEGACY
SIM_API nvmlReturn_t nvmlDeviceGetTemperatureV(nvmlDevice_t dev, nvmlTemperature_t *t) {
  DEV_ENTER(dev);
  if (!t) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if (t->version != nvmlTemperature_v1) return sim_leave(NVML_ERROR_ARGUMENT_VERSION_MISMATCH);
  if (t->sensorType != NVML_TEMPERATURE_GPU) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  double d;
  if ((r = sim_read(g, m, R_GPU_TEMP, &d))) return sim_leave(r);
  t->temperature = (int)(d < 0 ? d - 0.5 : d + 0.5);
  return sim_leave(NVML_SUCCESS);
}
#endif

static const int clock_keys[4] = {R_GRAPHICS_CLOCK, R_SM_CLOCK, R_MEM_CLOCK, R_VIDEO_CLOCK};

SIM_API nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t dev, int type, unsigned int *mhz) {
  DEV_ENTER(dev);
  if (!mhz || type < 0 || type > NVML_CLOCK_VIDEO) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  return sim_leave(sim_read_u32(g, m, clock_keys[type], mhz));
}

/* Graphics and SM share the max SM clock; memory and video have their own. */
SIM_API nvmlReturn_t nvmlDeviceGetMaxClockInfo(nvmlDevice_t dev, int type, unsigned int *mhz) {
  DEV_ENTER(dev);
  if (!mhz || type < 0 || type > NVML_CLOCK_VIDEO) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  int k = type == NVML_CLOCK_MEM ? R_MAX_MEM_CLOCK : type == NVML_CLOCK_VIDEO ? R_MAX_VIDEO_CLOCK : R_MAX_SM_CLOCK;
  return sim_leave(sim_read_u32(g, m, k, mhz));
}

static nvmlReturn_t coder(const char *fn, nvmlDevice_t dev, int key, unsigned int *pct, unsigned int *period) {
  sim_gpu_t *g;
  sim_mig_t *m;
  nvmlReturn_t r = sim_enter_dev(fn, dev, &g, &m);
  if (r) return r;
  if (!pct || !period) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  if ((r = sim_read_u32(g, m, key, pct))) return sim_leave(r);
  *period = 167000; /* µs */
  return sim_leave(NVML_SUCCESS);
}
SIM_API nvmlReturn_t nvmlDeviceGetEncoderUtilization(nvmlDevice_t d, unsigned int *p, unsigned int *us) {
  return coder(__func__, d, R_ENC_UTIL, p, us);
}
SIM_API nvmlReturn_t nvmlDeviceGetDecoderUtilization(nvmlDevice_t d, unsigned int *p, unsigned int *us) {
  return coder(__func__, d, R_DEC_UTIL, p, us);
}

/* Like the real call, this one samples for 20 ms before it answers (without holding the lock). */
SIM_API nvmlReturn_t nvmlDeviceGetPcieThroughput(nvmlDevice_t dev, int counter, unsigned int *kbps) {
  DEV_ENTER(dev);
  if (!kbps || counter < NVML_PCIE_UTIL_TX_BYTES || counter > NVML_PCIE_UTIL_RX_BYTES)
    return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  int gi = sim_gpu_index(g), slot = m ? (int)(m - g->mig) : -1;
  sim_unlock();
  sim_sleep_ms(20);
  sim_lock();
  if (gi >= sim_sc->ngpus || (slot >= 0 && slot >= sim_sc->gpu[gi].nmig)) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  g = &sim_sc->gpu[gi];
  m = slot >= 0 ? &g->mig[slot] : NULL;
  if (g->lost) return sim_leave(g->lost);
  return sim_leave(sim_read_u32(g, m, counter == NVML_PCIE_UTIL_TX_BYTES ? R_PCIE_TX : R_PCIE_RX, kbps));
}

SIM_API nvmlReturn_t nvmlDeviceGetViolationStatus(nvmlDevice_t dev, int policy, nvmlViolationTime_t *t) {
  static const int keys[] = {R_VIOL_POWER, R_VIOL_THERMAL, R_VIOL_SYNC_BOOST,
                             R_VIOL_BOARD_LIMIT, R_VIOL_LOW_UTIL, R_VIOL_RELIABILITY};
  DEV_ENTER(dev);
  if (!t || policy < 0 || policy > NVML_PERF_POLICY_RELIABILITY) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  unsigned long long ns;
  if ((r = sim_read_u64(g, m, keys[policy], &ns))) return sim_leave(r);
  t->referenceTime = (unsigned long long)(sim_now_s() * 1e6);
  t->violationTime = ns;
  return sim_leave(NVML_SUCCESS);
}

SIM_API nvmlReturn_t nvmlDeviceGetTotalEccErrors(nvmlDevice_t dev, int type, int counter, unsigned long long *n) {
  DEV_ENTER(dev);
  if (!n || type < 0 || type > 1 || counter < 0 || counter > 1) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  static const int keys[2][2] = {{R_ECC_SBE_VOL, R_ECC_SBE_AGG}, {R_ECC_DBE_VOL, R_ECC_DBE_AGG}};
  return sim_leave(sim_read_u64(g, m, keys[type][counter], n));
}

/* Sizing protocol: *count too small → INSUFFICIENT_SIZE with the needed count in *count. */
SIM_API nvmlReturn_t nvmlDeviceGetRetiredPages(nvmlDevice_t dev, int cause, unsigned int *count,
                                               unsigned long long *addrs) {
  DEV_ENTER(dev);
  if (!count || cause < 0 || cause > 1) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  unsigned int need;
  if ((r = sim_read_u32(g, m, cause ? R_RETIRED_DBE : R_RETIRED_SBE, &need))) return sim_leave(r);
  if (*count < need) {
    *count = need;
    return sim_leave(NVML_ERROR_INSUFFICIENT_SIZE);
  }
  if (need && !addrs) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  for (unsigned int i = 0; i < need; i++) /* deterministic, page-aligned addresses */
    addrs[i] = 0x100000000ULL * (unsigned)(cause + 1) + 0x1000ULL * (i + 1);
  *count = need;
  return sim_leave(NVML_SUCCESS);
}

SIM_API nvmlReturn_t nvmlDeviceGetRemappedRows(nvmlDevice_t dev, unsigned int *cor, unsigned int *unc,
                                               unsigned int *pending, unsigned int *failure) {
  DEV_ENTER(dev);
  if (!cor || !unc || !pending || !failure) return sim_leave(NVML_ERROR_INVALID_ARGUMENT);
  unsigned int v[4];
  if ((r = sim_read_u32(g, m, R_REMAP_COR, &v[0])) || (r = sim_read_u32(g, m, R_REMAP_UNC, &v[1])) ||
      (r = sim_read_u32(g, m, R_REMAP_PENDING, &v[2])) || (r = sim_read_u32(g, m, R_REMAP_FAILURE, &v[3])))
    return sim_leave(r);
  *cor = v[0];
  *unc = v[1];
  *pending = v[2] ? 1 : 0;
  *failure = v[3] ? 1 : 0;
  return sim_leave(NVML_SUCCESS);
}

#pragma GCC diagnostic error "-Wincompatible-pointer-types"
__attribute__((unused)) static const nvmlDeviceGetUInt_fn chk_u[] = {nvmlDeviceGetPowerUsage, nvmlDeviceGetEnforcedPowerLimit,
  nvmlDeviceGetPowerManagementLimit, nvmlDeviceGetPcieReplayCounter, nvmlDeviceGetFanSpeed};
__attribute__((unused)) static const nvmlDeviceGetULL_fn chk_ull[] = {nvmlDeviceGetTotalEnergyConsumption,
  nvmlDeviceGetCurrentClocksThrottleReasons};
__attribute__((unused)) static const nvmlDeviceGetUtilizationRates_fn chk_util = nvmlDeviceGetUtilizationRates;
__attribute__((unused)) static const nvmlDeviceGetMemoryInfo_fn chk_mem = nvmlDeviceGetMemoryInfo;
__attribute__((unused)) static const nvmlDeviceGetTemperature_fn chk_temp = nvmlDeviceGetTemperature;
__attribute__((unused)) static const nvmlDeviceGetClockInfo_fn chk_clk[] = {nvmlDeviceGetClockInfo, nvmlDeviceGetMaxClockInfo};
__attribute__((unused)) static const nvmlDeviceGetUtilSampled_fn chk_cod[] = {nvmlDeviceGetEncoderUtilization, nvmlDeviceGetDecoderUtilization};
__attribute__((unused)) static const nvmlDeviceGetPcieThroughput_fn chk_pcie = nvmlDeviceGetPcieThroughput;
__attribute__((unused)) static const nvmlDeviceGetViolationStatus_fn chk_viol = nvmlDeviceGetViolationStatus;
__attribute__((unused)) static const nvmlDeviceGetTotalEccErrors_fn chk_ecc = nvmlDeviceGetTotalEccErrors;
__attribute__((unused)) static const nvmlDeviceGetRetiredPages_fn chk_ret = nvmlDeviceGetRetiredPages;
__attribute__((unused)) static const nvmlDeviceGetRemappedRows_fn chk_rem = nvmlDeviceGetRemappedRows;
#ifndef NVML_SIM_LEGACY
__attribute__((unused)) static const nvmlDeviceGetULL_fn chk_ev = nvmlDeviceGetCurrentClocksEventReasons;
__attribute__((unused)) static const nvmlDeviceGetMemoryInfo_v2_fn chk_mem2 = nvmlDeviceGetMemoryInfo_v2;
__attribute__((unused)) static const nvmlDeviceGetTemperatureV_fn chk_tv = nvmlDeviceGetTemperatureV;
#endif
