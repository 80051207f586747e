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
typedef struct nvmlGpuInstance_st *nvmlGpuInstance_t;

/* ---- enums (all 32-bit int) ------------------------------------------------------------------ */
enum { NVML_TEMPERATURE_GPU = 0 };
enum { NVML_CLOCK_GRAPHICS = 0, NVML_CLOCK_SM = 1, NVML_CLOCK_MEM = 2, NVML_CLOCK_VIDEO = 3 };
enum { NVML_PCIE_UTIL_TX_BYTES = 0, NVML_PCIE_UTIL_RX_BYTES = 1 };
enum { NVML_MEMORY_ERROR_TYPE_CORRECTED = 0, NVML_MEMORY_ERROR_TYPE_UNCORRECTED = 1 };
enum { NVML_VOLATILE_ECC = 0, NVML_AGGREGATE_ECC = 1 };
enum { NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS = 0,
       NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR = 1 };
enum { NVML_DEVICE_MIG_DISABLE = 0, NVML_DEVICE_MIG_ENABLE = 1 };
enum { NVML_FEATURE_DISABLED = 0, NVML_FEATURE_ENABLED = 1 }; /* nvmlEnableState_t */
/* nvmlTemperatureThresholds_t (nvmlDeviceGetTemperatureThreshold) */
enum {
  NVML_TEMPERATURE_THRESHOLD_SHUTDOWN = 0,
  NVML_TEMPERATURE_THRESHOLD_SLOWDOWN = 1,
  NVML_TEMPERATURE_THRESHOLD_MEM_MAX = 2,
  NVML_TEMPERATURE_THRESHOLD_GPU_MAX = 3
};
/* nvmlComputeMode_t: DEFAULT 0, EXCLUSIVE_THREAD 1 (removed), PROHIBITED 2, EXCLUSIVE_PROCESS 3 */
enum { NVML_COMPUTEMODE_DEFAULT = 0, NVML_COMPUTEMODE_PROHIBITED = 2, NVML_COMPUTEMODE_EXCLUSIVE_PROCESS = 3 };
/* nvmlPstates_t: P0 = 0 … P15 = 15 */
enum { NVML_PSTATE_UNKNOWN = 32 };
/* nvmlInforomObject_t */
enum { NVML_INFOROM_OEM = 0, NVML_INFOROM_ECC = 1, NVML_INFOROM_POWER = 2 };
/* nvmlBrandType_t (values as NVML numbers them; 11 is also the deprecated VGAMING) */
enum {
  NVML_BRAND_UNKNOWN = 0,
  NVML_BRAND_QUADRO = 1,
  NVML_BRAND_TESLA = 2,
  NVML_BRAND_NVS = 3,
  NVML_BRAND_GRID = 4,
  NVML_BRAND_GEFORCE = 5,
  NVML_BRAND_TITAN = 6,
  NVML_BRAND_NVIDIA_VAPPS = 7,
  NVML_BRAND_NVIDIA_VPC = 8,
  NVML_BRAND_NVIDIA_VCS = 9,
  NVML_BRAND_NVIDIA_VWS = 10,
  NVML_BRAND_NVIDIA_CLOUD_GAMING = 11,
  NVML_BRAND_QUADRO_RTX = 12,
  NVML_BRAND_NVIDIA_RTX = 13,
  NVML_BRAND_NVIDIA = 14,
  NVML_BRAND_GEFORCE_RTX = 15,
  NVML_BRAND_TITAN_RTX = 16
};
/* nvmlGridLicenseFeatureCode_t */
enum { NVML_GRID_LICENSE_FEATURE_CODE_UNKNOWN = 0, NVML_GRID_LICENSE_FEATURE_CODE_VGPU = 1 };
/* GPU-instance profiles (the `profile` argument of nvmlDeviceGetGpuInstanceProfileInfo[V]); a
 * profile's `id` (what nvmlGpuInstanceInfo_t.profileId holds) is a different number. */
enum {
  NVML_GPU_INSTANCE_PROFILE_1_SLICE = 0x0,
  NVML_GPU_INSTANCE_PROFILE_2_SLICE = 0x1,
  NVML_GPU_INSTANCE_PROFILE_3_SLICE = 0x2,
  NVML_GPU_INSTANCE_PROFILE_4_SLICE = 0x3,
  NVML_GPU_INSTANCE_PROFILE_7_SLICE = 0x4,
  NVML_GPU_INSTANCE_PROFILE_8_SLICE = 0x5,
  NVML_GPU_INSTANCE_PROFILE_6_SLICE = 0x6,
  NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV1 = 0x7, /* with media engines: `+me` */
  NVML_GPU_INSTANCE_PROFILE_2_SLICE_REV1 = 0x8,
  NVML_GPU_INSTANCE_PROFILE_1_SLICE_REV2 = 0x9, /* twice the memory: 1g.20gb on an H100 80GB */
  NVML_GPU_INSTANCE_PROFILE_COUNT = 0x12        /* in NVML 13.3; older headers have fewer */
};
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
  NVML_FI_DEV_ECC_CURRENT = 1,
  NVML_FI_DEV_ECC_PENDING = 2,
  NVML_FI_DEV_ECC_SBE_VOL_TOTAL = 3,
  NVML_FI_DEV_ECC_DBE_VOL_TOTAL = 4,
  NVML_FI_DEV_ECC_SBE_AGG_TOTAL = 5,
  NVML_FI_DEV_ECC_DBE_AGG_TOTAL = 6,
  NVML_FI_DEV_RETIRED_SBE = 29,
  NVML_FI_DEV_RETIRED_DBE = 30,
  NVML_FI_DEV_RETIRED_PENDING = 31,
  NVML_FI_DEV_PERF_POLICY_POWER = 74, /* violation times, ns (NVML_PERF_POLICY_* order: 74 + policy) */
  NVML_FI_DEV_PERF_POLICY_THERMAL = 75,
  NVML_FI_DEV_PERF_POLICY_SYNC_BOOST = 76,
  NVML_FI_DEV_PERF_POLICY_BOARD_LIMIT = 77,
  NVML_FI_DEV_PERF_POLICY_LOW_UTILIZATION = 78,
  NVML_FI_DEV_PERF_POLICY_RELIABILITY = 79,
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

/* scopeId of the NVLink throughput fields (138/139) that asks for the sum over every link. */
#define NVML_NVLINK_SCOPE_ALL_LINKS 0xFFFFFFFFu
/* The most NVLink links a GPU has: 36 in NVML 13.3 (12 in 11.x headers, 18 in 12.x). */
#define NVML_NVLINK_MAX_LINKS 36

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
#define NVML_DEVICE_INFOROM_VERSION_BUFFER_SIZE 16
#define NVML_DEVICE_VBIOS_VERSION_BUFFER_SIZE 32
#define NVML_GRID_LICENSE_BUFFER_SIZE 128
#define NVML_GRID_LICENSE_FEATURE_MAX_COUNT 3

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

/*
 * nvmlProcessInfo_t — the entries of the running-process lists (native/processes.cc).
 *
 * TRAP, read before adding a call: the size of one entry in the array a process call fills is NOT
 * fixed by the function's name or by any version field.
 *   - unversioned nvmlDeviceGet{Compute,Graphics}RunningProcesses: 16-byte entries
 *     (pid, usedGpuMemory: the v1 layout);
 *   - `_v2`, and `_v3` on most drivers: the 24-byte layout below;
 *   - `_v3` on drivers 535.43.02 – 535.86.x: 32-byte entries (this layout + a u64
 *     usedGpuCcProtectedMemory at 24) with no version bump; 535.98 removed the `_v3` symbols and
 *     535.104.05 restored them with 24-byte entries.
 * Walking the array with the wrong stride reads garbage for every entry after the first. Before
 * relying on the stride, probe it (e.g. with a buffer of 32-byte slots and pids known from
 * elsewhere) or special-case the driver version (nvmlSystemGetDriverVersion); never infer it from
 * sizeof(nvmlProcessInfo_t).
 */
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

typedef struct {
  unsigned long long bar1Total; /* bytes */
  unsigned long long bar1Free;
  unsigned long long bar1Used;
} nvmlBAR1Memory_t;

/* vGPU software licensing (nvmlDeviceGetGridLicensableFeatures_v4 / _v3). The entry grew across
 * versions without a version field: _v3 fills 268-byte entries (no licenseExpiry), _v4 284-byte
 * ones (below), so gridLicensableFeatures[i] for i > 0 must be located with the stride of the
 * symbol that was called, never with sizeof(nvmlGridLicensableFeature_t) alone. */
typedef struct {
  unsigned int year;
  unsigned short month, day, hour, min, sec;
  unsigned char status;
} nvmlGridLicenseExpiry_t;

typedef struct {
  int featureCode;           /* nvmlGridLicenseFeatureCode_t */
  unsigned int featureState; /* non-zero: licensed */
  char licenseInfo[NVML_GRID_LICENSE_BUFFER_SIZE];
  char productName[NVML_GRID_LICENSE_BUFFER_SIZE];
  unsigned int featureEnabled;           /* since _v3 */
  nvmlGridLicenseExpiry_t licenseExpiry; /* since _v4 */
} nvmlGridLicensableFeature_t;

typedef struct {
  int isGridLicenseSupported; /* zero on bare metal */
  unsigned int licensableFeaturesCount;
  nvmlGridLicensableFeature_t gridLicensableFeatures[NVML_GRID_LICENSE_FEATURE_MAX_COUNT];
} nvmlGridLicensableFeatures_t;
#define NVML_GRID_LICENSABLE_FEATURE_V3_SIZE 268u /* entry stride of _v3 */
#define NVML_GRID_LICENSABLE_FEATURE_V4_SIZE 284u /* entry stride of _v4 */

/* MIG GPU instances. */
typedef struct {
  unsigned int start; /* first memory slice */
  unsigned int size;  /* memory slices */
} nvmlGpuInstancePlacement_t;

typedef struct {
  nvmlDevice_t device;     /* the parent GPU */
  unsigned int id;         /* GPU instance id (what nvmlDeviceGetGpuInstanceId gives a MIG device) */
  unsigned int profileId;  /* the profile's id (nvmlGpuInstanceProfileInfo*.id), not its index */
  nvmlGpuInstancePlacement_t placement;
} nvmlGpuInstanceInfo_t;

/* v1, unversioned (nvmlDeviceGetGpuInstanceProfileInfo): 48 bytes. */
typedef struct {
  unsigned int id;
  unsigned int isP2pSupported;
  unsigned int sliceCount;
  unsigned int instanceCount;
  unsigned int multiprocessorCount;
  unsigned int copyEngineCount;
  unsigned int decoderCount;
  unsigned int encoderCount;
  unsigned int jpegCount;
  unsigned int ofaCount;
  unsigned long long memorySizeMB;
} nvmlGpuInstanceProfileInfo_t;

/* v2 (…ProfileInfoV / …ProfileInfoByIdV with version = nvmlGpuInstanceProfileInfo_v2). */
typedef struct {
  unsigned int version;
  unsigned int id;
  unsigned int isP2pSupported;
  unsigned int sliceCount;
  unsigned int instanceCount;
  unsigned int multiprocessorCount;
  unsigned int copyEngineCount;
  unsigned int decoderCount;
  unsigned int encoderCount;
  unsigned int jpegCount;
  unsigned int ofaCount;
  unsigned long long memorySizeMB;
  char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
} nvmlGpuInstanceProfileInfo_v2_t;
#define nvmlGpuInstanceProfileInfo_v2 NVML_STRUCT_VERSION(nvmlGpuInstanceProfileInfo_v2_t, 2)

/* v3: no isP2pSupported (so sliceCount moves to offset 8), capabilities at the end. Same size as v2. */
typedef struct {
  unsigned int version;
  unsigned int id;
  unsigned int sliceCount;
  unsigned int instanceCount;
  unsigned int multiprocessorCount;
  unsigned int copyEngineCount;
  unsigned int decoderCount;
  unsigned int encoderCount;
  unsigned int jpegCount;
  unsigned int ofaCount;
  unsigned long long memorySizeMB;
  char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE];
  unsigned int capabilities;
} nvmlGpuInstanceProfileInfo_v3_t;
#define nvmlGpuInstanceProfileInfo_v3 NVML_STRUCT_VERSION(nvmlGpuInstanceProfileInfo_v3_t, 3)

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
NVX_STATIC_ASSERT(sizeof(nvmlBAR1Memory_t) == 24, "nvmlBAR1Memory_t size");
NVX_STATIC_ASSERT(offsetof(nvmlBAR1Memory_t, bar1Free) == 8, "nvmlBAR1Memory_t.bar1Free offset");
NVX_STATIC_ASSERT(offsetof(nvmlBAR1Memory_t, bar1Used) == 16, "nvmlBAR1Memory_t.bar1Used offset");
NVX_STATIC_ASSERT(sizeof(nvmlGridLicenseExpiry_t) == 16, "nvmlGridLicenseExpiry_t size");
NVX_STATIC_ASSERT(offsetof(nvmlGridLicensableFeature_t, licenseInfo) == 8, "nvmlGridLicensableFeature_t.licenseInfo offset");
NVX_STATIC_ASSERT(offsetof(nvmlGridLicensableFeature_t, featureEnabled) == 264, "nvmlGridLicensableFeature_t.featureEnabled offset");
NVX_STATIC_ASSERT(offsetof(nvmlGridLicensableFeature_t, licenseExpiry) == NVML_GRID_LICENSABLE_FEATURE_V3_SIZE,
                  "a _v3 entry ends where licenseExpiry starts");
NVX_STATIC_ASSERT(sizeof(nvmlGridLicensableFeature_t) == NVML_GRID_LICENSABLE_FEATURE_V4_SIZE, "nvmlGridLicensableFeature_t size");
NVX_STATIC_ASSERT(offsetof(nvmlGridLicensableFeatures_t, gridLicensableFeatures) == 8, "gridLicensableFeatures offset");
NVX_STATIC_ASSERT(sizeof(nvmlGridLicensableFeatures_t) == 8 + 3 * 284, "nvmlGridLicensableFeatures_t size");
NVX_STATIC_ASSERT(sizeof(nvmlGpuInstancePlacement_t) == 8, "nvmlGpuInstancePlacement_t size");
NVX_STATIC_ASSERT(sizeof(nvmlGpuInstanceInfo_t) == 24, "nvmlGpuInstanceInfo_t size");
NVX_STATIC_ASSERT(offsetof(nvmlGpuInstanceInfo_t, id) == 8, "nvmlGpuInstanceInfo_t.id offset");
NVX_STATIC_ASSERT(offsetof(nvmlGpuInstanceInfo_t, profileId) == 12, "nvmlGpuInstanceInfo_t.profileId offset");
NVX_STATIC_ASSERT(offsetof(nvmlGpuInstanceInfo_t, placement) == 16, "nvmlGpuInstanceInfo_t.placement offset");
NVX_STATIC_ASSERT(sizeof(nvmlGpuInstanceProfileInfo_t) == 48, "nvmlGpuInstanceProfileInfo_t size");
NVX_STATIC_ASSERT(offsetof(nvmlGpuInstanceProfileInfo_t, sliceCount) == 8, "nvmlGpuInstanceProfileInfo_t.sliceCount offset");
NVX_STATIC_ASSERT(offsetof(nvmlGpuInstanceProfileInfo_t, ofaCount) == 36, "nvmlGpuInstanceProfileInfo_t.ofaCount offset");
NVX_STATIC_ASSERT(offsetof(nvmlGpuInstanceProfileInfo_t, memorySizeMB) == 40, "nvmlGpuInstanceProfileInfo_t.memorySizeMB offset");
NVX_STATIC_ASSERT(sizeof(nvmlGpuInstanceProfileInfo_v2_t) == 152, "nvmlGpuInstanceProfileInfo_v2_t size");
NVX_STATIC_ASSERT(offsetof(nvmlGpuInstanceProfileInfo_v2_t, id) == 4, "nvmlGpuInstanceProfileInfo_v2_t.id offset");
NVX_STATIC_ASSERT(offsetof(nvmlGpuInstanceProfileInfo_v2_t, isP2pSupported) == 8, "v2.isP2pSupported offset");
NVX_STATIC_ASSERT(offsetof(nvmlGpuInstanceProfileInfo_v2_t, sliceCount) == 12, "v2.sliceCount offset");
NVX_STATIC_ASSERT(offsetof(nvmlGpuInstanceProfileInfo_v2_t, memorySizeMB) == 48, "v2.memorySizeMB offset");
NVX_STATIC_ASSERT(offsetof(nvmlGpuInstanceProfileInfo_v2_t, name) == 56, "v2.name offset");
NVX_STATIC_ASSERT(nvmlGpuInstanceProfileInfo_v2 == 0x02000098u, "nvmlGpuInstanceProfileInfo_v2 version constant");
NVX_STATIC_ASSERT(sizeof(nvmlGpuInstanceProfileInfo_v3_t) == 152, "nvmlGpuInstanceProfileInfo_v3_t size");
NVX_STATIC_ASSERT(offsetof(nvmlGpuInstanceProfileInfo_v3_t, sliceCount) == 8, "v3.sliceCount offset");
NVX_STATIC_ASSERT(offsetof(nvmlGpuInstanceProfileInfo_v3_t, memorySizeMB) == 40, "v3.memorySizeMB offset");
NVX_STATIC_ASSERT(offsetof(nvmlGpuInstanceProfileInfo_v3_t, name) == 48, "v3.name offset");
NVX_STATIC_ASSERT(offsetof(nvmlGpuInstanceProfileInfo_v3_t, capabilities) == 144, "v3.capabilities offset");
NVX_STATIC_ASSERT(nvmlGpuInstanceProfileInfo_v3 == 0x03000098u, "nvmlGpuInstanceProfileInfo_v3 version constant");

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
/* readings added for the catalogue (power limits, P-state, PCIe link, thresholds, BAR1, modes, …) */
typedef nvmlReturn_t (*nvmlDeviceGetUIntPair_fn)(nvmlDevice_t, unsigned int *a, unsigned int *b); /* limit constraints, ECC mode */
typedef nvmlReturn_t (*nvmlDeviceGetIntOut_fn)(nvmlDevice_t, int *value); /* P-state, compute/persistence mode, brand: 4-byte enums */
typedef nvmlReturn_t (*nvmlDeviceGetTemperatureThreshold_fn)(nvmlDevice_t, int thresholdType, unsigned int *degC);
typedef nvmlReturn_t (*nvmlDeviceGetBAR1MemoryInfo_fn)(nvmlDevice_t, nvmlBAR1Memory_t *bar1);
typedef nvmlReturn_t (*nvmlDeviceGetInforomVersion_fn)(nvmlDevice_t, int object, char *buf, unsigned int len);
typedef nvmlReturn_t (*nvmlDeviceGetGridLicensableFeatures_fn)(nvmlDevice_t, nvmlGridLicensableFeatures_t *f);
/* MIG GPU instances */
typedef nvmlReturn_t (*nvmlDeviceGetGpuInstanceById_fn)(nvmlDevice_t, unsigned int id, nvmlGpuInstance_t *gi);
typedef nvmlReturn_t (*nvmlGpuInstanceGetInfo_fn)(nvmlGpuInstance_t gi, nvmlGpuInstanceInfo_t *info);
typedef nvmlReturn_t (*nvmlDeviceGetGpuInstanceProfileInfo_fn)(nvmlDevice_t, unsigned int profile,
                                                               nvmlGpuInstanceProfileInfo_t *info);
/* …ProfileInfoV (profile index) and …ProfileInfoByIdV (profile id): v2 or v3 by the version field */
typedef nvmlReturn_t (*nvmlDeviceGetGpuInstanceProfileInfoV_fn)(nvmlDevice_t, unsigned int profile,
                                                                nvmlGpuInstanceProfileInfo_v2_t *info);

/* ---- processes (native/processes.cc) ---------------------------------------------------------- */
/* nvmlProcessInfo_v1_t: what the unversioned process-list symbols write (16-byte entries). */
typedef struct {
  unsigned int pid;
  unsigned long long usedGpuMemory;
} nvmlProcessInfo_v1_t;
/* usedGpuMemory when the driver cannot tell (e.g. no permission to see the process's memory) */
#define NVML_VALUE_NOT_AVAILABLE_ULL 0xFFFFFFFFFFFFFFFFULL
/* One per-process utilization sample (nvmlDeviceGetProcessUtilization); `timeStamp` is CPU
 * wall-clock time in microseconds; utilisations are percent of the sample period. */
typedef struct {
  unsigned int pid;
  unsigned long long timeStamp;
  unsigned int smUtil;
  unsigned int memUtil;
  unsigned int encUtil;
  unsigned int decUtil;
} nvmlProcessUtilizationSample_t;
/* nvmlDevice{Compute,Graphics,MPSCompute}RunningProcesses[_v2|_v3]: `infos` is an array whose
 * entry size depends on the symbol AND the driver (see nvmlProcessInfo_t above); it is passed as
 * bytes so no caller can index it with a wrong sizeof. */
typedef nvmlReturn_t (*nvmlDeviceGetRunningProcesses_fn)(nvmlDevice_t, unsigned int *infoCount, void *infos);
typedef nvmlReturn_t (*nvmlDeviceGetProcessUtilization_fn)(nvmlDevice_t, nvmlProcessUtilizationSample_t *samples,
                                                          unsigned int *sampleCount, unsigned long long lastSeenTimeStamp);
NVX_STATIC_ASSERT(sizeof(nvmlProcessInfo_v1_t) == 16, "nvmlProcessInfo_v1_t size");
NVX_STATIC_ASSERT(sizeof(nvmlProcessUtilizationSample_t) == 32, "nvmlProcessUtilizationSample_t size");
NVX_STATIC_ASSERT(offsetof(nvmlProcessUtilizationSample_t, timeStamp) == 8, "nvmlProcessUtilizationSample_t.timeStamp offset");
NVX_STATIC_ASSERT(offsetof(nvmlProcessUtilizationSample_t, smUtil) == 16, "nvmlProcessUtilizationSample_t.smUtil offset");

#ifdef __cplusplus
}
#endif

#endif /* NVML_EXPORTER_NVML_ABI_H */
