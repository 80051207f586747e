// result.h — builds the JS SweepResult / XidEvent objects from the plain structs (main thread only).
#ifndef NVML_EXPORTER_RESULT_H
#define NVML_EXPORTER_RESULT_H

#include <napi.h>

#include <string>

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

Napi::Object SweepToJs(Napi::Env env, const SweepData &d);
Napi::Object XidToJs(Napi::Env env, const XidData &x);

}  // namespace nvx

#endif
