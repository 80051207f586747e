// loader.h — opens libnvidia-ml (or a file named by the caller) with dlopen and resolves every
// entry point the addon uses into one table, once. A symbol the library lacks stays NULL: the
// caller reports NVML_ERROR_FUNCTION_NOT_FOUND for that reading and never calls through it.
#ifndef NVML_EXPORTER_LOADER_H
#define NVML_EXPORTER_LOADER_H

#include <string>

#include "gpm_abi.h"
#include "nvml_abi.h"

namespace nvx {

constexpr const char *kDefaultLibrary = "libnvidia-ml.so.1";

struct NvmlApi {
  nvmlInit_fn init = nullptr;  // nvmlInit_v2 > nvmlInit
  nvmlShutdown_fn shutdown = nullptr;
  nvmlErrorString_fn errorString = nullptr;
  nvmlSystemGetString_fn systemGetDriverVersion = nullptr;
  nvmlSystemGetString_fn systemGetNvmlVersion = nullptr;
  // Both forms: `_v2` asks libcuda and answers LIBRARY_NOT_FOUND where libcuda is not mounted
  // (NVIDIA_DRIVER_CAPABILITIES=utility); the plain call answers from the driver itself.
  nvmlSystemGetCudaDriverVersion_fn systemGetCudaDriverVersionV2 = nullptr;
  nvmlSystemGetCudaDriverVersion_fn systemGetCudaDriverVersion = nullptr;
  nvmlDeviceGetCount_fn deviceGetCount = nullptr;                          // _v2 > plain
  nvmlDeviceGetHandleByIndex_fn deviceGetHandleByIndex = nullptr;          // _v2 > plain
  // identity
  nvmlDeviceGetUInt_fn deviceGetIndex = nullptr;
  nvmlDeviceGetUInt_fn deviceGetMinorNumber = nullptr;
  nvmlDeviceGetString_fn deviceGetUuid = nullptr;
  nvmlDeviceGetString_fn deviceGetName = nullptr;
  nvmlDeviceGetString_fn deviceGetSerial = nullptr;
  nvmlDeviceGetPciInfo_fn deviceGetPciInfo = nullptr;  // _v3 > _v2 > plain
  nvmlDeviceGetMigMode_fn deviceGetMigMode = nullptr;
  nvmlDeviceGetString_fn deviceGetVbiosVersion = nullptr;
  nvmlDeviceGetInforomVersion_fn deviceGetInforomVersion = nullptr;
  nvmlDeviceGetString_fn deviceGetInforomImageVersion = nullptr;
  nvmlDeviceGetIntOut_fn deviceGetBrand = nullptr;
  // readings
  nvmlDeviceGetUtilizationRates_fn deviceGetUtilizationRates = nullptr;
  nvmlDeviceGetMemoryInfo_v2_fn deviceGetMemoryInfoV2 = nullptr;
  nvmlDeviceGetMemoryInfo_fn deviceGetMemoryInfo = nullptr;
  nvmlDeviceGetUInt_fn deviceGetPowerUsage = nullptr;
  nvmlDeviceGetUInt_fn deviceGetEnforcedPowerLimit = nullptr;
  nvmlDeviceGetULL_fn deviceGetTotalEnergyConsumption = nullptr;
  nvmlDeviceGetTemperatureV_fn deviceGetTemperatureV = nullptr;
  nvmlDeviceGetTemperature_fn deviceGetTemperature = nullptr;
  nvmlDeviceGetFieldValues_fn deviceGetFieldValues = nullptr;
  nvmlDeviceGetClockInfo_fn deviceGetClockInfo = nullptr;
  nvmlDeviceGetClockInfo_fn deviceGetMaxClockInfo = nullptr;
  nvmlDeviceGetUtilSampled_fn deviceGetEncoderUtilization = nullptr;
  nvmlDeviceGetUtilSampled_fn deviceGetDecoderUtilization = nullptr;
  nvmlDeviceGetUInt_fn deviceGetPcieReplayCounter = nullptr;
  nvmlDeviceGetULL_fn deviceGetClockEventReasons = nullptr;  // ...ClocksEventReasons > ...ThrottleReasons
  nvmlDeviceGetViolationStatus_fn deviceGetViolationStatus = nullptr;
  nvmlDeviceGetTotalEccErrors_fn deviceGetTotalEccErrors = nullptr;
  nvmlDeviceGetRetiredPages_fn deviceGetRetiredPages = nullptr;
  nvmlDeviceGetRemappedRows_fn deviceGetRemappedRows = nullptr;
  nvmlDeviceGetUInt_fn deviceGetFanSpeed = nullptr;
  nvmlDeviceGetPcieThroughput_fn deviceGetPcieThroughput = nullptr;
  nvmlDeviceGetUIntPair_fn deviceGetPowerManagementLimitConstraints = nullptr;
  nvmlDeviceGetUInt_fn deviceGetPowerManagementDefaultLimit = nullptr;
  nvmlDeviceGetUInt_fn deviceGetPowerManagementLimit = nullptr;
  nvmlDeviceGetIntOut_fn deviceGetPerformanceState = nullptr;
  nvmlDeviceGetUInt_fn deviceGetCurrPcieLinkGeneration = nullptr;
  nvmlDeviceGetUInt_fn deviceGetMaxPcieLinkGeneration = nullptr;
  nvmlDeviceGetUInt_fn deviceGetCurrPcieLinkWidth = nullptr;
  nvmlDeviceGetUInt_fn deviceGetMaxPcieLinkWidth = nullptr;
  nvmlDeviceGetTemperatureThreshold_fn deviceGetTemperatureThreshold = nullptr;
  nvmlDeviceGetBAR1MemoryInfo_fn deviceGetBAR1MemoryInfo = nullptr;
  nvmlDeviceGetIntOut_fn deviceGetComputeMode = nullptr;
  nvmlDeviceGetIntOut_fn deviceGetPersistenceMode = nullptr;
  nvmlDeviceGetUIntPair_fn deviceGetEccMode = nullptr;
  nvmlDeviceGetClockInfo_fn deviceGetApplicationsClock = nullptr;
  nvmlDeviceGetGridLicensableFeatures_fn deviceGetGridLicensableFeatures = nullptr;  // _v4 > _v3
  unsigned gridLicensableFeatureStride = 0;  // entry size of the symbol resolved (284 for _v4, 268 for _v3)
  // MIG
  nvmlDeviceGetUInt_fn deviceGetMaxMigDeviceCount = nullptr;
  nvmlDeviceGetMigDeviceHandleByIndex_fn deviceGetMigDeviceHandleByIndex = nullptr;
  nvmlDeviceGetUInt_fn deviceGetGpuInstanceId = nullptr;
  nvmlDeviceGetUInt_fn deviceGetComputeInstanceId = nullptr;
  // GPU instances (the profile label); these can need a privileged caller
  nvmlDeviceGetGpuInstanceById_fn deviceGetGpuInstanceById = nullptr;
  nvmlGpuInstanceGetInfo_fn gpuInstanceGetInfo = nullptr;
  nvmlDeviceGetGpuInstanceProfileInfoV_fn deviceGetGpuInstanceProfileInfoByIdV = nullptr;  // by profile id
  nvmlDeviceGetGpuInstanceProfileInfoV_fn deviceGetGpuInstanceProfileInfoV = nullptr;      // by profile index
  nvmlDeviceGetGpuInstanceProfileInfo_fn deviceGetGpuInstanceProfileInfo = nullptr;        // by index, v1 struct
  // events
  nvmlEventSetCreate_fn eventSetCreate = nullptr;
  nvmlDeviceGetULL_fn deviceGetSupportedEventTypes = nullptr;
  nvmlDeviceRegisterEvents_fn deviceRegisterEvents = nullptr;
  // Both forms: a driver can answer NOT_SUPPORTED / FUNCTION_NOT_FOUND from `_v2` at run time,
  // and the event thread then waits with the plain (v1) call.
  nvmlEventSetWait_fn eventSetWaitV2 = nullptr;
  nvmlEventSetWait_fn eventSetWait = nullptr;
  nvmlEventSetFree_fn eventSetFree = nullptr;
  // GPM (Hopper and newer; NVML 11.8 / R520+, the MIG sample since 12.0 / R525). A library without
  // them has no GPM: every GPU reads as "not supported" (native/gpm.cc).
  nvmlGpmQueryDeviceSupport_fn gpmQueryDeviceSupport = nullptr;
  nvmlGpmSampleAlloc_fn gpmSampleAlloc = nullptr;
  nvmlGpmSampleFree_fn gpmSampleFree = nullptr;
  nvmlGpmSampleGet_fn gpmSampleGet = nullptr;
  nvmlGpmMigSampleGet_fn gpmMigSampleGet = nullptr;
  nvmlGpmMetricsGet_fn gpmMetricsGet = nullptr;
  // processes (native/processes.cc): _v3 > _v2 > plain; `processInfoV1` when only the plain form
  // (16-byte entries) was found, else the entry stride is probed at each call
  nvmlDeviceGetRunningProcesses_fn deviceGetComputeRunningProcesses = nullptr;
  nvmlDeviceGetRunningProcesses_fn deviceGetGraphicsRunningProcesses = nullptr;
  nvmlDeviceGetRunningProcesses_fn deviceGetMpsComputeRunningProcesses = nullptr;
  bool computeProcessesV1 = false, graphicsProcessesV1 = false, mpsProcessesV1 = false;
  nvmlDeviceGetProcessUtilization_fn deviceGetProcessUtilization = nullptr;
};

// One opened library: the dlopen handle, the table, and whether nvmlInit succeeded.
class Library {
 public:
  Library() = default;
  ~Library();
  Library(const Library &) = delete;
  Library &operator=(const Library &) = delete;

  // dlopen + dlsym. Returns false with `error` set to dlerror() when the file cannot be opened.
  bool Open(const std::string &path, std::string &error);
  // nvmlInit (newest symbol). Returns the NVML code (13 when no init symbol exists).
  nvmlReturn_t Init();
  // nvmlShutdown (if initialised) and dlclose. Idempotent.
  void Close();

  const NvmlApi &api() const { return api_; }
  const std::string &path() const { return path_; }
  bool initialized() const { return initialized_; }

 private:
  void *handle_ = nullptr;
  bool initialized_ = false;
  std::string path_;
  NvmlApi api_;
};

}  // namespace nvx

#endif
