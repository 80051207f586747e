/*
 * gpm_abi.h — our declarations of NVML's GPU Performance Monitoring (GPM) ABI: the opaque sample,
 * the support query, the metrics-get struct and the metric ids nvml-exporter reads. Written from the
 * documented facts (../shared/reference/nvml-audit.md §5); shared by the addon (native/gpm.cc) and
 * the simulated library (native/fake/sim_gpm.c), so both agree on every layout.
 *
 * GPM exists for Hopper and newer GPUs (NVML 11.8 / R520 and later; nvmlGpmMigSampleGet since 12.0
 * / R525). A library without these symbols has no GPM: the addon treats that as "not supported".
 *
 * The metrics-get struct's `metrics[]` array has NVML_GPM_METRIC_MAX entries, and that constant grew
 * between headers (98 in 11.8–12.8, 210 in 12.9–13.1, 333 from 13.2). The struct's version is the
 * plain number 1 in all of them, so neither the version nor the size says which length a driver was
 * built with. The entries' layout and the header before them never changed: the addon passes a
 * buffer sized for the longest known array and never asks for more entries (numMetrics) than the
 * shortest one holds (NVX_GPM_METRICS_PER_CALL), so every driver reads and writes inside it.
 *
 * Usable from C11 and C++17.
 */
#ifndef NVML_EXPORTER_GPM_ABI_H
#define NVML_EXPORTER_GPM_ABI_H

#include "nvml_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct nvmlGpmSample_st *nvmlGpmSample_t;

/* One metric of a metrics-get call: metricId in; nvmlReturn, value and metricInfo out. */
typedef struct {
  unsigned int metricId;
  nvmlReturn_t nvmlReturn;
  double value;
  struct {
    char *shortName; /* owned by NVML; may be NULL */
    char *longName;
    char *unit;
  } metricInfo;
} nvmlGpmMetric_t;

/* The fixed head of nvmlGpmMetricsGet_t; `metrics[]` follows at offset 24. */
typedef struct {
  unsigned int version; /* NVML_GPM_METRICS_GET_VERSION */
  unsigned int numMetrics;
  nvmlGpmSample_t sample1; /* the earlier sample */
  nvmlGpmSample_t sample2; /* the later one */
} nvmlGpmMetricsGetHead_t;

#define NVML_GPM_METRICS_GET_VERSION 1
#define NVML_GPM_SUPPORT_VERSION 1
/* The longest metrics[] of any known header (13.2+), and the shortest (11.8–12.8). */
#define NVX_GPM_METRIC_MAX_KNOWN 333
#define NVX_GPM_METRICS_PER_CALL 98

typedef struct {
  nvmlGpmMetricsGetHead_t head;
  nvmlGpmMetric_t metrics[NVX_GPM_METRIC_MAX_KNOWN];
} nvmlGpmMetricsGet_t;

typedef struct {
  unsigned int version; /* NVML_GPM_SUPPORT_VERSION */
  unsigned int isSupportedDevice;
} nvmlGpmSupport_t;

NVX_STATIC_ASSERT(sizeof(nvmlGpmMetric_t) == 40, "nvmlGpmMetric_t is 40 bytes");
NVX_STATIC_ASSERT(offsetof(nvmlGpmMetric_t, value) == 8, "nvmlGpmMetric_t.value at 8");
NVX_STATIC_ASSERT(offsetof(nvmlGpmMetric_t, metricInfo) == 16, "nvmlGpmMetric_t.metricInfo at 16");
NVX_STATIC_ASSERT(sizeof(nvmlGpmMetricsGetHead_t) == 24, "the metrics-get head is 24 bytes");
NVX_STATIC_ASSERT(offsetof(nvmlGpmMetricsGet_t, metrics) == 24, "metrics[] at 24");
NVX_STATIC_ASSERT(sizeof(nvmlGpmMetricsGet_t) == 13344, "13,344 bytes, as with the 13.3 header");
NVX_STATIC_ASSERT(sizeof(nvmlGpmSupport_t) == 8, "nvmlGpmSupport_t is 8 bytes");

/* Metric ids (nvmlGpmMetricId_t). Percent metrics are 0.0–100.0, *_PER_SEC metrics MiB/s, the
 * cumulative ones (248+) counters since boot. */
enum {
  NVML_GPM_METRIC_GRAPHICS_UTIL = 1,
  NVML_GPM_METRIC_SM_UTIL = 2,
  NVML_GPM_METRIC_SM_OCCUPANCY = 3,
  NVML_GPM_METRIC_INTEGER_UTIL = 4,
  NVML_GPM_METRIC_ANY_TENSOR_UTIL = 5,
  NVML_GPM_METRIC_DFMA_TENSOR_UTIL = 6,
  NVML_GPM_METRIC_HMMA_TENSOR_UTIL = 7,
  NVML_GPM_METRIC_IMMA_TENSOR_UTIL = 9,
  NVML_GPM_METRIC_DRAM_BW_UTIL = 10,
  NVML_GPM_METRIC_FP64_UTIL = 11,
  NVML_GPM_METRIC_FP32_UTIL = 12,
  NVML_GPM_METRIC_FP16_UTIL = 13,
  NVML_GPM_METRIC_PCIE_TX_PER_SEC = 20,
  NVML_GPM_METRIC_PCIE_RX_PER_SEC = 21,
  NVML_GPM_METRIC_NVDEC_0_UTIL = 30, /* … 37 */
  NVML_GPM_METRIC_NVJPG_0_UTIL = 40, /* … 47 */
  NVML_GPM_METRIC_NVOFA_0_UTIL = 50, /* … 51 */
  NVML_GPM_METRIC_NVLINK_TOTAL_RX_PER_SEC = 60, /* RX before TX */
  NVML_GPM_METRIC_NVLINK_TOTAL_TX_PER_SEC = 61,
  NVML_GPM_METRIC_NVLINK_L0_RX_PER_SEC = 62, /* link k: RX 62 + 2k, TX 63 + 2k, k = 0…17 */
  NVML_GPM_METRIC_C2C_TOTAL_TX_PER_SEC = 100,
  NVML_GPM_METRIC_C2C_TOTAL_RX_PER_SEC = 101,
  NVML_GPM_METRIC_C2C_DATA_TX_PER_SEC = 102,
  NVML_GPM_METRIC_C2C_DATA_RX_PER_SEC = 103,
  NVML_GPM_METRIC_HOSTMEM_CACHE_HIT = 160, /* … 163: host hit, host miss, peer hit, peer miss */
  NVML_GPM_METRIC_SM_CYCLES_ELAPSED = 248, /* … 260: the cumulative counters, in DCGM's 1084–1096 order */
  NVML_GPM_METRIC_PCIE_TX = 255,
  NVML_GPM_METRIC_PCIE_RX = 256
};

typedef nvmlReturn_t (*nvmlGpmQueryDeviceSupport_fn)(nvmlDevice_t, nvmlGpmSupport_t *);
typedef nvmlReturn_t (*nvmlGpmSampleAlloc_fn)(nvmlGpmSample_t *);
typedef nvmlReturn_t (*nvmlGpmSampleFree_fn)(nvmlGpmSample_t);
typedef nvmlReturn_t (*nvmlGpmSampleGet_fn)(nvmlDevice_t, nvmlGpmSample_t);
typedef nvmlReturn_t (*nvmlGpmMigSampleGet_fn)(nvmlDevice_t, unsigned int, nvmlGpmSample_t);
/* takes nvmlGpmMetricsGet_t (of whatever metrics[] length the driver's header had) */
typedef nvmlReturn_t (*nvmlGpmMetricsGet_fn)(nvmlGpmMetricsGet_t *);

#ifdef __cplusplus
}
#endif

#endif
