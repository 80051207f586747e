// mig.cc — the MIG devices of a MIG-enabled GPU, and the profile label of each (see sweep.h).
//
// A MIG device handle stands for a compute instance; several can share one GPU instance (and its
// memory). The profile label (GPU_I_PROFILE) is the GPU instance's, built as DCGM builds it:
// "<sliceCount>g.<ceil(memorySizeMB / 1024)>gb" from the GPU-instance profile info. The MIG
// device's name is not used for it while the profile info can be read: the name carries a
// compute-instance prefix (`1c.2g.20gb`) when the instance uses part of its GPU instance, and a
// suffix such as `+me` for media-extension profiles.
#include <cstring>

#include "device_reads.h"

namespace nvx {

namespace {

// sliceCount and memorySizeMB of a profile through a V-style call (v3 layout first, then v2).
nvmlReturn_t ProfileInfoV(nvmlDeviceGetGpuInstanceProfileInfoV_fn fn, nvmlDevice_t parent, unsigned arg,
                          unsigned &id, unsigned &slices, unsigned long long &memMB) {
  nvmlGpuInstanceProfileInfo_v3_t v3;
  std::memset(&v3, 0, sizeof v3);
  v3.version = nvmlGpuInstanceProfileInfo_v3;
  nvmlReturn_t rc = fn(parent, arg, reinterpret_cast<nvmlGpuInstanceProfileInfo_v2_t *>(&v3));
  if (rc == NVML_SUCCESS) {
    id = v3.id;
    slices = v3.sliceCount;
    memMB = v3.memorySizeMB;
    return rc;
  }
  if (rc != NVML_ERROR_ARGUMENT_VERSION_MISMATCH && rc != NVML_ERROR_INVALID_ARGUMENT) return rc;
  nvmlGpuInstanceProfileInfo_v2_t v2;  // a driver that knows v2 only
  std::memset(&v2, 0, sizeof v2);
  v2.version = nvmlGpuInstanceProfileInfo_v2;
  rc = fn(parent, arg, &v2);
  if (rc == NVML_SUCCESS) {
    id = v2.id;
    slices = v2.sliceCount;
    memMB = v2.memorySizeMB;
  }
  return rc;
}

// The profile whose id is `profileId`: by id where the driver has that call, else by walking the
// profile indexes (the id is not the index: an H100's 1g.10gb is index 0, id 19).
nvmlReturn_t ProfileById(const NvmlApi &a, nvmlDevice_t parent, unsigned profileId, unsigned &slices,
                         unsigned long long &memMB) {
  unsigned id = 0;
  if (a.deviceGetGpuInstanceProfileInfoByIdV != nullptr) {
    nvmlReturn_t rc = ProfileInfoV(a.deviceGetGpuInstanceProfileInfoByIdV, parent, profileId, id, slices, memMB);
    if (rc != NVML_ERROR_FUNCTION_NOT_FOUND) return rc;
  }
  if (a.deviceGetGpuInstanceProfileInfoV == nullptr && a.deviceGetGpuInstanceProfileInfo == nullptr) {
    return NVML_ERROR_FUNCTION_NOT_FOUND;
  }
  for (unsigned p = 0; p < 64; p++) {  // until INVALID_ARGUMENT: past the last profile this driver knows
    nvmlReturn_t rc;
    if (a.deviceGetGpuInstanceProfileInfoV != nullptr) {
      rc = ProfileInfoV(a.deviceGetGpuInstanceProfileInfoV, parent, p, id, slices, memMB);
    } else {
      nvmlGpuInstanceProfileInfo_t v1;
      std::memset(&v1, 0, sizeof v1);
      rc = a.deviceGetGpuInstanceProfileInfo(parent, p, &v1);
      id = v1.id;
      slices = v1.sliceCount;
      memMB = v1.memorySizeMB;
    }
    if (rc == NVML_ERROR_NOT_SUPPORTED) continue;  // a profile this GPU does not have
    if (rc != NVML_SUCCESS) return rc == NVML_ERROR_INVALID_ARGUMENT ? NVML_ERROR_NOT_FOUND : rc;
    if (id == profileId) return NVML_SUCCESS;
  }
  return NVML_ERROR_NOT_FOUND;
}

// `… MIG 1c.2g.20gb` → `2g.20gb`, `… MIG 1g.10gb+me` → `1g.10gb`: the GPU-instance part of the
// name, in the form DCGM gives the label.
std::string ProfileFromName(const std::string &name) {
  const size_t at = name.rfind("MIG ");
  if (at == std::string::npos) return std::string();
  std::string p = name.substr(at + 4);
  p = p.substr(0, p.find(' '));
  const size_t c = p.find("c.");
  if (c != std::string::npos && c > 0 && p.find_first_not_of("0123456789") == c) p = p.substr(c + 2);
  const size_t plus = p.find('+');
  if (plus != std::string::npos) p = p.substr(0, plus);
  return p;
}

}  // namespace

// `keep`: the outcome will not change for this MIG device (cache it); false after an error that
// may pass (the next sweep asks again).
Sweeper::Profile Sweeper::MigProfile(nvmlDevice_t parent, const MigSample &m, bool &keep) {
  keep = true;
  nvmlReturn_t rc = NVML_ERROR_FUNCTION_NOT_FOUND;
  if (m.gpuInstanceId >= 0 && a_.deviceGetGpuInstanceById != nullptr && a_.gpuInstanceGetInfo != nullptr) {
    nvmlGpuInstance_t gi = nullptr;
    rc = a_.deviceGetGpuInstanceById(parent, static_cast<unsigned>(m.gpuInstanceId), &gi);
    nvmlGpuInstanceInfo_t info;
    std::memset(&info, 0, sizeof info);
    if (rc == NVML_SUCCESS) rc = a_.gpuInstanceGetInfo(gi, &info);
    unsigned slices = 0;
    unsigned long long memMB = 0;
    const bool haveInfo = rc == NVML_SUCCESS;
    if (rc == NVML_SUCCESS) rc = ProfileById(a_, parent, info.profileId, slices, memMB);
    if (rc == NVML_SUCCESS && slices > 0) {
      return {std::to_string(slices) + "g." + std::to_string((memMB + 1023) / 1024) + "gb", "gpuInstance",
              static_cast<long long>(info.profileId), static_cast<long long>(info.placement.start)};
    }
    if (haveInfo) {
      // the profile's size is unknown, but the instance's id and placement are: the name gives the label
      keep = rc == NVML_ERROR_FUNCTION_NOT_FOUND || rc == NVML_ERROR_NO_PERMISSION || rc == NVML_ERROR_NOT_SUPPORTED ||
             rc == NVML_ERROR_NOT_FOUND || rc == NVML_ERROR_INVALID_ARGUMENT || rc == NVML_SUCCESS;
      std::string fromName = ProfileFromName(m.name);
      return {fromName, fromName.empty() ? "" : "name", static_cast<long long>(info.profileId),
              static_cast<long long>(info.placement.start)};
    }
  }
  // Absent calls, or not permitted (they can need a privileged caller): the name, parsed.
  keep = rc == NVML_ERROR_FUNCTION_NOT_FOUND || rc == NVML_ERROR_NO_PERMISSION || rc == NVML_ERROR_NOT_SUPPORTED ||
         rc == NVML_ERROR_NOT_FOUND || rc == NVML_SUCCESS;
  std::string fromName = ProfileFromName(m.name);
  return {fromName, fromName.empty() ? "" : "name", -1, -1};
}

void Sweeper::ReadMig(nvmlDevice_t h, GpuSample &g, int &lost) {
  if (a_.deviceGetMaxMigDeviceCount == nullptr || a_.deviceGetMigDeviceHandleByIndex == nullptr) return;
  unsigned max = 0;
  nvmlReturn_t rc = a_.deviceGetMaxMigDeviceCount(h, &max);
  if (IsLost(rc)) lost = rc;
  if (rc != NVML_SUCCESS) return;
  for (unsigned s = 0; s < max && !lost; s++) {
    nvmlDevice_t m = nullptr;
    rc = a_.deviceGetMigDeviceHandleByIndex(h, s, &m);
    if (IsLost(rc)) lost = rc;
    if (rc != NVML_SUCCESS) continue;  // NOT_FOUND: an empty slot
    MigSample ms;
    ms.slot = s;
    ms.handle = m;
    ms.uuid = ReadString(a_.deviceGetUuid, m, NVML_DEVICE_UUID_V2_BUFFER_SIZE, rc);
    ms.name = ReadString(a_.deviceGetName, m, NVML_DEVICE_NAME_V2_BUFFER_SIZE, rc);
    unsigned id = 0;
    if (a_.deviceGetGpuInstanceId != nullptr && a_.deviceGetGpuInstanceId(m, &id) == NVML_SUCCESS) ms.gpuInstanceId = id;
    if (a_.deviceGetComputeInstanceId != nullptr && a_.deviceGetComputeInstanceId(m, &id) == NVML_SUCCESS) {
      ms.computeInstanceId = id;
    }
    // The profile is looked up once per MIG device (by UUID: a re-created instance has a new one).
    const std::string key = ms.uuid + '\n' + std::to_string(ms.gpuInstanceId) + '\n' + ms.name;
    auto it = profiles_.find(key);
    Profile p;
    bool keep = true;
    if (it != profiles_.end()) p = it->second;
    else p = MigProfile(h, ms, keep);
    if (keep) seenProfiles_[key] = p;  // becomes the cache when the sweep ends (Run)
    ms.profile = p.name;
    ms.profileSource = p.source;
    ms.giProfileId = p.profileId;
    ms.giPlacementStart = p.placementStart;
    int migLost = 0;
    Dev d{m, ms.r, migLost};
    Utilization(a_, d);
    Memory(a_, d);
    g.mig.push_back(std::move(ms));
  }
}

}  // namespace nvx
