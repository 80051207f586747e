// loader.cc — dlopen of the NVML library and the one-time symbol resolution (see loader.h).
#include "loader.h"

#include <dlfcn.h>
#include <link.h>

namespace nvx {

namespace {

// The first of `names` the library exports, or NULL.
template <typename Fn>
Fn Resolve(void *handle, std::initializer_list<const char *> names, const char **found = nullptr) {
  for (const char *name : names) {
    void *p = dlsym(handle, name);
    if (p != nullptr) {
      if (found != nullptr) *found = name;
      return reinterpret_cast<Fn>(p);
    }
  }
  return nullptr;
}

}  // namespace

Library::~Library() { Close(); }

bool Library::Open(const std::string &path, std::string &error) {
  const char *file = path.empty() ? kDefaultLibrary : path.c_str();
  dlerror();
  handle_ = dlopen(file, RTLD_NOW | RTLD_LOCAL);
  if (handle_ == nullptr) {
    const char *e = dlerror();
    error = e != nullptr ? e : "dlopen failed";
    return false;
  }
  // The file the loader actually picked (the default name resolves through the search path).
  struct link_map *map = nullptr;
  if (dlinfo(handle_, RTLD_DI_LINKMAP, &map) == 0 && map != nullptr && map->l_name != nullptr &&
      map->l_name[0] != '\0') {
    path_ = map->l_name;
  } else {
    path_ = file;
  }

  void *h = handle_;
  NvmlApi &a = api_;
  a.init = Resolve<nvmlInit_fn>(h, {"nvmlInit_v2", "nvmlInit"});
  a.shutdown = Resolve<nvmlShutdown_fn>(h, {"nvmlShutdown"});
  a.errorString = Resolve<nvmlErrorString_fn>(h, {"nvmlErrorString"});
  a.systemGetDriverVersion = Resolve<nvmlSystemGetString_fn>(h, {"nvmlSystemGetDriverVersion"});
  a.systemGetNvmlVersion = Resolve<nvmlSystemGetString_fn>(h, {"nvmlSystemGetNVMLVersion"});
  a.systemGetCudaDriverVersionV2 =
      Resolve<nvmlSystemGetCudaDriverVersion_fn>(h, {"nvmlSystemGetCudaDriverVersion_v2"});
  a.systemGetCudaDriverVersion = Resolve<nvmlSystemGetCudaDriverVersion_fn>(h, {"nvmlSystemGetCudaDriverVersion"});
  a.deviceGetCount = Resolve<nvmlDeviceGetCount_fn>(h, {"nvmlDeviceGetCount_v2", "nvmlDeviceGetCount"});
  a.deviceGetHandleByIndex = Resolve<nvmlDeviceGetHandleByIndex_fn>(
      h, {"nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetHandleByIndex"});

  a.deviceGetIndex = Resolve<nvmlDeviceGetUInt_fn>(h, {"nvmlDeviceGetIndex"});
  a.deviceGetMinorNumber = Resolve<nvmlDeviceGetUInt_fn>(h, {"nvmlDeviceGetMinorNumber"});
  a.deviceGetUuid = Resolve<nvmlDeviceGetString_fn>(h, {"nvmlDeviceGetUUID"});
  a.deviceGetName = Resolve<nvmlDeviceGetString_fn>(h, {"nvmlDeviceGetName"});
  a.deviceGetSerial = Resolve<nvmlDeviceGetString_fn>(h, {"nvmlDeviceGetSerial"});
  a.deviceGetPciInfo = Resolve<nvmlDeviceGetPciInfo_fn>(
      h, {"nvmlDeviceGetPciInfo_v3", "nvmlDeviceGetPciInfo_v2", "nvmlDeviceGetPciInfo"});
  a.deviceGetMigMode = Resolve<nvmlDeviceGetMigMode_fn>(h, {"nvmlDeviceGetMigMode"});
  a.deviceGetVbiosVersion = Resolve<nvmlDeviceGetString_fn>(h, {"nvmlDeviceGetVbiosVersion"});
  a.deviceGetInforomVersion = Resolve<nvmlDeviceGetInforomVersion_fn>(h, {"nvmlDeviceGetInforomVersion"});
  a.deviceGetInforomImageVersion = Resolve<nvmlDeviceGetString_fn>(h, {"nvmlDeviceGetInforomImageVersion"});
  a.deviceGetBrand = Resolve<nvmlDeviceGetIntOut_fn>(h, {"nvmlDeviceGetBrand"});

  a.deviceGetUtilizationRates = Resolve<nvmlDeviceGetUtilizationRates_fn>(h, {"nvmlDeviceGetUtilizationRates"});
  a.deviceGetMemoryInfoV2 = Resolve<nvmlDeviceGetMemoryInfo_v2_fn>(h, {"nvmlDeviceGetMemoryInfo_v2"});
  a.deviceGetMemoryInfo = Resolve<nvmlDeviceGetMemoryInfo_fn>(h, {"nvmlDeviceGetMemoryInfo"});
  a.deviceGetPowerUsage = Resolve<nvmlDeviceGetUInt_fn>(h, {"nvmlDeviceGetPowerUsage"});
  a.deviceGetEnforcedPowerLimit = Resolve<nvmlDeviceGetUInt_fn>(h, {"nvmlDeviceGetEnforcedPowerLimit"});
  a.deviceGetTotalEnergyConsumption =
      Resolve<nvmlDeviceGetULL_fn>(h, {"nvmlDeviceGetTotalEnergyConsumption"});
  a.deviceGetTemperatureV = Resolve<nvmlDeviceGetTemperatureV_fn>(h, {"nvmlDeviceGetTemperatureV"});
  a.deviceGetTemperature = Resolve<nvmlDeviceGetTemperature_fn>(h, {"nvmlDeviceGetTemperature"});
  a.deviceGetFieldValues = Resolve<nvmlDeviceGetFieldValues_fn>(h, {"nvmlDeviceGetFieldValues"});
  a.deviceGetClockInfo = Resolve<nvmlDeviceGetClockInfo_fn>(h, {"nvmlDeviceGetClockInfo"});
  a.deviceGetMaxClockInfo = Resolve<nvmlDeviceGetClockInfo_fn>(h, {"nvmlDeviceGetMaxClockInfo"});
  a.deviceGetEncoderUtilization = Resolve<nvmlDeviceGetUtilSampled_fn>(h, {"nvmlDeviceGetEncoderUtilization"});
  a.deviceGetDecoderUtilization = Resolve<nvmlDeviceGetUtilSampled_fn>(h, {"nvmlDeviceGetDecoderUtilization"});
  a.deviceGetPcieReplayCounter = Resolve<nvmlDeviceGetUInt_fn>(h, {"nvmlDeviceGetPcieReplayCounter"});
  a.deviceGetClockEventReasons = Resolve<nvmlDeviceGetULL_fn>(
      h, {"nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons"});
  a.deviceGetViolationStatus = Resolve<nvmlDeviceGetViolationStatus_fn>(h, {"nvmlDeviceGetViolationStatus"});
  a.deviceGetTotalEccErrors = Resolve<nvmlDeviceGetTotalEccErrors_fn>(h, {"nvmlDeviceGetTotalEccErrors"});
  a.deviceGetRetiredPages = Resolve<nvmlDeviceGetRetiredPages_fn>(h, {"nvmlDeviceGetRetiredPages"});
  a.deviceGetRemappedRows = Resolve<nvmlDeviceGetRemappedRows_fn>(h, {"nvmlDeviceGetRemappedRows"});
  a.deviceGetFanSpeed = Resolve<nvmlDeviceGetUInt_fn>(h, {"nvmlDeviceGetFanSpeed"});
  a.deviceGetPcieThroughput = Resolve<nvmlDeviceGetPcieThroughput_fn>(h, {"nvmlDeviceGetPcieThroughput"});
  a.deviceGetPowerManagementLimitConstraints =
      Resolve<nvmlDeviceGetUIntPair_fn>(h, {"nvmlDeviceGetPowerManagementLimitConstraints"});
  a.deviceGetPowerManagementDefaultLimit =
      Resolve<nvmlDeviceGetUInt_fn>(h, {"nvmlDeviceGetPowerManagementDefaultLimit"});
  a.deviceGetPowerManagementLimit = Resolve<nvmlDeviceGetUInt_fn>(h, {"nvmlDeviceGetPowerManagementLimit"});
  a.deviceGetPerformanceState = Resolve<nvmlDeviceGetIntOut_fn>(h, {"nvmlDeviceGetPerformanceState"});
  a.deviceGetCurrPcieLinkGeneration = Resolve<nvmlDeviceGetUInt_fn>(h, {"nvmlDeviceGetCurrPcieLinkGeneration"});
  a.deviceGetMaxPcieLinkGeneration = Resolve<nvmlDeviceGetUInt_fn>(h, {"nvmlDeviceGetMaxPcieLinkGeneration"});
  a.deviceGetCurrPcieLinkWidth = Resolve<nvmlDeviceGetUInt_fn>(h, {"nvmlDeviceGetCurrPcieLinkWidth"});
  a.deviceGetMaxPcieLinkWidth = Resolve<nvmlDeviceGetUInt_fn>(h, {"nvmlDeviceGetMaxPcieLinkWidth"});
  a.deviceGetTemperatureThreshold =
      Resolve<nvmlDeviceGetTemperatureThreshold_fn>(h, {"nvmlDeviceGetTemperatureThreshold"});
  a.deviceGetBAR1MemoryInfo = Resolve<nvmlDeviceGetBAR1MemoryInfo_fn>(h, {"nvmlDeviceGetBAR1MemoryInfo"});
  a.deviceGetComputeMode = Resolve<nvmlDeviceGetIntOut_fn>(h, {"nvmlDeviceGetComputeMode"});
  a.deviceGetPersistenceMode = Resolve<nvmlDeviceGetIntOut_fn>(h, {"nvmlDeviceGetPersistenceMode"});
  a.deviceGetEccMode = Resolve<nvmlDeviceGetUIntPair_fn>(h, {"nvmlDeviceGetEccMode"});
  a.deviceGetApplicationsClock = Resolve<nvmlDeviceGetClockInfo_fn>(h, {"nvmlDeviceGetApplicationsClock"});
  // Only the forms whose entry stride is known: older ones wrote shorter entries.
  const char *licName = nullptr;
  a.deviceGetGridLicensableFeatures = Resolve<nvmlDeviceGetGridLicensableFeatures_fn>(
      h, {"nvmlDeviceGetGridLicensableFeatures_v4", "nvmlDeviceGetGridLicensableFeatures_v3"}, &licName);
  a.gridLicensableFeatureStride = licName == nullptr ? 0
                                  : std::string(licName) == "nvmlDeviceGetGridLicensableFeatures_v4"
                                      ? NVML_GRID_LICENSABLE_FEATURE_V4_SIZE
                                      : NVML_GRID_LICENSABLE_FEATURE_V3_SIZE;

  a.deviceGetMaxMigDeviceCount = Resolve<nvmlDeviceGetUInt_fn>(h, {"nvmlDeviceGetMaxMigDeviceCount"});
  a.deviceGetMigDeviceHandleByIndex =
      Resolve<nvmlDeviceGetMigDeviceHandleByIndex_fn>(h, {"nvmlDeviceGetMigDeviceHandleByIndex"});
  a.deviceGetGpuInstanceId = Resolve<nvmlDeviceGetUInt_fn>(h, {"nvmlDeviceGetGpuInstanceId"});
  a.deviceGetComputeInstanceId = Resolve<nvmlDeviceGetUInt_fn>(h, {"nvmlDeviceGetComputeInstanceId"});
  a.deviceGetGpuInstanceById = Resolve<nvmlDeviceGetGpuInstanceById_fn>(h, {"nvmlDeviceGetGpuInstanceById"});
  a.gpuInstanceGetInfo = Resolve<nvmlGpuInstanceGetInfo_fn>(h, {"nvmlGpuInstanceGetInfo"});
  a.deviceGetGpuInstanceProfileInfoByIdV =
      Resolve<nvmlDeviceGetGpuInstanceProfileInfoV_fn>(h, {"nvmlDeviceGetGpuInstanceProfileInfoByIdV"});
  a.deviceGetGpuInstanceProfileInfoV =
      Resolve<nvmlDeviceGetGpuInstanceProfileInfoV_fn>(h, {"nvmlDeviceGetGpuInstanceProfileInfoV"});
  a.deviceGetGpuInstanceProfileInfo =
      Resolve<nvmlDeviceGetGpuInstanceProfileInfo_fn>(h, {"nvmlDeviceGetGpuInstanceProfileInfo"});

  a.eventSetCreate = Resolve<nvmlEventSetCreate_fn>(h, {"nvmlEventSetCreate"});
  a.deviceGetSupportedEventTypes = Resolve<nvmlDeviceGetULL_fn>(h, {"nvmlDeviceGetSupportedEventTypes"});
  a.deviceRegisterEvents = Resolve<nvmlDeviceRegisterEvents_fn>(h, {"nvmlDeviceRegisterEvents"});
  a.eventSetWaitV2 = Resolve<nvmlEventSetWait_fn>(h, {"nvmlEventSetWait_v2"});
  a.eventSetWait = Resolve<nvmlEventSetWait_fn>(h, {"nvmlEventSetWait"});
  a.eventSetFree = Resolve<nvmlEventSetFree_fn>(h, {"nvmlEventSetFree"});

  a.gpmQueryDeviceSupport = Resolve<nvmlGpmQueryDeviceSupport_fn>(h, {"nvmlGpmQueryDeviceSupport"});
  a.gpmSampleAlloc = Resolve<nvmlGpmSampleAlloc_fn>(h, {"nvmlGpmSampleAlloc"});
  a.gpmSampleFree = Resolve<nvmlGpmSampleFree_fn>(h, {"nvmlGpmSampleFree"});
  a.gpmSampleGet = Resolve<nvmlGpmSampleGet_fn>(h, {"nvmlGpmSampleGet"});
  a.gpmMigSampleGet = Resolve<nvmlGpmMigSampleGet_fn>(h, {"nvmlGpmMigSampleGet"});
  a.gpmMetricsGet = Resolve<nvmlGpmMetricsGet_fn>(h, {"nvmlGpmMetricsGet"});
  const auto plainOnly = [](const char *found, const char *plain) {
    return found != nullptr && std::string(found) == plain;
  };
  const char *found = nullptr;
  a.deviceGetComputeRunningProcesses = Resolve<nvmlDeviceGetRunningProcesses_fn>(
      h, {"nvmlDeviceGetComputeRunningProcesses_v3", "nvmlDeviceGetComputeRunningProcesses_v2",
          "nvmlDeviceGetComputeRunningProcesses"}, &found);
  a.computeProcessesV1 = plainOnly(found, "nvmlDeviceGetComputeRunningProcesses");
  found = nullptr;
  a.deviceGetGraphicsRunningProcesses = Resolve<nvmlDeviceGetRunningProcesses_fn>(
      h, {"nvmlDeviceGetGraphicsRunningProcesses_v3", "nvmlDeviceGetGraphicsRunningProcesses_v2",
          "nvmlDeviceGetGraphicsRunningProcesses"}, &found);
  a.graphicsProcessesV1 = plainOnly(found, "nvmlDeviceGetGraphicsRunningProcesses");
  found = nullptr;
  a.deviceGetMpsComputeRunningProcesses = Resolve<nvmlDeviceGetRunningProcesses_fn>(
      h, {"nvmlDeviceGetMPSComputeRunningProcesses_v3", "nvmlDeviceGetMPSComputeRunningProcesses_v2",
          "nvmlDeviceGetMPSComputeRunningProcesses"}, &found);
  a.mpsProcessesV1 = plainOnly(found, "nvmlDeviceGetMPSComputeRunningProcesses");
  a.deviceGetProcessUtilization =
      Resolve<nvmlDeviceGetProcessUtilization_fn>(h, {"nvmlDeviceGetProcessUtilization"});
  return true;
}

nvmlReturn_t Library::Init() {
  if (api_.init == nullptr) return NVML_ERROR_FUNCTION_NOT_FOUND;
  nvmlReturn_t r = api_.init();
  initialized_ = r == NVML_SUCCESS;
  return r;
}

void Library::Close() {
  if (initialized_ && api_.shutdown != nullptr) api_.shutdown();
  initialized_ = false;
  if (handle_ != nullptr) dlclose(handle_);
  handle_ = nullptr;
  api_ = NvmlApi();
}

}  // namespace nvx
