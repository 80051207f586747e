// result.h — how a sweep crosses to JS. The sweep thread packs a SweepData into one flat array of
// doubles plus, only when the identity of the GPUs changed, their strings (PackSweep); the main
// thread turns that into one Float64Array and one array of strings and makes one call
// (DeliverSweep). lib/nvml/decode.ts builds the SweepResult objects from them: building
// JS objects property by property through N-API costs more than the NVML calls of a sweep.
#ifndef NVML_EXPORTER_RESULT_H
#define NVML_EXPORTER_RESULT_H

#include <napi.h>

#include <string>
#include <vector>

#include "sweep.h"

namespace nvx {

struct XidData {
  int gpu = -1;
  std::string uuid;
  double xid = 0;
  double timeMs = 0;
  long long gpuInstanceId = -1;      // -1 = null
  long long computeInstanceId = -1;  // -1 = null
};

// Layout of PackedSweep::nums (lib/nvml/decode.ts reads it in the same order):
//   [0] timestampMs  [1] durationUs  [2] cudaDriverVersion (-1 = null)  [3] gpu count
//   per GPU:  index, minor (-1 = null), migMode (-1 = null, 0, 1), lostCode, hasSerial, migCount,
//             value[R_COUNT], status[R_COUNT]
//     per MIG device: slot, gpuInstanceId (-1 = null), computeInstanceId (-1 = null),
//             giProfileId (-1 = null), giPlacementStart (-1 = null), value[R_COUNT], status[R_COUNT]
//   then the GPM section (below), then the processes section (native/processes.h): [0] read (0/1);
//     when 1: durationUs, stride, device count, per device: gpu (position), slot (-1 = the GPU
//     itself), listStatus, utilStatus, intervalUs, process count, per process: pid, kinds,
//     usedMemory (-1 = null), sm, mem, enc, dec (-1 = null)
// status: -1 not read, 0 success (the value is valid), otherwise the NVML return code.
// PackedSweep::ids, when the identity changed: driverVersion, nvmlVersion, then per GPU uuid,
// name, pciBusId, serial, vbios, inforomImage, inforomOem, inforomEcc, inforomPower, brand ("" =
// not readable), and per MIG device uuid, profile, name, profileSource.
// After the last GPU, the GPM section (native/gpm.cc PackGpm), per GPU in the same order:
//   support (-1 not asked, 0 supported, else the NVML code: 3 not supported, 13 no GPM symbols),
//   entity count; per entity: level (0 GPU, 1 GPU instance, 2 compute instance), gpuInstanceId,
//   computeInstanceId (-1 = none), code (0 metrics valid, -1 no earlier sample yet, else the NVML
//   code), metric count m, then m × (metric id, value as NVML computed it, NVML code).
constexpr int kPackedHeader = 4;
constexpr int kPackedGpuHeader = 6;
constexpr int kPackedMigHeader = 5;

struct PackedSweep {
  int errorCode = 0;
  std::string errorCall;
  std::vector<double> nums;
  bool identityChanged = false;
  std::vector<std::string> ids;
};

// The identity last handed to JS; owned by the sweep thread.
struct IdentityCache {
  bool valid = false;
  std::vector<std::string> ids;
  std::vector<size_t> migCounts;
};

// Sweep thread: SweepData → PackedSweep; ids are filled only when they differ from `cache`.
void PackSweep(const SweepData &d, IdentityCache &cache, PackedSweep &out);
// Main thread: cb(0, nums: Float64Array, ids: string[] | null) or cb(code, callName). `nums` is a
// view of one scratch buffer per addon instance, reused from sweep to sweep (a new one each sweep
// would be garbage that outlives the young generation): it is valid only during the call.
void DeliverSweep(Napi::Env env, Napi::Function cb, const PackedSweep &p);
// Per-environment addon state (napi instance data): the scratch buffer above.
struct AddonData {
  Napi::Reference<Napi::ArrayBuffer> scratch;
};
Napi::Object XidToJs(Napi::Env env, const XidData &x);
// Runs `call` (a call into JS from a thread-safe-function callback). A JS exception it raises goes
// to process 'uncaughtException' like any other uncaught error (napi_fatal_exception); while the
// environment is shutting down and cannot run JS any more, the failure is dropped instead of
// aborting the process through an unhandled C++ exception.
template <typename F>
void CallIntoJs(Napi::Env env, F call) {
  try {
    call();
  } catch (const Napi::Error &e) {
    if (!e.IsEmpty()) napi_fatal_exception(env, e.Value());  // fails only while the environment goes away
  }
}

}  // namespace nvx

#endif
