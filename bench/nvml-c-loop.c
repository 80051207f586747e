/*
 * nvml-c-loop.c — the floor for `npm run bench:nvml`: the same NVML calls per sweep as the addon's
 * sweep (native/sweep.cc, device_reads.cc: keep the two in step), made from a plain C loop with no
 * Node, no threads and no JS objects. Under the simulated library's latency model (a scenario with
 * `latency published`) each call costs what the published figures say, for both.
 *
 *   nvml-c-loop <library.so> <sweeps>      (the scenario comes from NVML_SIM_SCENARIO)
 *   nvml-c-loop --round-trip <n>
 *
 * Prints `gpus <n>`, `us_per_sweep <x>` and `calls_per_sweep <x>` (NVML calls per sweep); with --round-trip, `us_per_round_trip <x>`: one
 * request handed to a sleeping thread and its answer handed back (condition variables), the
 * least that any design keeping NVML calls off the JS thread pays per sweep on this machine.
 */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nvml_abi.h"

#define SYM(type, name) type name = (type)dlsym(lib, #name)

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static pthread_mutex_t rt_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rt_cond = PTHREAD_COND_INITIALIZER;
static int rt_turn = 0; /* 1: the request is with the other thread; 0: the answer is back */
static int rt_n = 0;

static void *rt_peer(void *arg) {
  (void)arg;
  for (int i = 0; i < rt_n; i++) {
    pthread_mutex_lock(&rt_lock);
    while (rt_turn != 1) pthread_cond_wait(&rt_cond, &rt_lock);
    rt_turn = 0;
    pthread_cond_broadcast(&rt_cond);
    pthread_mutex_unlock(&rt_lock);
  }
  return NULL;
}

static int round_trip(int n) {
  pthread_t t;
  rt_n = n;
  if (pthread_create(&t, NULL, rt_peer, NULL) != 0) return 1;
  double t0 = now_us();
  for (int i = 0; i < n; i++) {
    pthread_mutex_lock(&rt_lock);
    rt_turn = 1;
    pthread_cond_broadcast(&rt_cond);
    while (rt_turn != 0) pthread_cond_wait(&rt_cond, &rt_lock);
    pthread_mutex_unlock(&rt_lock);
  }
  double t1 = now_us();
  pthread_join(t, NULL);
  printf("us_per_round_trip %.3f\n", (t1 - t0) / n);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--round-trip") == 0) return round_trip(atoi(argv[2]));
  if (argc != 3) {
    fprintf(stderr, "usage: %s <libnvidia-ml.so> <sweeps> | --round-trip <n>\n", argv[0]);
    return 2;
  }
  void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  int sweeps = atoi(argv[2]);
  SYM(nvmlInit_fn, nvmlInit_v2);
  SYM(nvmlShutdown_fn, nvmlShutdown);
  SYM(nvmlSystemGetString_fn, nvmlSystemGetDriverVersion);
  SYM(nvmlSystemGetString_fn, nvmlSystemGetNVMLVersion);
  SYM(nvmlSystemGetCudaDriverVersion_fn, nvmlSystemGetCudaDriverVersion_v2);
  SYM(nvmlDeviceGetCount_fn, nvmlDeviceGetCount_v2);
  SYM(nvmlDeviceGetHandleByIndex_fn, nvmlDeviceGetHandleByIndex_v2);
  SYM(nvmlDeviceGetMigMode_fn, nvmlDeviceGetMigMode);
  SYM(nvmlDeviceGetUtilizationRates_fn, nvmlDeviceGetUtilizationRates);
  SYM(nvmlDeviceGetMemoryInfo_v2_fn, nvmlDeviceGetMemoryInfo_v2);
  SYM(nvmlDeviceGetUInt_fn, nvmlDeviceGetPowerUsage);
  SYM(nvmlDeviceGetUInt_fn, nvmlDeviceGetEnforcedPowerLimit);
  SYM(nvmlDeviceGetULL_fn, nvmlDeviceGetTotalEnergyConsumption);
  SYM(nvmlDeviceGetTemperatureV_fn, nvmlDeviceGetTemperatureV);
  SYM(nvmlDeviceGetFieldValues_fn, nvmlDeviceGetFieldValues);
  SYM(nvmlDeviceGetClockInfo_fn, nvmlDeviceGetClockInfo);
  SYM(nvmlDeviceGetClockInfo_fn, nvmlDeviceGetMaxClockInfo);
  SYM(nvmlDeviceGetUtilSampled_fn, nvmlDeviceGetEncoderUtilization);
  SYM(nvmlDeviceGetUtilSampled_fn, nvmlDeviceGetDecoderUtilization);
  SYM(nvmlDeviceGetUInt_fn, nvmlDeviceGetPcieReplayCounter);
  SYM(nvmlDeviceGetULL_fn, nvmlDeviceGetCurrentClocksEventReasons);
  SYM(nvmlDeviceGetTotalEccErrors_fn, nvmlDeviceGetTotalEccErrors);
  SYM(nvmlDeviceGetRetiredPages_fn, nvmlDeviceGetRetiredPages);
  SYM(nvmlDeviceGetRemappedRows_fn, nvmlDeviceGetRemappedRows);
  SYM(nvmlDeviceGetUInt_fn, nvmlDeviceGetFanSpeed);
  SYM(nvmlDeviceGetUIntPair_fn, nvmlDeviceGetPowerManagementLimitConstraints);
  SYM(nvmlDeviceGetUInt_fn, nvmlDeviceGetPowerManagementDefaultLimit);
  SYM(nvmlDeviceGetUInt_fn, nvmlDeviceGetPowerManagementLimit);
  SYM(nvmlDeviceGetIntOut_fn, nvmlDeviceGetPerformanceState);
  SYM(nvmlDeviceGetUInt_fn, nvmlDeviceGetCurrPcieLinkGeneration);
  SYM(nvmlDeviceGetUInt_fn, nvmlDeviceGetMaxPcieLinkGeneration);
  SYM(nvmlDeviceGetUInt_fn, nvmlDeviceGetCurrPcieLinkWidth);
  SYM(nvmlDeviceGetUInt_fn, nvmlDeviceGetMaxPcieLinkWidth);
  SYM(nvmlDeviceGetTemperatureThreshold_fn, nvmlDeviceGetTemperatureThreshold);
  SYM(nvmlDeviceGetBAR1MemoryInfo_fn, nvmlDeviceGetBAR1MemoryInfo);
  SYM(nvmlDeviceGetIntOut_fn, nvmlDeviceGetComputeMode);
  SYM(nvmlDeviceGetIntOut_fn, nvmlDeviceGetPersistenceMode);
  SYM(nvmlDeviceGetUIntPair_fn, nvmlDeviceGetEccMode);
  SYM(nvmlDeviceGetClockInfo_fn, nvmlDeviceGetApplicationsClock);
  SYM(nvmlDeviceGetGridLicensableFeatures_fn, nvmlDeviceGetGridLicensableFeatures_v4);
  if (!nvmlInit_v2 || !nvmlDeviceGetCount_v2 || !nvmlDeviceGetFieldValues || !nvmlDeviceGetTemperatureV ||
      !nvmlDeviceGetMemoryInfo_v2 || !nvmlDeviceGetCurrentClocksEventReasons || !nvmlDeviceGetGridLicensableFeatures_v4 ||
      !nvmlDeviceGetPowerManagementLimitConstraints || !nvmlDeviceGetBAR1MemoryInfo) {
    fprintf(stderr, "the library lacks a symbol this loop needs (use the current, not the legacy, build)\n");
    return 1;
  }
  nvmlReturn_t rc = nvmlInit_v2();
  if (rc) {
    fprintf(stderr, "nvmlInit_v2: %d\n", rc);
    return 1;
  }
  unsigned count = 0;
  nvmlDeviceGetCount_v2(&count);
  nvmlDevice_t dev[64];
  if (count > 64) count = 64;
  for (unsigned i = 0; i < count; i++) nvmlDeviceGetHandleByIndex_v2(i, &dev[i]);

  volatile double sink = 0; /* keep the reads alive */
  unsigned long long calls = 0; /* NVML calls made in the timed loop */
#define CALL(f) (calls++, f)
  double t0 = now_us();
  for (int s = 0; s < sweeps; s++) {
    char buf[80];
    int cuda = 0;
    CALL(nvmlSystemGetDriverVersion)(buf, sizeof buf);
    CALL(nvmlSystemGetNVMLVersion)(buf, sizeof buf);
    CALL(nvmlSystemGetCudaDriverVersion_v2)(&cuda);
    unsigned n = 0;
    CALL(nvmlDeviceGetCount_v2)(&n);
    for (unsigned i = 0; i < count; i++) {
      nvmlDevice_t h = dev[i];
      unsigned u = 0, u2 = 0, u3 = 0, u4 = 0;
      unsigned long long ull = 0;
      CALL(nvmlDeviceGetMigMode)(h, &u, &u2);
      nvmlUtilization_t util;
      CALL(nvmlDeviceGetUtilizationRates)(h, &util);
      nvmlMemory_v2_t mem = {0};
      mem.version = nvmlMemory_v2;
      CALL(nvmlDeviceGetMemoryInfo_v2)(h, &mem);
      CALL(nvmlDeviceGetPowerUsage)(h, &u);
      CALL(nvmlDeviceGetEnforcedPowerLimit)(h, &u);
      CALL(nvmlDeviceGetTotalEnergyConsumption)(h, &ull);
      nvmlTemperature_t temp = {nvmlTemperature_v1, NVML_TEMPERATURE_GPU, 0};
      CALL(nvmlDeviceGetTemperatureV)(h, &temp);
      /* memory temperature, retired pending, link count, NVLink TX/RX over all links, violations 74-79 */
      nvmlFieldValue_t f[11];
      memset(f, 0, sizeof f);
      f[0].fieldId = NVML_FI_DEV_MEMORY_TEMP;
      f[1].fieldId = NVML_FI_DEV_RETIRED_PENDING;
      f[2].fieldId = NVML_FI_DEV_NVLINK_LINK_COUNT;
      f[3].fieldId = NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_TX;
      f[3].scopeId = NVML_NVLINK_SCOPE_ALL_LINKS;
      f[4].fieldId = NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_RX;
      f[4].scopeId = NVML_NVLINK_SCOPE_ALL_LINKS;
      for (int p = 0; p < 6; p++) f[5 + p].fieldId = NVML_FI_DEV_PERF_POLICY_POWER + p;
      CALL(nvmlDeviceGetFieldValues)(h, 11, f);
      for (int p = 0; p < 6; p++) sink += (double)f[5 + p].value.ullVal;
      unsigned links = f[2].nvmlReturn == NVML_SUCCESS ? f[2].value.uiVal : 0;
      if (links > 64) links = 64;
      if (f[3].nvmlReturn == NVML_SUCCESS && f[4].nvmlReturn == NVML_SUCCESS) {
        sink += (double)(f[3].value.ullVal + f[4].value.ullVal);
        links = 0; /* the all-links scope answered: no per-link call */
      }
      if (links > 0) {
        nvmlFieldValue_t lf[128];
        memset(lf, 0, sizeof lf);
        for (unsigned l = 0; l < links; l++) {
          lf[2 * l].fieldId = NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_TX;
          lf[2 * l].scopeId = l;
          lf[2 * l + 1].fieldId = NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_RX;
          lf[2 * l + 1].scopeId = l;
        }
        CALL(nvmlDeviceGetFieldValues)(h, (int)(2 * links), lf);
        for (unsigned l = 0; l < 2 * links; l++) sink += (double)lf[l].value.ullVal;
      }
      CALL(nvmlDeviceGetClockInfo)(h, NVML_CLOCK_SM, &u);
      CALL(nvmlDeviceGetClockInfo)(h, NVML_CLOCK_MEM, &u);
      CALL(nvmlDeviceGetClockInfo)(h, NVML_CLOCK_GRAPHICS, &u);
      CALL(nvmlDeviceGetClockInfo)(h, NVML_CLOCK_VIDEO, &u);
      CALL(nvmlDeviceGetMaxClockInfo)(h, NVML_CLOCK_SM, &u);
      CALL(nvmlDeviceGetMaxClockInfo)(h, NVML_CLOCK_MEM, &u);
      CALL(nvmlDeviceGetEncoderUtilization)(h, &u, &u2);
      CALL(nvmlDeviceGetDecoderUtilization)(h, &u, &u2);
      CALL(nvmlDeviceGetPcieReplayCounter)(h, &u);
      CALL(nvmlDeviceGetCurrentClocksEventReasons)(h, &ull);
      CALL(nvmlDeviceGetTotalEccErrors)(h, NVML_MEMORY_ERROR_TYPE_CORRECTED, NVML_VOLATILE_ECC, &ull);
      CALL(nvmlDeviceGetTotalEccErrors)(h, NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC, &ull);
      CALL(nvmlDeviceGetTotalEccErrors)(h, NVML_MEMORY_ERROR_TYPE_CORRECTED, NVML_AGGREGATE_ECC, &ull);
      CALL(nvmlDeviceGetTotalEccErrors)(h, NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_AGGREGATE_ECC, &ull);
      u = 0;
      CALL(nvmlDeviceGetRetiredPages)(h, NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS, &u, NULL);
      u = 0;
      CALL(nvmlDeviceGetRetiredPages)(h, NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR, &u, NULL);
      CALL(nvmlDeviceGetRemappedRows)(h, &u, &u2, &u3, &u4);
      CALL(nvmlDeviceGetFanSpeed)(h, &u);
      /* the settings group */
      CALL(nvmlDeviceGetPowerManagementLimitConstraints)(h, &u, &u2);
      CALL(nvmlDeviceGetPowerManagementDefaultLimit)(h, &u);
      CALL(nvmlDeviceGetPowerManagementLimit)(h, &u);
      int e = 0;
      CALL(nvmlDeviceGetPerformanceState)(h, &e);
      CALL(nvmlDeviceGetCurrPcieLinkGeneration)(h, &u);
      CALL(nvmlDeviceGetMaxPcieLinkGeneration)(h, &u);
      CALL(nvmlDeviceGetCurrPcieLinkWidth)(h, &u);
      CALL(nvmlDeviceGetMaxPcieLinkWidth)(h, &u);
      for (int th = 0; th < 4; th++) CALL(nvmlDeviceGetTemperatureThreshold)(h, th, &u);
      nvmlBAR1Memory_t bar1;
      CALL(nvmlDeviceGetBAR1MemoryInfo)(h, &bar1);
      CALL(nvmlDeviceGetComputeMode)(h, &e);
      CALL(nvmlDeviceGetPersistenceMode)(h, &e);
      CALL(nvmlDeviceGetEccMode)(h, &u, &u2);
      CALL(nvmlDeviceGetApplicationsClock)(h, NVML_CLOCK_SM, &u);
      CALL(nvmlDeviceGetApplicationsClock)(h, NVML_CLOCK_MEM, &u);
      CALL(nvmlDeviceGetMaxClockInfo)(h, NVML_CLOCK_VIDEO, &u);
      nvmlGridLicensableFeatures_t lic;
      memset(&lic, 0, sizeof lic);
      CALL(nvmlDeviceGetGridLicensableFeatures_v4)(h, &lic);
      sink += util.gpu + (double)mem.used + temp.temperature + (double)ull + u + e + (double)bar1.bar1Free + lic.isGridLicenseSupported;
    }
  }
  double t1 = now_us();
  nvmlShutdown();
  printf("gpus %u\nus_per_sweep %.3f\ncalls_per_sweep %.1f\n", count, (t1 - t0) / sweeps, (double)calls / sweeps);
  (void)sink;
  return 0;
}
