// gpm.h — GPU Performance Monitoring (GPM, Hopper and newer) as part of the one sweep: per GPU the
// support decision, and for the whole GPU, each MIG GPU instance and (on request) each MIG compute
// instance, one sample per sweep; the metrics of an entity are computed between this sweep's sample
// and the one kept from the previous sweep, at least 100 ms apart (NVML's internal refresh rate),
// so the first sweep yields none; a sweep less than 100 ms after the kept sample keeps it for the
// next pair and serves the last pair's metrics again (a collect interval under 100 ms does not make
// the series come and go). Runs on the sweep thread only; no V8.
#ifndef NVML_EXPORTER_GPM_H
#define NVML_EXPORTER_GPM_H

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "gpm_abi.h"
#include "loader.h"

namespace nvx {

struct GpuSample;
struct SweepData;

// What a sweep asks of GPM.
enum GpmMode { GPM_OFF = 0, GPM_ON = 1 /* GPU and GPU instances */, GPM_WITH_CI = 2 /* also compute instances */ };
enum GpmLevel { GPM_LEVEL_GPU = 0, GPM_LEVEL_GI = 1, GPM_LEVEL_CI = 2 };

constexpr int kGpmNotAsked = -1;  // support: GPM was not part of this sweep
constexpr int kGpmNoPair = -1;    // entity code: no earlier sample to pair with yet (first sweep, or < 100 ms)

struct GpmEntitySample {
  int level = GPM_LEVEL_GPU;
  long long gpuInstanceId = -1, computeInstanceId = -1;
  // 0: metrics computed (each with its own status); kGpmNoPair; otherwise the NVML code of the
  // failed call (sample alloc, sample get or metrics get)
  int code = kGpmNoPair;
  std::vector<unsigned> ids;
  std::vector<double> values;
  std::vector<int> status;
};

struct GpmGpuSample {
  // kGpmNotAsked; 0 supported; NVML_ERROR_NOT_SUPPORTED (the GPU is not Hopper or newer);
  // NVML_ERROR_FUNCTION_NOT_FOUND (the library has no GPM); otherwise the code of the support query
  int support = kGpmNotAsked;
  std::vector<GpmEntitySample> entities;
};

// Keeps the GPM samples of every entity between sweeps. One per Sweeper; frees its samples when
// destroyed (before the library is closed: the Sweeper goes first).
class GpmSampler {
 public:
  explicit GpmSampler(const NvmlApi &api);
  ~GpmSampler();
  GpmSampler(const GpmSampler &) = delete;
  GpmSampler &operator=(const GpmSampler &) = delete;

  // One GPU's part of a sweep (after its MIG devices were read into g.mig). Sets `lost` on a
  // lost-GPU code.
  void Sample(nvmlDevice_t h, GpuSample &g, int mode, int &lost);
  // After the last GPU: frees the samples of entities not seen in this sweep.
  void EndSweep();

 private:
  struct Entity {
    nvmlGpmSample_t prev = nullptr, cur = nullptr;
    std::chrono::steady_clock::time_point prevAt;
    bool havePrev = false, seen = false;
    GpmEntitySample last;  // the metrics of the last pair (code 0), served again by a sweep < 100 ms later
    bool haveLast = false;
  };
  bool Available() const;
  int Support(nvmlDevice_t h, const std::string &uuid);
  // sample (GPU or compute-instance handle `h`, or GPU instance `gi` of parent `h` when gi >= 0)
  void Take(const std::string &key, nvmlDevice_t h, long long gi, GpmEntitySample &out, int &lost);
  void Metrics(Entity &e, GpmEntitySample &out);
  void Free(Entity &e);

  const NvmlApi &a_;
  std::map<std::string, Entity> entities_;
  std::map<std::string, int> support_;  // by GPU UUID, outcomes that do not change
  nvmlGpmMetricsGet_t mg_;              // sized for the longest known metrics[] (gpm_abi.h)
};

// Appends the GPM section to a packed sweep (native/result.h has the layout).
void PackGpm(const SweepData &d, std::vector<double> &out);

}  // namespace nvx

#endif
