// result.cc — plain structs → JS objects shaped like lib/nvml/types.ts (SweepResult, XidEvent).
#include "result.h"

namespace nvx {

namespace {

void PutReadings(Napi::Env env, Napi::Object target, const ReadingSet &r) {
  Napi::Object readings = Napi::Object::New(env);
  Napi::Object status = Napi::Object::New(env);
  for (int k = 0; k < R_COUNT; k++) {
    if (r.status[k] == kNotRead) continue;
    if (r.status[k] == NVML_SUCCESS) {
      readings.Set(kReadingNames[k], Napi::Number::New(env, r.value[k]));
    } else {
      status.Set(kReadingNames[k], Napi::Number::New(env, r.status[k]));
    }
  }
  target.Set("readings", readings);
  target.Set("status", status);
}

Napi::Value NumberOrNull(Napi::Env env, long long v) {
  return v < 0 ? env.Null() : Napi::Number::New(env, static_cast<double>(v));
}

}  // namespace

Napi::Object SweepToJs(Napi::Env env, const SweepData &d) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("timestamp", Napi::Number::New(env, d.timestampMs));
  o.Set("durationUs", Napi::Number::New(env, d.durationUs));
  o.Set("driverVersion", Napi::String::New(env, d.driverVersion));
  o.Set("nvmlVersion", Napi::String::New(env, d.nvmlVersion));
  o.Set("cudaDriverVersion", NumberOrNull(env, d.cudaDriverVersion));
  Napi::Array devices = Napi::Array::New(env, d.gpus.size());
  for (size_t i = 0; i < d.gpus.size(); i++) {
    const GpuSample &g = d.gpus[i];
    Napi::Object dev = Napi::Object::New(env);
    dev.Set("index", Napi::Number::New(env, g.index));
    dev.Set("minor", NumberOrNull(env, g.minor));
    dev.Set("uuid", Napi::String::New(env, g.uuid));
    dev.Set("name", Napi::String::New(env, g.name));
    dev.Set("pciBusId", Napi::String::New(env, g.pciBusId));
    dev.Set("serial", g.hasSerial ? Napi::Value(Napi::String::New(env, g.serial)) : env.Null());
    dev.Set("migEnabled", g.migMode < 0 ? env.Null() : Napi::Value(Napi::Boolean::New(env, g.migMode == 1)));
    dev.Set("lostCode", g.lostCode == 0 ? env.Null() : Napi::Value(Napi::Number::New(env, g.lostCode)));
    PutReadings(env, dev, g.r);
    Napi::Array mig = Napi::Array::New(env, g.mig.size());
    for (size_t j = 0; j < g.mig.size(); j++) {
      const MigSample &m = g.mig[j];
      Napi::Object mo = Napi::Object::New(env);
      mo.Set("uuid", Napi::String::New(env, m.uuid));
      mo.Set("slot", Napi::Number::New(env, m.slot));
      mo.Set("gpuInstanceId", NumberOrNull(env, m.gpuInstanceId));
      mo.Set("computeInstanceId", NumberOrNull(env, m.computeInstanceId));
      mo.Set("profile", Napi::String::New(env, m.profile));
      mo.Set("name", Napi::String::New(env, m.name));
      PutReadings(env, mo, m.r);
      mig.Set(static_cast<uint32_t>(j), mo);
    }
    dev.Set("mig", mig);
    devices.Set(static_cast<uint32_t>(i), dev);
  }
  o.Set("devices", devices);
  return o;
}

Napi::Object XidToJs(Napi::Env env, const XidData &x) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("gpu", Napi::Number::New(env, x.gpu));
  o.Set("uuid", Napi::String::New(env, x.uuid));
  o.Set("xid", Napi::Number::New(env, x.xid));
  o.Set("time", Napi::Number::New(env, x.timeMs));
  o.Set("gpuInstanceId", NumberOrNull(env, x.gpuInstanceId));
  o.Set("computeInstanceId", NumberOrNull(env, x.computeInstanceId));
  return o;
}

}  // namespace nvx
