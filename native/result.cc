// result.cc — packing a sweep for its one crossing to JS (see result.h), and XID events.
#include "result.h"

#include <cstring>

namespace nvx {

namespace {

void PackReadings(const ReadingSet &r, std::vector<double> &out) {
  out.insert(out.end(), r.value, r.value + R_COUNT);
  for (int k = 0; k < R_COUNT; k++) out.push_back(r.status[k]);
}

Napi::Value NumberOrNull(Napi::Env env, long long v) {
  return v < 0 ? env.Null() : Napi::Number::New(env, static_cast<double>(v));
}

}  // namespace

void PackSweep(const SweepData &d, IdentityCache &cache, PackedSweep &out) {
  out.errorCode = d.errorCode;
  out.errorCall = d.errorCall;
  if (d.errorCode != 0) return;
  size_t sets = d.gpus.size();
  for (const GpuSample &g : d.gpus) sets += g.mig.size();
  out.nums.clear();
  out.nums.reserve(kPackedHeader + d.gpus.size() * kPackedGpuHeader + sets * (2 * R_COUNT + kPackedMigHeader));
  out.nums.push_back(d.timestampMs);
  out.nums.push_back(d.durationUs);
  out.nums.push_back(d.cudaDriverVersion);
  out.nums.push_back(static_cast<double>(d.gpus.size()));

  std::vector<std::string> ids;
  std::vector<size_t> migCounts;
  ids.reserve(2 + 10 * d.gpus.size() + 4 * (sets - d.gpus.size()));
  ids.push_back(d.driverVersion);
  ids.push_back(d.nvmlVersion);
  for (const GpuSample &g : d.gpus) {
    out.nums.push_back(g.index);
    out.nums.push_back(static_cast<double>(g.minor));
    out.nums.push_back(g.migMode);
    out.nums.push_back(g.lostCode);
    out.nums.push_back(g.hasSerial ? 1 : 0);
    out.nums.push_back(static_cast<double>(g.mig.size()));
    PackReadings(g.r, out.nums);
    ids.push_back(g.uuid);
    ids.push_back(g.name);
    ids.push_back(g.pciBusId);
    ids.push_back(g.serial);
    for (const std::string *x : {&g.vbios, &g.inforomImage, &g.inforomOem, &g.inforomEcc, &g.inforomPower, &g.brand}) {
      ids.push_back(*x);
    }
    migCounts.push_back(g.mig.size());
    for (const MigSample &m : g.mig) {
      out.nums.push_back(m.slot);
      out.nums.push_back(static_cast<double>(m.gpuInstanceId));
      out.nums.push_back(static_cast<double>(m.computeInstanceId));
      out.nums.push_back(static_cast<double>(m.giProfileId));
      out.nums.push_back(static_cast<double>(m.giPlacementStart));
      PackReadings(m.r, out.nums);
      ids.push_back(m.uuid);
      ids.push_back(m.profile);
      ids.push_back(m.name);
      ids.push_back(m.profileSource);
    }
  }
  PackGpm(d, out.nums);
  const ProcessData &pd = d.processes;
  out.nums.push_back(pd.read ? 1 : 0);
  if (pd.read) {
    out.nums.push_back(pd.durationUs);
    out.nums.push_back(pd.stride);
    out.nums.push_back(static_cast<double>(pd.devices.size()));
    for (const ProcessDevice &pv : pd.devices) {
      for (double v : {static_cast<double>(pv.gpu), static_cast<double>(pv.slot), static_cast<double>(pv.listStatus),
                       static_cast<double>(pv.utilStatus), pv.intervalUs, static_cast<double>(pv.procs.size())}) {
        out.nums.push_back(v);
      }
      for (const ProcessEntry &e : pv.procs) {
        for (double v : {static_cast<double>(e.pid), static_cast<double>(e.kinds), e.usedMemory, e.sm, e.mem, e.enc, e.dec}) {
          out.nums.push_back(v);
        }
      }
    }
  }
  out.identityChanged = !cache.valid || ids != cache.ids || migCounts != cache.migCounts;
  if (out.identityChanged) {
    cache.valid = true;
    cache.ids = ids;
    cache.migCounts = std::move(migCounts);
    out.ids = std::move(ids);
  }
}

void DeliverSweep(Napi::Env env, Napi::Function cb, const PackedSweep &p) {
  if (p.errorCode != 0) {
    cb.Call({Napi::Number::New(env, p.errorCode), Napi::String::New(env, p.errorCall)});
    return;
  }
  const size_t bytes = p.nums.size() * sizeof(double);
  AddonData *data = env.GetInstanceData<AddonData>();
  Napi::ArrayBuffer buf;
  if (data != nullptr && !data->scratch.IsEmpty() && data->scratch.Value().ByteLength() >= bytes) {
    buf = data->scratch.Value();
  } else {
    buf = Napi::ArrayBuffer::New(env, bytes + bytes / 4 + 64);  // some room: MIG devices may come and go
    if (data != nullptr) data->scratch = Napi::Persistent(buf);
  }
  if (bytes > 0) std::memcpy(buf.Data(), p.nums.data(), bytes);
  Napi::Float64Array nums = Napi::Float64Array::New(env, p.nums.size(), buf, 0);
  Napi::Value ids = env.Null();
  if (p.identityChanged) {
    Napi::Array a = Napi::Array::New(env, p.ids.size());
    for (size_t i = 0; i < p.ids.size(); i++) a.Set(static_cast<uint32_t>(i), Napi::String::New(env, p.ids[i]));
    ids = a;
  }
  cb.Call({Napi::Number::New(env, 0), nums, ids});
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
