// device_reads.cc — the reading groups of a sweep (see device_reads.h).
#include "device_reads.h"

#include <cstring>

namespace nvx {

void Dev::U32(int k, nvmlDeviceGetUInt_fn fn) {
  if (fn == nullptr) return r.Fail(k, NVML_ERROR_FUNCTION_NOT_FOUND);
  unsigned v = 0;
  if (Ok(k, fn(h, &v))) r.Set(k, v);
}

void Dev::U64(int k, nvmlDeviceGetULL_fn fn) {
  if (fn == nullptr) return r.Fail(k, NVML_ERROR_FUNCTION_NOT_FOUND);
  unsigned long long v = 0;
  if (Ok(k, fn(h, &v))) r.Set(k, static_cast<double>(v));
}

void Dev::Enum(int k, nvmlDeviceGetIntOut_fn fn) {
  if (fn == nullptr) return r.Fail(k, NVML_ERROR_FUNCTION_NOT_FOUND);
  int v = 0;
  if (Ok(k, fn(h, &v))) r.Set(k, v);
}

void Dev::Clock(int k, nvmlDeviceGetClockInfo_fn fn, int type) {
  if (fn == nullptr) return r.Fail(k, NVML_ERROR_FUNCTION_NOT_FOUND);
  unsigned v = 0;
  if (Ok(k, fn(h, type, &v))) r.Set(k, v);
}

void Dev::Sampled(int k, nvmlDeviceGetUtilSampled_fn fn) {
  if (fn == nullptr) return r.Fail(k, NVML_ERROR_FUNCTION_NOT_FOUND);
  unsigned v = 0, period = 0;
  if (Ok(k, fn(h, &v, &period))) r.Set(k, v);
}

void Memory(const NvmlApi &a, Dev &d) {
  if (a.deviceGetMemoryInfoV2 != nullptr) {
    nvmlMemory_v2_t m;
    std::memset(&m, 0, sizeof m);
    m.version = nvmlMemory_v2;
    nvmlReturn_t rc = a.deviceGetMemoryInfoV2(d.h, &m);
    if (rc != NVML_ERROR_FUNCTION_NOT_FOUND && rc != NVML_ERROR_ARGUMENT_VERSION_MISMATCH) {
      // NO_PERMISSION here is what a MIG-enabled parent answers without NVIDIA_MIG_MONITOR_DEVICES=all
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

namespace {

const int kViolationKeys[6] = {R_VIOL_POWER,      R_VIOL_THERMAL,  R_VIOL_SYNC_BOOST,
                               R_VIOL_BOARD_LIMIT, R_VIOL_LOW_UTIL, R_VIOL_RELIABILITY};

// Field values are decoded by the type NVML documents for the field, not by `valueType`: drivers
// have labelled unsigned fields DOUBLE (memory temperature on r545), which read as a double turns
// 52 °C into 2.6e-322; DCGM reads these fields the same way. The array is zeroed before the call,
// so on a little-endian machine ullVal also reads a value the driver stored as uiVal.
double AsU32(const nvmlFieldValue_t &f) { return f.value.uiVal; }
double AsU64(const nvmlFieldValue_t &f) { return static_cast<double>(f.value.ullVal); }

// An entry the driver did not touch: with ECC disabled, NVML can leave the entries of the ECC
// fields (1-31) as the caller passed them (zero time, zero latency, type DOUBLE = 0, and the
// SUCCESS = 0 of a zeroed array). DCGM treats those as not supported, and so do we.
bool UntouchedEccEntry(const nvmlFieldValue_t &f) {
  return f.fieldId >= NVML_FI_DEV_ECC_CURRENT && f.fieldId <= NVML_FI_DEV_RETIRED_PENDING && f.timestamp == 0 &&
         f.latencyUsec == 0 && f.valueType == NVML_VALUE_TYPE_DOUBLE;
}

// The codes with which a driver that does not know a field answers for it.
bool FieldUnknown(nvmlReturn_t rc) {
  return rc == NVML_ERROR_NOT_SUPPORTED || rc == NVML_ERROR_INVALID_ARGUMENT || rc == NVML_ERROR_FUNCTION_NOT_FOUND;
}

void ViolationFromCall(const NvmlApi &a, Dev &d, int p) {
  const int k = kViolationKeys[p];
  if (a.deviceGetViolationStatus == nullptr) return d.r.Fail(k, NVML_ERROR_FUNCTION_NOT_FOUND);
  nvmlViolationTime_t t{0, 0};
  if (d.Ok(k, a.deviceGetViolationStatus(d.h, p, &t))) d.r.Set(k, static_cast<double>(t.violationTime));
}

// NVLink counters summed over the links one by one, for drivers that do not answer the all-links
// scope. Link ids are not assumed to be 0…count-1: every id a driver may use is asked for, and
// the links that answer are summed.
void NvlinkPerLink(const NvmlApi &a, Dev &d, unsigned links) {
  const unsigned n = links > NVML_NVLINK_MAX_LINKS ? (links > 64 ? 64 : links) : NVML_NVLINK_MAX_LINKS;
  nvmlFieldValue_t lf[128];
  std::memset(lf, 0, sizeof lf);
  for (unsigned l = 0; l < n; l++) {
    lf[2 * l].fieldId = NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_TX;
    lf[2 * l].scopeId = l;
    lf[2 * l + 1].fieldId = NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_RX;
    lf[2 * l + 1].scopeId = l;
  }
  nvmlReturn_t rc = a.deviceGetFieldValues(d.h, static_cast<int>(2 * n), lf);
  if (!d.Ok(R_NVLINK_TX, rc)) return d.r.Fail(R_NVLINK_RX, rc);
  for (int dir = 0; dir < 2; dir++) {
    const int k = dir == 0 ? R_NVLINK_TX : R_NVLINK_RX;
    double sum = 0;
    int ok = 0, firstFail = 0;
    for (unsigned l = 0; l < n; l++) {
      const nvmlFieldValue_t &v = lf[2 * l + dir];
      if (v.nvmlReturn == NVML_SUCCESS) {
        sum += AsU64(v);
        ok++;
      } else if (firstFail == 0) {
        firstFail = v.nvmlReturn;
      }
    }
    if (ok > 0) d.r.Set(k, sum);
    else d.Ok(k, firstFail);
  }
}

}  // namespace

void Violations(const NvmlApi &a, Dev &d) {
  for (int p = 0; p < 6 && !d.lost; p++) ViolationFromCall(a, d, p);
}

void Fields(const NvmlApi &a, Dev &d, bool &legacyViolations) {
  if (a.deviceGetFieldValues == nullptr) {
    d.FailAll({R_MEM_TEMP, R_RETIRED_PENDING, R_NVLINK_TX, R_NVLINK_RX}, NVML_ERROR_FUNCTION_NOT_FOUND);
    return Violations(a, d);
  }
  enum { F_MEM_TEMP, F_RETIRED_PENDING, F_LINKS, F_TX_ALL, F_RX_ALL, F_VIOL, F_COUNT = F_VIOL + 6 };
  nvmlFieldValue_t f[F_COUNT];
  std::memset(f, 0, sizeof f);
  f[F_MEM_TEMP].fieldId = NVML_FI_DEV_MEMORY_TEMP;
  f[F_RETIRED_PENDING].fieldId = NVML_FI_DEV_RETIRED_PENDING;
  f[F_LINKS].fieldId = NVML_FI_DEV_NVLINK_LINK_COUNT;
  f[F_TX_ALL].fieldId = NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_TX;
  f[F_TX_ALL].scopeId = NVML_NVLINK_SCOPE_ALL_LINKS;
  f[F_RX_ALL].fieldId = NVML_FI_DEV_NVLINK_THROUGHPUT_DATA_RX;
  f[F_RX_ALL].scopeId = NVML_NVLINK_SCOPE_ALL_LINKS;
  for (int p = 0; p < 6; p++) f[F_VIOL + p].fieldId = NVML_FI_DEV_PERF_POLICY_POWER + p;
  const int count = legacyViolations ? F_VIOL : F_COUNT;
  nvmlReturn_t rc = a.deviceGetFieldValues(d.h, count, f);
  if (!d.Ok(R_MEM_TEMP, rc)) {
    d.FailAll({R_RETIRED_PENDING, R_NVLINK_TX, R_NVLINK_RX}, rc);
    if (!d.lost) Violations(a, d);
    return;
  }
  if (d.Ok(R_MEM_TEMP, f[F_MEM_TEMP].nvmlReturn)) d.r.Set(R_MEM_TEMP, AsU32(f[F_MEM_TEMP]));
  if (UntouchedEccEntry(f[F_RETIRED_PENDING])) {
    d.r.Fail(R_RETIRED_PENDING, NVML_ERROR_NOT_SUPPORTED);
  } else if (d.Ok(R_RETIRED_PENDING, f[F_RETIRED_PENDING].nvmlReturn)) {
    d.r.Set(R_RETIRED_PENDING, AsU32(f[F_RETIRED_PENDING]));
  }

  if (legacyViolations) {
    Violations(a, d);
  } else {
    int unknown = 0;
    for (int p = 0; p < 6 && !d.lost; p++) {
      const nvmlFieldValue_t &v = f[F_VIOL + p];
      if (v.nvmlReturn == NVML_SUCCESS) {
        d.r.Set(kViolationKeys[p], AsU64(v));
      } else if (FieldUnknown(v.nvmlReturn)) {
        unknown++;
        ViolationFromCall(a, d, p);  // a driver without the field: the older call
      } else {
        d.Ok(kViolationKeys[p], v.nvmlReturn);
      }
    }
    if (unknown == 6) legacyViolations = true;  // ask this GPU with the older call only from now on
  }
  if (d.lost) return;

  if (!d.Ok(R_NVLINK_TX, f[F_LINKS].nvmlReturn)) return d.r.Fail(R_NVLINK_RX, f[F_LINKS].nvmlReturn);
  const unsigned links = f[F_LINKS].value.uiVal;  // unsigned int, whatever valueType says
  if (links < 1) return d.FailAll({R_NVLINK_TX, R_NVLINK_RX}, NVML_ERROR_NOT_SUPPORTED);
  if (f[F_TX_ALL].nvmlReturn == NVML_SUCCESS && f[F_RX_ALL].nvmlReturn == NVML_SUCCESS) {
    d.r.Set(R_NVLINK_TX, AsU64(f[F_TX_ALL]));
    d.r.Set(R_NVLINK_RX, AsU64(f[F_RX_ALL]));
    return;
  }
  NvlinkPerLink(a, d, links);
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
  // NOT_SUPPORTED on a MIG-enabled GPU with instances: the four readings are then simply absent.
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

}  // namespace nvx
