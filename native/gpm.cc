// gpm.cc — GPM sampling within the sweep (see gpm.h).
#include "gpm.h"

#include <algorithm>
#include <cstring>

#include "sweep.h"

namespace nvx {

namespace {

// The GPM metrics each entity level is asked for: those a DCGM_FI_PROF_* field maps to, at the
// levels DCGM serves them (../shared/reference/nvml-audit.md §5.3, §5.4). The engine and pipe
// ratios exist for GPU, GPU instance and compute instance; DRAM for GPU and GPU instance; PCIe,
// NVLink, C2C, caches, decoders and the cumulative counters for the whole GPU only.
std::vector<unsigned> RatioIds(bool withDram) {
  std::vector<unsigned> ids = {1, 2, 3, 4, 5, 6, 7, 9};
  if (withDram) ids.push_back(NVML_GPM_METRIC_DRAM_BW_UTIL);
  for (unsigned id : {11u, 12u, 13u}) ids.push_back(id);
  return ids;
}

std::vector<unsigned> GpuIds() {
  std::vector<unsigned> ids = RatioIds(true);
  ids.push_back(NVML_GPM_METRIC_PCIE_TX_PER_SEC);
  ids.push_back(NVML_GPM_METRIC_PCIE_RX_PER_SEC);
  for (unsigned k = 0; k < 8; k++) ids.push_back(NVML_GPM_METRIC_NVDEC_0_UTIL + k);
  for (unsigned k = 0; k < 8; k++) ids.push_back(NVML_GPM_METRIC_NVJPG_0_UTIL + k);
  for (unsigned k = 0; k < 2; k++) ids.push_back(NVML_GPM_METRIC_NVOFA_0_UTIL + k);
  ids.push_back(NVML_GPM_METRIC_NVLINK_TOTAL_RX_PER_SEC);
  ids.push_back(NVML_GPM_METRIC_NVLINK_TOTAL_TX_PER_SEC);
  for (unsigned k = 0; k < 36; k++) ids.push_back(NVML_GPM_METRIC_NVLINK_L0_RX_PER_SEC + k);  // links 0-17, RX/TX
  for (unsigned k = 0; k < 4; k++) ids.push_back(NVML_GPM_METRIC_C2C_TOTAL_TX_PER_SEC + k);
  for (unsigned k = 0; k < 4; k++) ids.push_back(NVML_GPM_METRIC_HOSTMEM_CACHE_HIT + k);
  for (unsigned k = 0; k < 13; k++) ids.push_back(NVML_GPM_METRIC_SM_CYCLES_ELAPSED + k);
  return ids;
}

const std::vector<unsigned> &IdsFor(int level) {
  static const std::vector<unsigned> gpu = GpuIds(), gi = RatioIds(true), ci = RatioIds(false);
  return level == GPM_LEVEL_GPU ? gpu : level == GPM_LEVEL_GI ? gi : ci;
}

constexpr auto kMinGap = std::chrono::milliseconds(100);

bool IsLostCode(nvmlReturn_t rc) { return rc == NVML_ERROR_GPU_IS_LOST || rc == NVML_ERROR_GPU_NOT_FOUND; }

}  // namespace

GpmSampler::GpmSampler(const NvmlApi &api) : a_(api) { std::memset(&mg_, 0, sizeof mg_); }

GpmSampler::~GpmSampler() {
  for (auto &kv : entities_) Free(kv.second);
}

bool GpmSampler::Available() const {
  return a_.gpmQueryDeviceSupport != nullptr && a_.gpmSampleAlloc != nullptr && a_.gpmSampleFree != nullptr &&
         a_.gpmSampleGet != nullptr && a_.gpmMetricsGet != nullptr;
}

void GpmSampler::Free(Entity &e) {
  if (e.prev != nullptr) a_.gpmSampleFree(e.prev);
  if (e.cur != nullptr) a_.gpmSampleFree(e.cur);
  e.prev = e.cur = nullptr;
  e.havePrev = false;
}

int GpmSampler::Support(nvmlDevice_t h, const std::string &uuid) {
  auto it = support_.find(uuid);
  if (it != support_.end()) return it->second;
  nvmlGpmSupport_t s;
  std::memset(&s, 0, sizeof s);
  s.version = NVML_GPM_SUPPORT_VERSION;
  nvmlReturn_t rc = a_.gpmQueryDeviceSupport(h, &s);
  int code = rc != NVML_SUCCESS ? rc : s.isSupportedDevice ? 0 : NVML_ERROR_NOT_SUPPORTED;
  // the answers that do not change for this GPU are kept; others (no permission now, a transient
  // error) are asked again next sweep
  if (code == 0 || code == NVML_ERROR_NOT_SUPPORTED || code == NVML_ERROR_FUNCTION_NOT_FOUND) support_[uuid] = code;
  return code;
}

void GpmSampler::Sample(nvmlDevice_t h, GpuSample &g, int mode, int &lost) {
  GpmGpuSample &out = g.gpm;
  out.entities.clear();
  if (mode == GPM_OFF) {
    out.support = kGpmNotAsked;
    return;
  }
  if (!Available()) {
    out.support = NVML_ERROR_FUNCTION_NOT_FOUND;
    return;
  }
  out.support = Support(h, g.uuid);
  if (IsLostCode(out.support)) lost = out.support;
  if (out.support != 0) return;

  GpmEntitySample gpu;
  gpu.level = GPM_LEVEL_GPU;
  Take(g.uuid, h, -1, gpu, lost);
  out.entities.push_back(std::move(gpu));
  if (lost) return;

  // GPU instances: the ids of the MIG devices (compute instances) seen in this sweep. A GPU
  // instance without a compute instance has no MIG device and is not sampled, as DCGM skips it.
  // Keyed by the GPU instance's id and its first compute instance's UUID: a GPU instance destroyed
  // and created again under the same id is a new entity, never paired with the old one's sample.
  std::map<long long, std::string> gis;
  for (const MigSample &m : g.mig) {
    if (m.gpuInstanceId >= 0 && gis.find(m.gpuInstanceId) == gis.end()) gis[m.gpuInstanceId] = m.uuid;
  }
  for (const auto &kv : gis) {
    const long long gi = kv.first;
    GpmEntitySample e;
    e.level = GPM_LEVEL_GI;
    e.gpuInstanceId = gi;
    if (a_.gpmMigSampleGet == nullptr) {
      e.code = NVML_ERROR_FUNCTION_NOT_FOUND;  // an R520 library: GPU-instance samples came with R525
    } else {
      Take(g.uuid + "/gi/" + std::to_string(gi) + "/" + kv.second, h, gi, e, lost);
    }
    out.entities.push_back(std::move(e));
    if (lost) return;
  }
  if (mode != GPM_WITH_CI) return;
  for (const MigSample &m : g.mig) {
    if (m.handle == nullptr) continue;
    GpmEntitySample e;
    e.level = GPM_LEVEL_CI;
    e.gpuInstanceId = m.gpuInstanceId;
    e.computeInstanceId = m.computeInstanceId;
    int ciLost = 0;  // a MIG handle's lost code is that instance's, not the GPU's
    Take(m.uuid, m.handle, -1, e, ciLost);
    out.entities.push_back(std::move(e));
  }
}

void GpmSampler::Take(const std::string &key, nvmlDevice_t h, long long gi, GpmEntitySample &out, int &lost) {
  Entity &e = entities_[key];
  e.seen = true;
  nvmlReturn_t rc = NVML_SUCCESS;
  if (e.prev == nullptr) rc = a_.gpmSampleAlloc(&e.prev);
  if (rc == NVML_SUCCESS && e.cur == nullptr) rc = a_.gpmSampleAlloc(&e.cur);
  if (rc != NVML_SUCCESS) {
    out.code = rc;
    return;
  }
  rc = gi >= 0 ? a_.gpmMigSampleGet(h, static_cast<unsigned>(gi), e.cur) : a_.gpmSampleGet(h, e.cur);
  const auto now = std::chrono::steady_clock::now();
  if (rc != NVML_SUCCESS) {
    if (IsLostCode(rc)) lost = rc;
    out.code = rc;
    e.havePrev = e.haveLast = false;  // the next good sample starts a new pair
    return;
  }
  if (!e.havePrev) {
    std::swap(e.prev, e.cur);
    e.prevAt = now;
    e.havePrev = true;
    out.code = kGpmNoPair;
    return;
  }
  if (now - e.prevAt < kMinGap) {
    // too close: keep the older sample (the next sweep pairs with it), serve the last pair again
    if (e.haveLast) {
      const int level = out.level;
      const long long gi = out.gpuInstanceId, ci = out.computeInstanceId;
      out = e.last;
      out.level = level;
      out.gpuInstanceId = gi;
      out.computeInstanceId = ci;
    } else {
      out.code = kGpmNoPair;
    }
    return;
  }
  Metrics(e, out);
  e.haveLast = out.code == 0;
  if (e.haveLast) e.last = out;
  std::swap(e.prev, e.cur);
  e.prevAt = now;
}

void GpmSampler::Metrics(Entity &e, GpmEntitySample &out) {
  const std::vector<unsigned> &ids = IdsFor(out.level);
  out.code = 0;
  out.ids.clear();
  out.values.clear();
  out.status.clear();
  for (size_t at = 0; at < ids.size(); at += NVX_GPM_METRICS_PER_CALL) {
    const size_t n = std::min<size_t>(NVX_GPM_METRICS_PER_CALL, ids.size() - at);
    std::memset(&mg_.head, 0, sizeof mg_.head);
    std::memset(mg_.metrics, 0, n * sizeof(nvmlGpmMetric_t));
    mg_.head.version = NVML_GPM_METRICS_GET_VERSION;
    mg_.head.numMetrics = static_cast<unsigned>(n);
    mg_.head.sample1 = e.prev;
    mg_.head.sample2 = e.cur;
    for (size_t i = 0; i < n; i++) mg_.metrics[i].metricId = ids[at + i];
    nvmlReturn_t rc = a_.gpmMetricsGet(&mg_);
    if (rc != NVML_SUCCESS) {
      out.code = rc;
      out.ids.clear();
      out.values.clear();
      out.status.clear();
      return;
    }
    for (size_t i = 0; i < n; i++) {
      out.ids.push_back(ids[at + i]);
      out.values.push_back(mg_.metrics[i].value);
      out.status.push_back(mg_.metrics[i].nvmlReturn);
    }
  }
}

void GpmSampler::EndSweep() {
  for (auto it = entities_.begin(); it != entities_.end();) {
    if (!it->second.seen) {
      Free(it->second);
      it = entities_.erase(it);
    } else {
      it->second.seen = false;
      ++it;
    }
  }
}

void PackGpm(const SweepData &d, std::vector<double> &out) {
  for (const GpuSample &g : d.gpus) {
    out.push_back(g.gpm.support);
    out.push_back(static_cast<double>(g.gpm.entities.size()));
    for (const GpmEntitySample &e : g.gpm.entities) {
      out.push_back(e.level);
      out.push_back(static_cast<double>(e.gpuInstanceId));
      out.push_back(static_cast<double>(e.computeInstanceId));
      out.push_back(e.code);
      out.push_back(static_cast<double>(e.ids.size()));
      for (size_t i = 0; i < e.ids.size(); i++) {
        out.push_back(e.ids[i]);
        out.push_back(e.values[i]);
        out.push_back(e.status[i]);
      }
    }
  }
}

}  // namespace nvx
