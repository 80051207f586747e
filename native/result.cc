// result.cc — plain structs → JS objects shaped like lib/nvml/types.ts (SweepResult, XidEvent).
#include "result.h"

namespace nvx {

namespace {

// Property names created once per sweep and reused for every device (creating a key string per
// property would cost more than the NVML calls of a simulated sweep).
struct Keys {
  Napi::String reading[R_COUNT];
  Napi::String readings, status, index, minor, uuid, name, pciBusId, serial, migEnabled, lostCode, mig, slot,
      gpuInstanceId, computeInstanceId, profile;
  explicit Keys(Napi::Env env) {
    for (int k = 0; k < R_COUNT; k++) reading[k] = Napi::String::New(env, kReadingNames[k]);
    readings = Napi::String::New(env, "readings");
    status = Napi::String::New(env, "status");
    index = Napi::String::New(env, "index");
    minor = Napi::String::New(env, "minor");
    uuid = Napi::String::New(env, "uuid");
    name = Napi::String::New(env, "name");
    pciBusId = Napi::String::New(env, "pciBusId");
    serial = Napi::String::New(env, "serial");
    migEnabled = Napi::String::New(env, "migEnabled");
    lostCode = Napi::String::New(env, "lostCode");
    mig = Napi::String::New(env, "mig");
    slot = Napi::String::New(env, "slot");
    gpuInstanceId = Napi::String::New(env, "gpuInstanceId");
    computeInstanceId = Napi::String::New(env, "computeInstanceId");
    profile = Napi::String::New(env, "profile");
  }
};

// One napi_define_properties call per object: far cheaper than one napi_set_property per value.
Napi::Object ReadingObject(Napi::Env env, const Keys &keys, const ReadingSet &r, bool ok) {
  napi_property_descriptor desc[R_COUNT];
  size_t n = 0;
  for (int k = 0; k < R_COUNT; k++) {
    if (r.status[k] == kNotRead || (r.status[k] == NVML_SUCCESS) != ok) continue;
    napi_value v;
    napi_create_double(env, ok ? r.value[k] : r.status[k], &v);
    desc[n++] = {nullptr, keys.reading[k], nullptr, nullptr, nullptr, v, napi_default_jsproperty, nullptr};
  }
  Napi::Object o = Napi::Object::New(env);
  if (n > 0) NAPI_THROW_IF_FAILED(env, napi_define_properties(env, o, n, desc), o);
  return o;
}

void PutReadings(Napi::Env env, const Keys &keys, Napi::Object target, const ReadingSet &r) {
  target.Set(keys.readings, ReadingObject(env, keys, r, true));
  target.Set(keys.status, ReadingObject(env, keys, r, false));
}

Napi::Value NumberOrNull(Napi::Env env, long long v) {
  return v < 0 ? env.Null() : Napi::Number::New(env, static_cast<double>(v));
}

}  // namespace

Napi::Object SweepToJs(Napi::Env env, const SweepData &d) {
  const Keys keys(env);
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
    dev.Set(keys.index, Napi::Number::New(env, g.index));
    dev.Set(keys.minor, NumberOrNull(env, g.minor));
    dev.Set(keys.uuid, Napi::String::New(env, g.uuid));
    dev.Set(keys.name, Napi::String::New(env, g.name));
    dev.Set(keys.pciBusId, Napi::String::New(env, g.pciBusId));
    dev.Set(keys.serial, g.hasSerial ? Napi::Value(Napi::String::New(env, g.serial)) : env.Null());
    dev.Set(keys.migEnabled, g.migMode < 0 ? env.Null() : Napi::Value(Napi::Boolean::New(env, g.migMode == 1)));
    dev.Set(keys.lostCode, g.lostCode == 0 ? env.Null() : Napi::Value(Napi::Number::New(env, g.lostCode)));
    PutReadings(env, keys, dev, g.r);
    Napi::Array mig = Napi::Array::New(env, g.mig.size());
    for (size_t j = 0; j < g.mig.size(); j++) {
      const MigSample &m = g.mig[j];
      Napi::Object mo = Napi::Object::New(env);
      mo.Set(keys.uuid, Napi::String::New(env, m.uuid));
      mo.Set(keys.slot, Napi::Number::New(env, m.slot));
      mo.Set(keys.gpuInstanceId, NumberOrNull(env, m.gpuInstanceId));
      mo.Set(keys.computeInstanceId, NumberOrNull(env, m.computeInstanceId));
      mo.Set(keys.profile, Napi::String::New(env, m.profile));
      mo.Set(keys.name, Napi::String::New(env, m.name));
      PutReadings(env, keys, mo, m.r);
      mig.Set(static_cast<uint32_t>(j), mo);
    }
    dev.Set(keys.mig, mig);
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
