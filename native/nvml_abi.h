/*
 * nvml_abi.h — our own declarations of the part of NVML's C ABI that nvml-exporter uses.
 *
 * Written from the documented ABI facts (types, enum values, struct layouts, symbol names and
 * signatures); it is not derived from NVIDIA's header. Both the addon (which dlopens the real
 * library and calls through function pointers) and the simulated library in native/fake/ (which
 * exports these symbols) include it, so they agree on every layout by construction, and the
 * static_asserts below pin each layout to the real library's.
 *
 * Usable from C11 and C++17.
 */
#ifndef NVML_EXPORTER_NVML_ABI_H
#define NVML_EXPORTER_NVML_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define NVX_STATIC_ASSERT(c, m) static_assert(c, m)
extern "C" {
#else
#define NVX_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

/* ---- return codes (nvmlReturn_t is a C enum: 32-bit int) ------------------------------------ */
typedef int nvmlReturn_t;
enum {
  NVML_SUCCESS = 0,
  NVML_ERROR_UNINITIALIZED = 1,
  NVML_ERROR_INVALID_ARGUMENT = 2,
  NVML_ERROR_NOT_SUPPORTED = 3,
  NVML_ERROR_NO_PERMISSION = 4,
  NVML_ERROR_ALREADY_INITIALIZED = 5,
  NVML_ERROR_NOT_FOUND = 6,
  NVML_ERROR_INSUFFICIENT_SIZE = 7,
  NVML_ERROR_INSUFFICIENT_POWER = 8,
  NVML_ERROR_DRIVER_NOT_LOADED = 9,
  NVML_ERROR_TIMEOUT = 10,
  NVML_ERROR_IRQ_ISSUE = 11,
  NVML_ERROR_LIBRARY_NOT_FOUND = 12,
  NVML_ERROR_FUNCTION_NOT_FOUND = 13,
  NVML_ERROR_CORRUPTED_INFOROM = 14,
  NVML_ERROR_GPU_IS_LOST = 15,
  NVML_ERROR_RESET_REQUIRED = 16,
  NVML_ERROR_OPERATING_SYSTEM = 17,
  NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18,
  NVML_ERROR_IN_USE = 19,
  NVML_ERROR_MEMORY = 20,
  NVML_ERROR_NO_DATA = 21,
  NVML_ERROR_VGPU_ECC_NOT_SUPPORTED = 22,
  NVML_ERROR_INSUFFICIENT_RESOURCES = 23,
  NVML_ERROR_FREQ_NOT_SUPPORTED = 24,
  NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25,
  NVML_ERROR_DEPRECATED = 26,
  NVML_ERROR_NOT_READY = 27,
  NVML_ERROR_GPU_NOT_FOUND = 28,
  NVML_ERROR_INVALID_STATE = 29,
  NVML_ERROR_RESET_TYPE_NOT_SUPPORTED = 30,
  NVML_ERROR_UNKNOWN = 999
};

/* ---- opaque handles -------------------------------------------------------------------------- */
typedef struct nvmlDevice_st *nvmlDevice_t;
typedef struct nvmlEventSet_st *nvmlEventSet_t;

/* ---- enums (all 32-bit int) ------------------------------------------------------------------ */
enum { NVML_TEMPERATURE_GPU = 0 };
enum { NVML_CLOCK_GRAPHICS = 0, NVML_CLOCK_SM = 1, NVML_CLOCK_MEM = 2, NVML_CLOCK_VIDEO = 3 };
enum { NVML_PCIE_UTIL_TX_BYTES = 0, NVML_PCIE_UTIL_RX_BYTES = 1 };
enum { NVML_MEMORY_ERROR_TYPE_CORRECTED = 0, NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1 };
enum { NVML_VOLATILE_ECC = 0, NVML_AGGREGATE_ECC = 1 };
enum { NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS = 0,
       NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR = 1 };
enum { NVML_DEVICE_MIG_DISABLE = 0, NVML_DEVICE_MIG_ENABLE = 1 };
enum {
  NVML_VALUE_TYPE_DOUBLE = 0,
  NVML_VALUE_TYPE_UNSIGNED_INT = 1,
  NVML_VALUE_TYPE_UNSIGNED_LONG = 2,
  NVML_VALUE_TYPE_UNSIGNED_LONG_LONG = 3,
  NVML_VALUE_TYPE_SIGNED_LONG_LONG = 4,
  NVML_VALUE_TYPE_SIGNED_INT = 5,
  NVML_VALUE_TYPE_UNSIGNED_SHORT = 6
};

/* Event type bits (64-bit mask). */
#define NVML_EVENT_TYPE_SINGLE_BIT_ECC_ERROR 0x0001ULL
#define NVML_EVENT_TYPE_DOUBLE_BIT_ECC_ERROR 0x0002ULL
#define NVML_EVENT_TYPE_PSTATE 0x0004ULL
#define NVML_EVENT_TYPE_XID_CRITICAL_ERROR 0x0008ULL
#define NVML_EVENT_TYPE_CLOCK 0x0010ULL

/* Init flags for nvmlInitWithFlags. */
#define NVML_INIT_FLAG_NO_GPUS 1u

/* Field ids for nvmlDeviceGetFieldValues. */
enum {
  NVML_FI_DEV_ECC_SBE_VOL_TOTAL = 3,
  NVML_FI_DEV_ECC_DBE_VOL_TOTAL = 4,
  NVML_FI_DEV_ECC_SBE_AGG_TOTAL = 5,
  NVML_FI_DEV_ECC_DBE_AGG_TOTAL = 6,
  NVML_FI_DEV_RETIRED_SBE = 29,
  NVML_FI_DEV_RETIRED_DBE = 30,
  NVML_FI_DEV_RETIRED_PENDING = 31,
  NVML_FI_DEV_MEMORY_TEMP = 82,
  NVML_FI_DEV_TOTAL_ENERGY_CONSUMPTION = 83,
  NVML_FI_DEV_NVLINK_LINK_COUNT = 91,
  NVML_FI_DEV_PCIE_REPLAY_COUNTER = 94,
  NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_TX = 138,
  NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_RX = 139,
  NVML_FI_DEV_REMAPPED_COR = 142,
  NVML_FI_DEV_REMAPPED_UNC = 143,
  NVML_FI_DEV_REMAPPED_PENDING = 144,
  NVML_FI_DEV_REMAPPED_FAILURE = 145,
  NVML_FI_DEV_POWER_INSTANT = 186,
  NVML_FI_MAX = 303
};

/* Clock event (throttle) reason bits. */
#define NVML_CLOCKS_EVENT_REASON_GPU_IDLE 0x1ULL
#define NVML_CLOCKS_EVENT_REASON_APPLICATIONS_CLOCKS_SETTING 0x2ULL
#define NVML_CLOCKS_EVENT_REASON_SW_POWER_CAP 0x4ULL
#define NVML_CLOCKS_EVENT_REASON_HW_SLOWDOWN 0x8ULL
#define NVML_CLOCKS_EVENT_REASON_SYNC_BOOST 0x10ULL
#define NVML_CLOCKS_EVENT_REASON_SW_THERMAL_SLOWDOWN 0x20ULL
#define NVML_CLOCKS_EVENT_REASON_HW_THERMAL_SLOWDOWN 0x40ULL
#define NVML_CLOCKS_EVENT_REASON_HW_POWER_BRAKE_SLOWDOWN 0x80ULL
#define NVML_CLOCKS_EVENT_REASON_DISPLAY_CLOCK_SETTING 0x100ULL

/* Performance policy (violation time) selectors for nvmlDeviceGetViolationStatus. */
enum {
  NVML_PERF_POLICY_POWER = 0,
  NVML_PERF_POLICY_THERMAL = 1,
  NVML_PERF_POLICY_SYNC_BOOST = 2,
  NVML_PERF_POLICY_BOARD_LIMIT = 3,
  NVML_PERF_POLICY_LOW_UTILIZATION = 4,
  NVML_PERF_POLICY_RELIABILITY = 5
};

/* Buffer sizes (bytes, including the terminating NUL). */
#define NVML_DEVICE_UUID_V2_BUFFER_SIZE 96
#define NVML_DEVICE_NAME_V2_BUFFER_SIZE 96
#define NVML_DEVICE_SERIAL_BUFFER_SIZE 30
#define NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE 80
#define NVML_SYSTEM_NVML_VERSION_BUFFER_SIZE 80
#define NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE 32
#define NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE 16
#define NVML_GPU_INSTANCE_PROFILE_NAME_BUFFER_SIZE 96

/* Versioned structs carry version = sizeof(struct) | (N << 24). */
#define NVML_STRUCT_VERSION(type, n) ((unsigned int)(sizeof(type) | ((unsigned int)(n) << 24)))

/* ---- structs --------------------------------------------------------------------------------- */
typedef struct {
  unsigned int gpu;    /* % of time a kernel ran in the last sample period */
  unsigned int memory; /* % of time device memory was read or written */
} nvmlUtilization_t;

typedef struct {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used; /* v1: includes driver-reserved memory */
} nvmlMemory_t;

typedef struct {
  unsigned int version; /* must be nvmlMemory_v2 */
  unsigned long long total;
  unsigned long long reserved;
  unsigned long long free;
  unsigned long long used;
} nvmlMemory_v2_t;
#define nvmlMemory_v2 NVML_STRUCT_VERSION(nvmlMemory_v2_t, 2)

typedef struct {
  char busIdLegacy[NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE];
  unsigned int domain;
  unsigned int bus;
  unsigned int device;
  unsigned int pciDeviceId;
  unsigned int pciSubSystemId;
  char busId[NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE];
} nvmlPciInfo_t;

typedef struct {
  nvmlDevice_t device;
  unsigned long long eventType;
  unsigned long long eventData; /* XID number for XID events */
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
} nvmlEventData_t;

typedef union {
  double dVal;
  int siVal;
  unsigned int uiVal;
  unsigned long ulVal;
  unsigned long long ullVal;
  signed long long sllVal;
  unsigned short usVal;
} nvmlValue_t;

typedef struct {
  unsigned int fieldId;
  unsigned int scopeId;
  long long timestamp;
  long long latencyUsec;
  int valueType;
  nvmlReturn_t nvmlReturn;
  nvmlValue_t value;
} nvmlFieldValue_t;

typedef struct {
  unsigned int pid;
  unsigned long long usedGpuMemory;
  unsigned int gpuInstanceId;
  unsigned int computeInstanceId;
} nvmlProcessInfo_t;

typedef struct {
  unsigned long long referenceTime;
  unsigned long long violationTime; /* ns */
} nvmlViolationTime_t;

typedef struct {
  unsigned int version; /* must be nvmlTemperature_v1 */
  int sensorType;
  int temperature;
} nvmlTemperature_t;
#define nvmlTemperature_v1 NVML_STRUCT_VERSION(nvmlTemperature_t, 1)

/* ---- layout checks: these must hold for the real library's ABI (LP64) ------------------------ */
NVX_STATIC_ASSERT(sizeof(nvmlReturn_t) == 4, "nvmlReturn_t is a 32-bit enum");
NVX_STATIC_ASSERT(sizeof(nvmlUtilization_t) == 8, "nvmlUtilization_t size");
NVX_STATIC_ASSERT(sizeof(nvmlMemory_t) == 24, "nvmlMemory_t size");
NVX_STATIC_ASSERT(sizeof(nvmlMemory_v2_t) == 40, "nvmlMemory_v2_t size");
NVX_STATIC_ASSERT(offsetof(nvmlMemory_v2_t, total) == 8, "nvmlMemory_v2_t.total offset");
NVX_STATIC_ASSERT(offsetof(nvmlMemory_v2_t, reserved) == 16, "nvmlMemory_v2_t.reserved offset");
NVX_STATIC_ASSERT(offsetof(nvmlMemory_v2_t, free) == 24, "nvmlMemory_v2_t.free offset");
NVX_STATIC_ASSERT(offsetof(nvmlMemory_v2_t, used) == 32, "nvmlMemory_v2_t.used offset");
NVX_STATIC_ASSERT(nvmlMemory_v2 == 0x02000028u, "nvmlMemory_v2 version constant");
NVX_STATIC_ASSERT(sizeof(nvmlPciInfo_t) == 68, "nvmlPciInfo_t size");
NVX_STATIC_ASSERT(offsetof(nvmlPciInfo_t, domain) == 16, "nvmlPciInfo_t.domain offset");
NVX_STATIC_ASSERT(offsetof(nvmlPciInfo_t, pciDeviceId) == 28, "nvmlPciInfo_t.pciDeviceId offset");
NVX_STATIC_ASSERT(offsetof(nvmlPciInfo_t, busId) == 36, "nvmlPciInfo_t.busId offset");
NVX_STATIC_ASSERT(sizeof(nvmlEventData_t) == 32, "nvmlEventData_t size");
NVX_STATIC_ASSERT(offsetof(nvmlEventData_t, eventType) == 8, "nvmlEventData_t.eventType offset");
NVX_STATIC_ASSERT(offsetof(nvmlEventData_t, eventData) == 16, "nvmlEventData_t.eventData offset");
NVX_STATIC_ASSERT(offsetof(nvmlEventData_t, gpuInstanceId) == 24, "nvmlEventData_t.gpuInstanceId offset");
NVX_STATIC_ASSERT(offsetof(nvmlEventData_t, computeInstanceId) == 28, "nvmlEventData_t.computeInstanceId offset");
NVX_STATIC_ASSERT(sizeof(nvmlValue_t) == 8, "nvmlValue_t size");
NVX_STATIC_ASSERT(sizeof(nvmlFieldValue_t) == 40, "nvmlFieldValue_t size");
NVX_STATIC_ASSERT(offsetof(nvmlFieldValue_t, timestamp) == 8, "nvmlFieldValue_t.timestamp offset");
NVX_STATIC_ASSERT(offsetof(nvmlFieldValue_t, valueType) == 24, "nvmlFieldValue_t.valueType offset");
NVX_STATIC_ASSERT(offsetof(nvmlFieldValue_t, nvmlReturn) == 28, "nvmlFieldValue_t.nvmlReturn offset");
NVX_STATIC_ASSERT(offsetof(nvmlFieldValue_t, value) == 32, "nvmlFieldValue_t.value offset");
NVX_STATIC_ASSERT(sizeof(nvmlProcessInfo_t) == 24, "nvmlProcessInfo_t size");
NVX_STATIC_ASSERT(offsetof(nvmlProcessInfo_t, usedGpuMemory) == 8, "nvmlProcessInfo_t.usedGpuMemory offset");
NVX_STATIC_ASSERT(offsetof(nvmlProcessInfo_t, gpuInstanceId) == 16, "nvmlProcessInfo_t.gpuInstanceId offset");
NVX_STATIC_ASSERT(offsetof(nvmlProcessInfo_t, computeInstanceId) == 20, "nvmlProcessInfo_t.computeInstanceId offset");
NVX_STATIC_ASSERT(sizeof(nvmlViolationTime_t) == 16, "nvmlViolationTime_t size");
NVX_STATIC_ASSERT(sizeof(nvmlTemperature_t) == 12, "nvmlTemperature_t size");
NVX_STATIC_ASSERT(nvmlTemperature_v1 == 0x0100000Cu, "nvmlTemperature_v1 version constant");

/* ---- function signatures (as pointer types; the addon resolves them with dlsym) --------------- */
typedef nvmlReturn_t (*nvmlInit_fn)(void);
typedef nvmlReturn_t (*nvmlInitWithFlags_fn)(unsigned int flags);
typedef nvmlReturn_t (*nvmlShutdown_fn)(void);
typedef const char *(*nvmlErrorString_fn)(nvmlReturn_t);
typedef nvmlReturn_t (*nvmlSystemGetString_fn)(char *buf, unsigned int len); /* driver / NVML version */
typedef nvmlReturn_t (*nvmlSystemGetCudaDriverVersion_fn)(int *version);
typedef nvmlReturn_t (*nvmlDeviceGetCount_fn)(unsigned int *count);
typedef nvmlReturn_t (*nvmlDeviceGetHandleByIndex_fn)(unsigned int index, nvmlDevice_t *device);
typedef nvmlReturn_t (*nvmlDeviceGetHandleByUUID_fn)(const char *uuid, nvmlDevice_t *device);
typedef nvmlReturn_t (*nvmlDeviceGetString_fn)(nvmlDevice_t, char *buf, unsigned int len); /* UUID, name, serial */
typedef nvmlReturn_t (*nvmlDeviceGetUInt_fn)(nvmlDevice_t, unsigned int *value); /* index, minor, power, … */
typedef nvmlReturn_t (*nvmlDeviceGetULL_fn)(nvmlDevice_t, unsigned long long *value); /* energy, clock reasons */
typedef nvmlReturn_t (*nvmlDeviceGetPciInfo_fn)(nvmlDevice_t, nvmlPciInfo_t *pci);
typedef nvmlReturn_t (*nvmlDeviceGetUtilizationRates_fn)(nvmlDevice_t, nvmlUtilization_t *util);
typedef nvmlReturn_t (*nvmlDeviceGetMemoryInfo_fn)(nvmlDevice_t, nvmlMemory_t *mem);
typedef nvmlReturn_t (*nvmlDeviceGetMemoryInfo_v2_fn)(nvmlDevice_t, nvmlMemory_v2_t *mem);
typedef nvmlReturn_t (*nvmlDeviceGetTemperature_fn)(nvmlDevice_t, int sensor, unsigned int *degC);
typedef nvmlReturn_t (*nvmlDeviceGetTemperatureV_fn)(nvmlDevice_t, nvmlTemperature_t *temp);
typedef nvmlReturn_t (*nvmlDeviceGetClockInfo_fn)(nvmlDevice_t, int clockType, unsigned int *mhz);
typedef nvmlReturn_t (*nvmlDeviceGetUtilSampled_fn)(nvmlDevice_t, unsigned int *pct, unsigned int *periodUs); /* enc/dec */
typedef nvmlReturn_t (*nvmlDeviceGetPcieThroughput_fn)(nvmlDevice_t, int counter, unsigned int *kbps);
typedef nvmlReturn_t (*nvmlDeviceGetViolationStatus_fn)(nvmlDevice_t, int perfPolicy, nvmlViolationTime_t *t);
typedef nvmlReturn_t (*nvmlDeviceGetTotalEccErrors_fn)(nvmlDevice_t, int errorType, int counterType,
                                                       unsigned long long *count);
typedef nvmlReturn_t (*nvmlDeviceGetRetiredPages_fn)(nvmlDevice_t, int cause, unsigned int *count,
                                                     unsigned long long *addresses);
typedef nvmlReturn_t (*nvmlDeviceGetRemappedRows_fn)(nvmlDevice_t, unsigned int *corrRows, unsigned int *uncRows,
                                                     unsigned int *isPending, unsigned int *failureOccurred);
typedef nvmlReturn_t (*nvmlDeviceGetMigMode_fn)(nvmlDevice_t, unsigned int *current, unsigned int *pending);
typedef nvmlReturn_t (*nvmlDeviceGetMigDeviceHandleByIndex_fn)(nvmlDevice_t, unsigned int index, nvmlDevice_t *mig);
typedef nvmlReturn_t (*nvmlDeviceGetFieldValues_fn)(nvmlDevice_t, int count, nvmlFieldValue_t *values);
typedef nvmlReturn_t (*nvmlEventSetCreate_fn)(nvmlEventSet_t *set);
typedef nvmlReturn_t (*nvmlDeviceRegisterEvents_fn)(nvmlDevice_t, unsigned long long mask, nvmlEventSet_t set);
typedef nvmlReturn_t (*nvmlEventSetWait_fn)(nvmlEventSet_t set, nvmlEventData_t *data, unsigned int timeoutMs);
typedef nvmlReturn_t (*nvmlEventSetFree_fn)(nvmlEventSet_t set);

#ifdef __cplusplus
}
#endif

#endif /* NVML_EXPORTER_NVML_ABI_H */
