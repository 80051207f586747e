// sweep.cc — one sweep over every GPU (see sweep.h): system strings, enumeration, identity, and
// the reading groups of device_reads.cc. Every reading keeps its own NVML code; a GPU that answers
// GPU_IS_LOST / GPU_NOT_FOUND is marked lost and skipped until its handle is looked up again on a
// later sweep.
#include "sweep.h"

#include <chrono>
#include <cstring>

#include "device_reads.h"

namespace nvx {

const char *const kReadingNames[R_COUNT] = {NVX_READINGS(NVX_READING_NAME)};

void Sweeper::ReadIdentity(nvmlDevice_t h, GpuSample &g, int &lost) {
  nvmlReturn_t rc;
  auto note = [&](nvmlReturn_t r) {
    if (IsLost(r)) lost = r;
    return r == NVML_SUCCESS;
  };
  unsigned v = 0;
  if (a_.deviceGetIndex != nullptr && note(a_.deviceGetIndex(h, &v))) g.index = v;
  if (lost) return;
  g.minor = (a_.deviceGetMinorNumber != nullptr && note(a_.deviceGetMinorNumber(h, &v))) ? v : -1;
  if (lost) return;
  g.uuid = ReadString(a_.deviceGetUuid, h, NVML_DEVICE_UUID_V2_BUFFER_SIZE, rc);
  if (note(rc), lost) return;
  g.name = ReadString(a_.deviceGetName, h, NVML_DEVICE_NAME_V2_BUFFER_SIZE, rc);
  if (note(rc), lost) return;
  g.serial = ReadString(a_.deviceGetSerial, h, NVML_DEVICE_SERIAL_BUFFER_SIZE, rc);
  g.hasSerial = note(rc);
  if (lost) return;
  if (a_.deviceGetPciInfo != nullptr) {
    nvmlPciInfo_t pci;
    std::memset(&pci, 0, sizeof pci);
    if (note(a_.deviceGetPciInfo(h, &pci))) {
      pci.busId[sizeof pci.busId - 1] = '\0';
      g.pciBusId = pci.busId;
    }
  }
  if (lost) return;
  g.vbios = ReadString(a_.deviceGetVbiosVersion, h, NVML_DEVICE_VBIOS_VERSION_BUFFER_SIZE, rc);
  if (note(rc), lost) return;
  g.inforomImage = ReadString(a_.deviceGetInforomImageVersion, h, NVML_DEVICE_INFOROM_VERSION_BUFFER_SIZE, rc);
  if (note(rc), lost) return;
  if (a_.deviceGetInforomVersion != nullptr) {
    const std::pair<int, std::string *> objects[3] = {
        {NVML_INFOROM_OEM, &g.inforomOem}, {NVML_INFOROM_ECC, &g.inforomEcc}, {NVML_INFOROM_POWER, &g.inforomPower}};
    for (const auto &o : objects) {
      char buf[NVML_DEVICE_INFOROM_VERSION_BUFFER_SIZE + 1];
      std::memset(buf, 0, sizeof buf);
      if (note(a_.deviceGetInforomVersion(h, o.first, buf, NVML_DEVICE_INFOROM_VERSION_BUFFER_SIZE))) *o.second = buf;
      if (lost) return;
    }
  }
  int brand = 0;
  if (a_.deviceGetBrand != nullptr && note(a_.deviceGetBrand(h, &brand))) g.brand = BrandName(brand);
}

void Sweeper::ReadDevice(Slot &s, bool pcie, GpuSample &g, int &lost) {
  Dev d{s.handle, g.r, lost};
  const NvmlApi &a = a_;
  Utilization(a, d);
  if (lost) return;
  Memory(a, d);
  d.U32(R_POWER_USAGE, a.deviceGetPowerUsage);
  d.U32(R_POWER_LIMIT, a.deviceGetEnforcedPowerLimit);
  d.U64(R_ENERGY, a.deviceGetTotalEnergyConsumption);
  if (lost) return;
  Temperature(a, d);
  Fields(a, d, s.legacyViolations);
  if (lost) return;
  d.Clock(R_SM_CLOCK, a.deviceGetClockInfo, NVML_CLOCK_SM);
  d.Clock(R_MEM_CLOCK, a.deviceGetClockInfo, NVML_CLOCK_MEM);
  d.Clock(R_GRAPHICS_CLOCK, a.deviceGetClockInfo, NVML_CLOCK_GRAPHICS);
  d.Clock(R_VIDEO_CLOCK, a.deviceGetClockInfo, NVML_CLOCK_VIDEO);
  d.Clock(R_MAX_SM_CLOCK, a.deviceGetMaxClockInfo, NVML_CLOCK_SM);
  d.Clock(R_MAX_MEM_CLOCK, a.deviceGetMaxClockInfo, NVML_CLOCK_MEM);
  if (lost) return;
  d.Sampled(R_ENC_UTIL, a.deviceGetEncoderUtilization);
  d.Sampled(R_DEC_UTIL, a.deviceGetDecoderUtilization);
  d.U32(R_PCIE_REPLAY, a.deviceGetPcieReplayCounter);
  d.U64(R_CLOCK_EVENT_REASONS, a.deviceGetClockEventReasons);
  if (lost) return;
  Ecc(a, d);
  if (lost) return;
  RetiredAndRemapped(a, d);
  if (lost) return;
  d.U32(R_FAN_SPEED, a.deviceGetFanSpeed);
  if (pcie && !lost) Pcie(a, d);
  if (lost) return;
  Settings(a, d);
  if (lost) return;
  if (g.migMode == 1) ReadMig(s.handle, g, lost);
  if (lost) return;
  gpm_.Sample(s.handle, g, gpmMode_, lost);
}

// The processes of every answering GPU, or of each of its MIG devices where MIG is on (the MIG
// device handles are looked up again: the sweep keeps only their slots).
void Sweeper::ReadProcesses(SweepData &out) {
  const auto t0 = std::chrono::steady_clock::now();
  ProcessData &p = out.processes;
  p.read = true;
  for (unsigned i = 0; i < out.gpus.size() && i < slots_.size(); i++) {
    const GpuSample &g = out.gpus[i];
    if (g.lostCode != 0 || !slots_[i].valid) continue;
    if (g.migMode == 1) {
      for (const MigSample &m : g.mig) {
        nvmlDevice_t mh = nullptr;
        if (a_.deviceGetMigDeviceHandleByIndex == nullptr ||
            a_.deviceGetMigDeviceHandleByIndex(slots_[i].handle, m.slot, &mh) != NVML_SUCCESS) {
          continue;
        }
        p.devices.emplace_back();
        p.devices.back().gpu = i;
        p.devices.back().slot = static_cast<int>(m.slot);
        procs_.Read(mh, m.uuid, p.devices.back());
      }
      continue;
    }
    p.devices.emplace_back();
    p.devices.back().gpu = i;
    procs_.Read(slots_[i].handle, g.uuid, p.devices.back());
  }
  procs_.EndSweep();
  p.stride = procs_.stride();
  p.durationUs = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
}

void Sweeper::Run(bool pcie, SweepData &out, int gpmMode, bool processes) {
  const auto t0 = std::chrono::steady_clock::now();
  gpmMode_ = gpmMode;
  auto finish = [&]() {
    gpm_.EndSweep();
    const auto t1 = std::chrono::steady_clock::now();
    out.durationUs = std::chrono::duration<double, std::micro>(t1 - t0).count();
    out.timestampMs = std::chrono::duration<double, std::milli>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
    profiles_.swap(seenProfiles_);  // the MIG profiles of the devices seen this sweep
    seenProfiles_.clear();
  };
  char buf[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE];
  if (a_.systemGetDriverVersion != nullptr && a_.systemGetDriverVersion(buf, sizeof buf) == NVML_SUCCESS) {
    buf[sizeof buf - 1] = '\0';
    out.driverVersion = buf;
  }
  if (a_.systemGetNvmlVersion != nullptr && a_.systemGetNvmlVersion(buf, sizeof buf) == NVML_SUCCESS) {
    buf[sizeof buf - 1] = '\0';
    out.nvmlVersion = buf;
  }
  // `_v2` asks libcuda, which is not mounted under NVIDIA_DRIVER_CAPABILITIES=utility: it then
  // answers LIBRARY_NOT_FOUND, while the plain call still knows the version the driver supports.
  int cuda = 0;
  nvmlReturn_t crc = NVML_ERROR_FUNCTION_NOT_FOUND;
  if (!cudaPlainOnly_ && a_.systemGetCudaDriverVersionV2 != nullptr) {
    crc = a_.systemGetCudaDriverVersionV2(&cuda);
    if (crc == NVML_ERROR_LIBRARY_NOT_FOUND || crc == NVML_ERROR_FUNCTION_NOT_FOUND) cudaPlainOnly_ = true;
  }
  if (crc != NVML_SUCCESS && a_.systemGetCudaDriverVersion != nullptr) crc = a_.systemGetCudaDriverVersion(&cuda);
  if (crc == NVML_SUCCESS) out.cudaDriverVersion = cuda;

  unsigned count = 0;
  nvmlReturn_t rc = a_.deviceGetCount != nullptr ? a_.deviceGetCount(&count) : NVML_ERROR_FUNCTION_NOT_FOUND;
  if (rc != NVML_SUCCESS) {
    out.errorCode = rc;
    out.errorCall = "nvmlDeviceGetCount";
    return finish();
  }
  slots_.resize(count);
  out.gpus.resize(count);
  for (unsigned i = 0; i < count; i++) {
    Slot &s = slots_[i];
    GpuSample &g = out.gpus[i];
    int lost = 0;
    if (!s.valid) {
      s.identity.index = i;
      s.legacyViolations = false;
      rc = a_.deviceGetHandleByIndex != nullptr ? a_.deviceGetHandleByIndex(i, &s.handle)
                                                : NVML_ERROR_FUNCTION_NOT_FOUND;
      if (rc != NVML_SUCCESS) {
        g = s.identity;
        g.lostCode = rc;
        continue;
      }
      GpuSample fresh;
      fresh.index = i;
      ReadIdentity(s.handle, fresh, lost);
      if (!lost) {
        s.identity = fresh;
        s.valid = true;
      }
    }
    if (!lost) {
      unsigned cur = 0, pending = 0;
      rc = a_.deviceGetMigMode != nullptr ? a_.deviceGetMigMode(s.handle, &cur, &pending) : NVML_ERROR_FUNCTION_NOT_FOUND;
      if (IsLost(rc)) lost = rc;
      s.identity.migMode = rc == NVML_SUCCESS ? (cur == NVML_DEVICE_MIG_ENABLE ? 1 : 0) : -1;
    }
    const GpuSample &id = s.identity;
    g.index = id.index;
    g.minor = id.minor;
    g.uuid = id.uuid;
    g.name = id.name;
    g.pciBusId = id.pciBusId;
    g.serial = id.serial;
    g.hasSerial = id.hasSerial;
    g.vbios = id.vbios;
    g.inforomImage = id.inforomImage;
    g.inforomOem = id.inforomOem;
    g.inforomEcc = id.inforomEcc;
    g.inforomPower = id.inforomPower;
    g.brand = id.brand;
    g.migMode = id.migMode;
    if (!lost) ReadDevice(s, pcie, g, lost);
    if (lost) {
      g.lostCode = lost;
      g.r.Clear();
      g.mig.clear();
      g.gpm = GpmGpuSample();
      s.valid = false;  // look the handle up again next sweep
    }
  }
  if (processes) ReadProcesses(out);
  finish();
}

}  // namespace nvx
