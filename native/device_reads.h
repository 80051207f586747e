// device_reads.h — the per-device reading groups of a sweep (device_reads.cc, settings.cc), shared by the
// sweep of whole GPUs (sweep.cc) and of MIG devices (mig.cc). Each group records, per reading, the
// value or the NVML code of the call it came from; none of them touches V8.
#ifndef NVML_EXPORTER_DEVICE_READS_H
#define NVML_EXPORTER_DEVICE_READS_H

#include <initializer_list>
#include <string>

#include "sweep.h"

namespace nvx {

inline bool IsLost(nvmlReturn_t rc) { return rc == NVML_ERROR_GPU_IS_LOST || rc == NVML_ERROR_GPU_NOT_FOUND; }

// One device's readings in a sweep: records each call's outcome; remembers a lost-GPU code.
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
  void FailAll(std::initializer_list<int> keys, int code) {
    for (int k : keys) r.Fail(k, code);
  }
  void U32(int k, nvmlDeviceGetUInt_fn fn);
  void U64(int k, nvmlDeviceGetULL_fn fn);
  void Enum(int k, nvmlDeviceGetIntOut_fn fn);
  void Clock(int k, nvmlDeviceGetClockInfo_fn fn, int type);
  void Sampled(int k, nvmlDeviceGetUtilSampled_fn fn);
};

void Memory(const NvmlApi &a, Dev &d);
void Utilization(const NvmlApi &a, Dev &d);
void Temperature(const NvmlApi &a, Dev &d);
// One nvmlDeviceGetFieldValues call for memory temperature, the retired-pending flag, the NVLink
// link count, the violation times (fields 74-79) and the all-links NVLink counters; a second one
// per link only where the all-links scope is not answered. `legacyViolations` in: read violation
// times with nvmlDeviceGetViolationStatus; out: set when fields 74-79 are not answered.
void Fields(const NvmlApi &a, Dev &d, bool &legacyViolations);
void Violations(const NvmlApi &a, Dev &d);  // nvmlDeviceGetViolationStatus, policies 0-5
void Ecc(const NvmlApi &a, Dev &d);
void RetiredAndRemapped(const NvmlApi &a, Dev &d);
void Pcie(const NvmlApi &a, Dev &d);
// Power limits, P-state, PCIe link, thresholds, BAR1, compute/persistence/ECC modes, application
// clocks, max video clock, vGPU licence.
void Settings(const NvmlApi &a, Dev &d);

// A string through a (device, buf, len) call; "" when the call fails (rc holds its code).
std::string ReadString(nvmlDeviceGetString_fn fn, nvmlDevice_t h, unsigned len, nvmlReturn_t &rc);
// DCGM's name for an nvmlBrandType_t value ("Tesla", "NVIDIA", …; "Unknown" otherwise).
const char *BrandName(int brand);

}  // namespace nvx

#endif
