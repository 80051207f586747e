// sweep.h — one pass over every GPU: plain C++ structs, no V8. The sweep thread fills a
// SweepData; the N-API layer turns it into the JS SweepResult in one crossing (result.cc).
#ifndef NVML_EXPORTER_SWEEP_H
#define NVML_EXPORTER_SWEEP_H

#include <map>
#include <string>
#include <vector>

#include "gpm.h"
#include "loader.h"
#include "processes.h"
#include "reading_keys.h"

namespace nvx {

// Reading keys: native/reading_keys.h (the order of READING_KEYS in lib/nvml/types.ts).
enum Reading { NVX_READINGS(NVX_READING_ENUM) R_COUNT };
extern const char *const kReadingNames[R_COUNT];

constexpr int kNotRead = -1;

struct ReadingSet {
  double value[R_COUNT];
  int status[R_COUNT];  // kNotRead, NVML_SUCCESS (value valid) or the NVML code
  ReadingSet() { Clear(); }
  void Clear() {
    for (int k = 0; k < R_COUNT; k++) {
      value[k] = 0;
      status[k] = kNotRead;
    }
  }
  void Set(int k, double v) {
    value[k] = v;
    status[k] = NVML_SUCCESS;
  }
  void Fail(int k, int code) { status[k] = code; }
};

struct MigSample {
  unsigned slot = 0;
  std::string uuid, name, profile;
  // where `profile` came from: "gpuInstance" (the GPU instance's profile info, as DCGM builds it),
  // "name" (parsed from the MIG device name: the GPU-instance calls are absent or not permitted),
  // "" (neither)
  std::string profileSource;
  long long gpuInstanceId = -1, computeInstanceId = -1;  // -1 = not readable
  // the GPU instance's profile id and placement start (nvmlGpuInstanceGetInfo): what NVIDIA's DRA
  // driver names MIG devices by; -1 = not readable
  long long giProfileId = -1, giPlacementStart = -1;
  ReadingSet r;
  nvmlDevice_t handle = nullptr;  // this sweep's handle (compute-instance GPM samples)
};

struct GpuSample {
  unsigned index = 0;
  long long minor = -1;  // -1 = null
  std::string uuid, name, pciBusId, serial;
  bool hasSerial = false;
  // identity strings read with the rest of the identity; "" = not readable
  std::string vbios, inforomImage, inforomOem, inforomEcc, inforomPower, brand;
  int migMode = -1;  // -1 = null (no MIG support), 0 disabled, 1 enabled
  int lostCode = 0;  // 0 = answered
  ReadingSet r;
  std::vector<MigSample> mig;
  GpmGpuSample gpm;  // GPM support and metrics (native/gpm.h)
};

struct SweepData {
  int errorCode = 0;  // non-zero: the whole sweep failed (nvmlDeviceGetCount)
  std::string errorCall;
  double timestampMs = 0;
  double durationUs = 0;
  std::string driverVersion, nvmlVersion;
  int cudaDriverVersion = -1;  // -1 = null
  std::vector<GpuSample> gpus;
  ProcessData processes;  // read only when the sweep asked for processes
};

// Keeps device handles and the identity of each GPU between sweeps. Used by one thread at a time.
class Sweeper {
 public:
  explicit Sweeper(const NvmlApi &api) : a_(api), gpm_(api), procs_(api) {}
  // gpmMode: GpmMode (native/gpm.h); processes: read the process lists (native/processes.h)
  void Run(bool pcieThroughput, SweepData &out, int gpmMode = GPM_OFF, bool processes = false);

 private:
  struct Slot {
    nvmlDevice_t handle = nullptr;
    bool valid = false;
    GpuSample identity;  // last seen identity (kept while the GPU is lost)
    // fields 74-79 answered with an error on this GPU: violation times come from
    // nvmlDeviceGetViolationStatus from then on (until the handle is looked up again)
    bool legacyViolations = false;
  };
  struct Profile {
    std::string name, source;
    long long profileId = -1, placementStart = -1;  // -1 = not readable
  };
  void ReadIdentity(nvmlDevice_t h, GpuSample &g, int &lost);
  void ReadDevice(Slot &s, bool pcie, GpuSample &g, int &lost);
  void ReadMig(nvmlDevice_t h, GpuSample &g, int &lost);
  Profile MigProfile(nvmlDevice_t parent, const MigSample &m, bool &keep);
  void ReadProcesses(SweepData &out);
  const NvmlApi &a_;
  std::vector<Slot> slots_;
  bool cudaPlainOnly_ = false;  // `_v2` answered that it cannot: the plain call from then on
  std::map<std::string, Profile> profiles_, seenProfiles_;  // by MIG device UUID
  GpmSampler gpm_;
  int gpmMode_ = GPM_OFF;
  ProcessReader procs_;
};

}  // namespace nvx

#endif
