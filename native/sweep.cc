// sweep.cc — the per-GPU readings of one sweep (see sweep.h). Every reading keeps its own NVML
// code; a GPU that answers GPU_IS_LOST / GPU_NOT_FOUND is marked lost and skipped until its handle
// is looked up again on a later sweep.
#include "sweep.h"

#include <chrono>
#include <cstring>

namespace nvx {

const char *const kReadingNames[R_COUNT] = {NVX_READINGS(NVX_READING_NAME)};

namespace {

bool IsLost(nvmlReturn_t rc) { return rc == NVML_ERROR_GPU_IS_LOST || rc == NVML_ERROR_GPU_NOT_FOUND; }

// Records one call's outcome for reading `k`; remembers a lost-GPU code.
struct Dev {
  nvmlDevice_t h;
  ReadingSet &r;
  int &lost;
  bool Ok(int k, nvmlReturn_t rc) {
    if (rc == NVML_SUCCESS) return true;
    if (IsLost(rc)) lost = rc;
    r.Fail(k, rc);
    return false;
  }
  void U32(int k, nvmlDeviceGetUInt_fn fn) {
    if (fn == nullptr) return r.Fail(k, NVML_ERROR_FUNCTION_NOT_FOUND);
    unsigned v = 0;
    if (Ok(k, fn(h, &v))) r.Set(k, v);
  }
  void U64(int k, nvmlDeviceGetULL_fn fn) {
    if (fn == nullptr) return r.Fail(k, NVML_ERROR_FUNCTION_NOT_FOUND);
    unsigned long long v = 0;
    if (Ok(k, fn(h, &v))) r.Set(k, static_cast<double>(v));
  }
  void Clock(int k, nvmlDeviceGetClockInfo_fn fn, int type) {
    if (fn == nullptr) return r.Fail(k, NVML_ERROR_FUNCTION_NOT_FOUND);
    unsigned v = 0;
    if (Ok(k, fn(h, type, &v))) r.Set(k, v);
  }
  void Sampled(int k, nvmlDeviceGetUtilSampled_fn fn) {
    if (fn == nullptr) return r.Fail(k, NVML_ERROR_FUNCTION_NOT_FOUND);
    unsigned v = 0, period = 0;
    if (Ok(k, fn(h, &v, &period))) r.Set(k, v);
  }
  void FailAll(std::initializer_list<int> keys, int code) {
    for (int k : keys) r.Fail(k, code);
  }
};

double FieldNumber(const nvmlFieldValue_t &f) {
  switch (f.valueType) {
    case NVML_VALUE_TYPE_DOUBLE: return f.value.dVal;
    case NVML_VALUE_TYPE_UNSIGNED_INT: return f.value.uiVal;
    case NVML_VALUE_TYPE_UNSIGNED_LONG: return static_cast<double>(f.value.ulVal);
    case NVML_VALUE_TYPE_UNSIGNED_LONG_LONG: return static_cast<double>(f.value.ullVal);
    case NVML_VALUE_TYPE_SIGNED_LONG_LONG: return static_cast<double>(f.value.sllVal);
    case NVML_VALUE_TYPE_SIGNED_INT: return f.value.siVal;
    case NVML_VALUE_TYPE_UNSIGNED_SHORT: return f.value.usVal;
    default: return static_cast<double>(f.value.ullVal);
  }
}

void Memory(const NvmlApi &a, Dev &d) {
  if (a.deviceGetMemoryInfoV2 != nullptr) {
    nvmlMemory_v2_t m;
    std::memset(&m, 0, sizeof m);
    m.version = nvmlMemory_v2;
    nvmlReturn_t rc = a.deviceGetMemoryInfoV2(d.h, &m);
    if (rc != NVML_ERROR_FUNCTION_NOT_FOUND && rc != NVML_ERROR_ARGUMENT_VERSION_MISMATCH) {
      if (rc != NVML_SUCCESS) return (void)(d.Ok(R_MEM_TOTAL, rc), d.FailAll({R_MEM_RESERVED, R_MEM_FREE, R_MEM_USED}, rc));
      d.r.Set(R_MEM_TOTAL, static_cast<double>(m.total));
      d.r.Set(R_MEM_RESERVED, static_cast<double>(m.reserved));
      d.r.Set(R_MEM_FREE, static_cast<double>(m.free));
      d.r.Set(R_MEM_USED, static_cast<double>(m.used));
      return;
    }
  }
  d.r.Fail(R_MEM_RESERVED, NVML_ERROR_FUNCTION_NOT_FOUND);  // only v2 reports reserved memory
  if (a.deviceGetMemoryInfo == nullptr) {
    return d.FailAll({R_MEM_TOTAL, R_MEM_FREE, R_MEM_USED}, NVML_ERROR_FUNCTION_NOT_FOUND);
  }
  nvmlMemory_t m;
  std::memset(&m, 0, sizeof m);
  nvmlReturn_t rc = a.deviceGetMemoryInfo(d.h, &m);
  if (!d.Ok(R_MEM_TOTAL, rc)) return d.FailAll({R_MEM_FREE, R_MEM_USED}, rc);
  d.r.Set(R_MEM_TOTAL, static_cast<double>(m.total));
  d.r.Set(R_MEM_FREE, static_cast<double>(m.free));
  d.r.Set(R_MEM_USED, static_cast<double>(m.used));
}

void Utilization(const NvmlApi &a, Dev &d) {
  if (a.deviceGetUtilizationRates == nullptr) {
    return d.FailAll({R_GPU_UTIL, R_MEM_UTIL}, NVML_ERROR_FUNCTION_NOT_FOUND);
  }
  nvmlUtilization_t u{0, 0};
  nvmlReturn_t rc = a.deviceGetUtilizationRates(d.h, &u);
  if (!d.Ok(R_GPU_UTIL, rc)) return d.r.Fail(R_MEM_UTIL, rc);
  d.r.Set(R_GPU_UTIL, u.gpu);
  d.r.Set(R_MEM_UTIL, u.memory);
}

void Temperature(const NvmlApi &a, Dev &d) {
  if (a.deviceGetTemperatureV != nullptr) {
    nvmlTemperature_t t;
    std::memset(&t, 0, sizeof t);
    t.version = nvmlTemperature_v1;
    t.sensorType = NVML_TEMPERATURE_GPU;
    nvmlReturn_t rc = a.deviceGetTemperatureV(d.h, &t);
    if (rc != NVML_ERROR_FUNCTION_NOT_FOUND && rc != NVML_ERROR_ARGUMENT_VERSION_MISMATCH) {
      if (d.Ok(R_GPU_TEMP, rc)) d.r.Set(R_GPU_TEMP, t.temperature);
      return;
    }
  }
  if (a.deviceGetTemperature == nullptr) return d.r.Fail(R_GPU_TEMP, NVML_ERROR_FUNCTION_NOT_FOUND);
  unsigned v = 0;
  if (d.Ok(R_GPU_TEMP, a.deviceGetTemperature(d.h, NVML_TEMPERATURE_GPU, &v))) d.r.Set(R_GPU_TEMP, v);
}

// Memory temperature, retired-pending flag and NVLink counters come from field values.
void Fields(const NvmlApi &a, Dev &d) {
  if (a.deviceGetFieldValues == nullptr) {
    return d.FailAll({R_MEM_TEMP, R_RETIRED_PENDING, R_NVLINK_TX, R_NVLINK_RX}, NVML_ERROR_FUNCTION_NOT_FOUND);
  }
  nvmlFieldValue_t f[3];
  std::memset(f, 0, sizeof f);
  f[0].fieldId = NVML_FI_DEV_MEMORY_TEMP;
  f[1].fieldId = NVML_FI_DEV_RETIRED_PENDING;
  f[2].fieldId = NVML_FI_DEV_NVLINK_LINK_COUNT;
  nvmlReturn_t rc = a.deviceGetFieldValues(d.h, 3, f);
  if (!d.Ok(R_MEM_TEMP, rc)) return d.FailAll({R_RETIRED_PENDING, R_NVLINK_TX, R_NVLINK_RX}, rc);
  if (d.Ok(R_MEM_TEMP, f[0].nvmlReturn)) d.r.Set(R_MEM_TEMP, FieldNumber(f[0]));
  if (d.Ok(R_RETIRED_PENDING, f[1].nvmlReturn)) d.r.Set(R_RETIRED_PENDING, FieldNumber(f[1]));
  if (!d.Ok(R_NVLINK_TX, f[2].nvmlReturn)) return d.r.Fail(R_NVLINK_RX, f[2].nvmlReturn);
  const double links = FieldNumber(f[2]);
  if (links < 1) return d.FailAll({R_NVLINK_TX, R_NVLINK_RX}, NVML_ERROR_NOT_SUPPORTED);
  const unsigned n = links > 64 ? 64 : static_cast<unsigned>(links);
  nvmlFieldValue_t lf[128];
  std::memset(lf, 0, sizeof lf);
  for (unsigned l = 0; l < n; l++) {
    lf[2 * l].fieldId = NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_TX;
    lf[2 * l].scopeId = l;
    lf[2 * l + 1].fieldId = NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_RX;
    lf[2 * l + 1].scopeId = l;
  }
  rc = a.deviceGetFieldValues(d.h, static_cast<int>(2 * n), lf);
  if (!d.Ok(R_NVLINK_TX, rc)) return d.r.Fail(R_NVLINK_RX, rc);
  for (int dir = 0; dir < 2; dir++) {
    const int k = dir == 0 ? R_NVLINK_TX : R_NVLINK_RX;
    double sum = 0;
    int ok = 0, firstFail = 0;
    for (unsigned l = 0; l < n; l++) {
      const nvmlFieldValue_t &v = lf[2 * l + dir];
      if (v.nvmlReturn == NVML_SUCCESS) {
        sum += FieldNumber(v);
        ok++;
      } else if (firstFail == 0) {
        firstFail = v.nvmlReturn;
      }
    }
    if (ok > 0) d.r.Set(k, sum);
    else d.Ok(k, firstFail);
  }
}

void Violations(const NvmlApi &a, Dev &d) {
  static const int keys[6] = {R_VIOL_POWER, R_VIOL_THERMAL, R_VIOL_SYNC_BOOST, R_VIOL_BOARD_LIMIT,
                              R_VIOL_LOW_UTIL, R_VIOL_RELIABILITY};
  for (int p = 0; p < 6; p++) {
    if (a.deviceGetViolationStatus == nullptr) {
      d.r.Fail(keys[p], NVML_ERROR_FUNCTION_NOT_FOUND);
      continue;
    }
    nvmlViolationTime_t t{0, 0};
    if (d.Ok(keys[p], a.deviceGetViolationStatus(d.h, p, &t))) d.r.Set(keys[p], static_cast<double>(t.violationTime));
    if (d.lost) return;
  }
}

void Ecc(const NvmlApi &a, Dev &d) {
  static const int keys[4][3] = {{R_ECC_SBE_VOL, NVML_MEMORY_ERROR_TYPE_CORRECTED, NVML_VOLATILE_ECC},
                                 {R_ECC_DBE_VOL, NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_VOLATILE_ECC},
                                 {R_ECC_SBE_AGG, NVML_MEMORY_ERROR_TYPE_CORRECTED, NVML_AGGREGATE_ECC},
                                 {R_ECC_DBE_AGG, NVML_MEMORY_ERROR_TYPE_UNCORRECTED, NVML_AGGREGATE_ECC}};
  for (const auto &e : keys) {
    if (a.deviceGetTotalEccErrors == nullptr) {
      d.r.Fail(e[0], NVML_ERROR_FUNCTION_NOT_FOUND);
      continue;
    }
    unsigned long long v = 0;
    if (d.Ok(e[0], a.deviceGetTotalEccErrors(d.h, e[1], e[2], &v))) d.r.Set(e[0], static_cast<double>(v));
    if (d.lost) return;
  }
}

void RetiredAndRemapped(const NvmlApi &a, Dev &d) {
  const int causes[2][2] = {{R_RETIRED_SBE, NVML_PAGE_RETIREMENT_CAUSE_MULTIPLE_SINGLE_BIT_ECC_ERRORS},
                            {R_RETIRED_DBE, NVML_PAGE_RETIREMENT_CAUSE_DOUBLE_BIT_ECC_ERROR}};
  for (const auto &c : causes) {
    if (a.deviceGetRetiredPages == nullptr) {
      d.r.Fail(c[0], NVML_ERROR_FUNCTION_NOT_FOUND);
      continue;
    }
    unsigned count = 0;
    nvmlReturn_t rc = a.deviceGetRetiredPages(d.h, c[1], &count, nullptr);
    if (rc == NVML_ERROR_INSUFFICIENT_SIZE) rc = NVML_SUCCESS;  // count holds the number of pages
    if (d.Ok(c[0], rc)) d.r.Set(c[0], count);
    if (d.lost) return;
  }
  if (a.deviceGetRemappedRows == nullptr) {
    return d.FailAll({R_REMAP_COR, R_REMAP_UNC, R_REMAP_PENDING, R_REMAP_FAILURE}, NVML_ERROR_FUNCTION_NOT_FOUND);
  }
  unsigned cor = 0, unc = 0, pending = 0, failure = 0;
  nvmlReturn_t rc = a.deviceGetRemappedRows(d.h, &cor, &unc, &pending, &failure);
  if (!d.Ok(R_REMAP_COR, rc)) return d.FailAll({R_REMAP_UNC, R_REMAP_PENDING, R_REMAP_FAILURE}, rc);
  d.r.Set(R_REMAP_COR, cor);
  d.r.Set(R_REMAP_UNC, unc);
  d.r.Set(R_REMAP_PENDING, pending);
  d.r.Set(R_REMAP_FAILURE, failure);
}

void Pcie(const NvmlApi &a, Dev &d) {
  const int keys[2][2] = {{R_PCIE_TX, NVML_PCIE_UTIL_TX_BYTES}, {R_PCIE_RX, NVML_PCIE_UTIL_RX_BYTES}};
  for (const auto &k : keys) {
    if (a.deviceGetPcieThroughput == nullptr) {
      d.r.Fail(k[0], NVML_ERROR_FUNCTION_NOT_FOUND);
      continue;
    }
    unsigned v = 0;
    if (d.Ok(k[0], a.deviceGetPcieThroughput(d.h, k[1], &v))) d.r.Set(k[0], v);
    if (d.lost) return;
  }
}

std::string ReadString(nvmlDeviceGetString_fn fn, nvmlDevice_t h, unsigned len, nvmlReturn_t &rc) {
  if (fn == nullptr) {
    rc = NVML_ERROR_FUNCTION_NOT_FOUND;
    return std::string();
  }
  char buf[128];
  std::memset(buf, 0, sizeof buf);
  rc = fn(h, buf, len);
  buf[sizeof buf - 1] = '\0';
  return rc == NVML_SUCCESS ? std::string(buf) : std::string();
}

}  // namespace

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
    ms.uuid = ReadString(a_.deviceGetUuid, m, NVML_DEVICE_UUID_V2_BUFFER_SIZE, rc);
    ms.name = ReadString(a_.deviceGetName, m, NVML_DEVICE_NAME_V2_BUFFER_SIZE, rc);
    const size_t at = ms.name.rfind("MIG ");
    if (at != std::string::npos) {
      const std::string rest = ms.name.substr(at + 4);
      ms.profile = rest.substr(0, rest.find(' '));
    }
    unsigned id = 0;
    if (a_.deviceGetGpuInstanceId != nullptr && a_.deviceGetGpuInstanceId(m, &id) == NVML_SUCCESS) ms.gpuInstanceId = id;
    if (a_.deviceGetComputeInstanceId != nullptr && a_.deviceGetComputeInstanceId(m, &id) == NVML_SUCCESS) {
      ms.computeInstanceId = id;
    }
    int migLost = 0;
    Dev d{m, ms.r, migLost};
    Utilization(a_, d);
    Memory(a_, d);
    g.mig.push_back(std::move(ms));
  }
}

void Sweeper::ReadDevice(nvmlDevice_t h, bool pcie, GpuSample &g, int &lost) {
  Dev d{h, g.r, lost};
  const NvmlApi &a = a_;
  Utilization(a, d);
  if (lost) return;
  Memory(a, d);
  d.U32(R_POWER_USAGE, a.deviceGetPowerUsage);
  d.U32(R_POWER_LIMIT, a.deviceGetEnforcedPowerLimit);
  d.U64(R_ENERGY, a.deviceGetTotalEnergyConsumption);
  if (lost) return;
  Temperature(a, d);
  Fields(a, d);
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
  Violations(a, d);
  if (lost) return;
  Ecc(a, d);
  if (lost) return;
  RetiredAndRemapped(a, d);
  if (lost) return;
  d.U32(R_FAN_SPEED, a.deviceGetFanSpeed);
  if (pcie && !lost) Pcie(a, d);
  if (lost) return;
  if (g.migMode == 1) ReadMig(h, g, lost);
}

void Sweeper::Run(bool pcie, SweepData &out) {
  const auto t0 = std::chrono::steady_clock::now();
  auto finish = [&]() {
    const auto t1 = std::chrono::steady_clock::now();
    out.durationUs = std::chrono::duration<double, std::micro>(t1 - t0).count();
    out.timestampMs = std::chrono::duration<double, std::milli>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
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
  int cuda = 0;
  if (a_.systemGetCudaDriverVersion != nullptr && a_.systemGetCudaDriverVersion(&cuda) == NVML_SUCCESS) {
    out.cudaDriverVersion = cuda;
  }
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
    g.index = s.identity.index;
    g.minor = s.identity.minor;
    g.uuid = s.identity.uuid;
    g.name = s.identity.name;
    g.pciBusId = s.identity.pciBusId;
    g.serial = s.identity.serial;
    g.hasSerial = s.identity.hasSerial;
    g.migMode = s.identity.migMode;
    if (!lost) ReadDevice(s.handle, pcie, g, lost);
    if (lost) {
      g.lostCode = lost;
      g.r.Clear();
      g.mig.clear();
      s.valid = false;  // look the handle up again next sweep
    }
  }
  finish();
}

}  // namespace nvx
