// processes.cc — the processes of a GPU or MIG device (see processes.h).
//
// The entry size of a process list is probed at every call, never taken from sizeof: the
// unversioned symbols write 16-byte entries, `_v2`/`_v3` 24-byte ones, and `_v3` of drivers
// 535.43–535.86 wrote 32-byte entries with no version bump (nvml_abi.h, nvmlProcessInfo_t). The
// buffer has room for 32-byte entries and is filled with a marker first: the last 8 bytes of the
// n-th 32-byte slot are beyond anything a 24-byte writer touches, and a 32-byte writer always
// writes them. Every pid read with the chosen stride must also be a possible Linux pid.
//
// Per-process utilisation: nvmlDeviceGetProcessUtilization answers the samples newer than the
// timestamp we pass (the newest one we saw on this device), one per process that was busy in a
// sample period. A process's value is the sum of its samples × the sample period ÷ the span since
// the previous read: a process idle for part of the span counts as 0 for that part, as it should.
#include "processes.h"

#include <algorithm>
#include <cstring>

namespace nvx {

namespace {

constexpr unsigned char kFill = 0xA5;
constexpr unsigned kMaxStride = 32;
constexpr unsigned kLinuxPidMax = 4194304;  // PID_MAX_LIMIT on 64-bit Linux
constexpr unsigned long long kDefaultPeriodUs = 166667;  // a sixth of a second, until one is seen
constexpr unsigned kMaxSamples = 16384;

unsigned U32At(const unsigned char *p) {
  unsigned v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
unsigned long long U64At(const unsigned char *p) {
  unsigned long long v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

bool Plausible(const unsigned char *b, unsigned n, unsigned stride) {
  for (unsigned i = 0; i < n; i++) {
    unsigned pid = U32At(b + i * stride);
    if (pid == 0 || pid > kLinuxPidMax) return false;
  }
  return true;
}

// 24 or 32 for the n entries a `_v2`/`_v3` call wrote into `b` (n >= 1, b pre-filled with kFill).
unsigned ProbeStride(const unsigned char *b, unsigned n) {
  bool tail = false;
  for (unsigned k = n * 32 - 8; k < n * 32; k++) tail = tail || b[k] != kFill;
  unsigned s = tail ? 32 : 24;
  unsigned other = tail ? 24 : 32;
  if (!Plausible(b, n, s) && Plausible(b, n, other)) s = other;
  return s;
}

}  // namespace

int ProcessReader::List(nvmlDeviceGetRunningProcesses_fn fn, bool v1, nvmlDevice_t h, unsigned kind,
                        std::vector<ProcessEntry> &procs) {
  if (fn == nullptr) return NVML_ERROR_FUNCTION_NOT_FOUND;
  unsigned count = 0;
  nvmlReturn_t rc = fn(h, &count, nullptr);
  if (rc == NVML_SUCCESS) return NVML_SUCCESS;  // none
  if (rc != NVML_ERROR_INSUFFICIENT_SIZE) return rc;
  unsigned n = 0, cap = 0;
  for (int attempt = 0; attempt < 2; attempt++) {  // one more try when processes started meanwhile
    cap = std::min(count + 8, kMaxProcessesPerDevice);
    buf_.assign(static_cast<size_t>(cap) * kMaxStride, kFill);
    n = cap;
    rc = fn(h, &n, buf_.data());
    if (rc != NVML_ERROR_INSUFFICIENT_SIZE || cap == kMaxProcessesPerDevice) break;
    count = n;
  }
  if (rc != NVML_SUCCESS) return rc;
  n = std::min(n, cap);
  if (n == 0) return NVML_SUCCESS;
  const unsigned stride = v1 ? 16 : ProbeStride(buf_.data(), n);
  stride_ = static_cast<int>(stride);
  for (unsigned i = 0; i < n; i++) {
    const unsigned char *e = buf_.data() + static_cast<size_t>(i) * stride;
    const unsigned pid = U32At(e);
    const unsigned long long mem = U64At(e + 8);
    auto it = std::find_if(procs.begin(), procs.end(), [&](const ProcessEntry &p) { return p.pid == pid; });
    if (it == procs.end()) {
      if (procs.size() >= kMaxProcessesPerDevice) continue;
      procs.emplace_back();
      it = procs.end() - 1;
      it->pid = pid;
    }
    it->kinds |= kind;
    // one process in several lists reports the same memory; the largest answer wins
    if (mem != NVML_VALUE_NOT_AVAILABLE_ULL) it->usedMemory = std::max(it->usedMemory, static_cast<double>(mem));
  }
  return NVML_SUCCESS;
}

int ProcessReader::Utilisation(nvmlDevice_t h, UtilState &st, ProcessDevice &out) {
  auto idle = [&]() {
    for (ProcessEntry &p : out.procs) p.sm = p.mem = p.enc = p.dec = 0;
    out.intervalUs = 0;
    return NVML_SUCCESS;
  };
  if (a_.deviceGetProcessUtilization == nullptr) return NVML_ERROR_FUNCTION_NOT_FOUND;
  unsigned count = 0;
  nvmlReturn_t rc = a_.deviceGetProcessUtilization(h, nullptr, &count, st.lastSeen);
  if (rc == NVML_ERROR_NOT_FOUND || (rc == NVML_SUCCESS && count == 0)) return idle();
  if (rc != NVML_ERROR_INSUFFICIENT_SIZE && rc != NVML_SUCCESS) return rc;
  const unsigned cap = std::min(count + 16, kMaxSamples);
  samples_.assign(cap, nvmlProcessUtilizationSample_t{});
  unsigned n = cap;
  rc = a_.deviceGetProcessUtilization(h, samples_.data(), &n, st.lastSeen);
  if (rc == NVML_ERROR_NOT_FOUND) return idle();
  if (rc != NVML_SUCCESS) return rc;
  n = std::min(n, cap);
  if (n == 0) return idle();
  std::vector<unsigned long long> ts;
  ts.reserve(n);
  for (unsigned i = 0; i < n; i++) ts.push_back(samples_[i].timeStamp);
  std::sort(ts.begin(), ts.end());
  ts.erase(std::unique(ts.begin(), ts.end()), ts.end());
  for (size_t i = 1; i < ts.size(); i++) {
    const unsigned long long gap = ts[i] - ts[i - 1];
    if (gap >= 1000 && gap <= 2000000 && (st.periodUs == 0 || gap < st.periodUs)) st.periodUs = gap;
  }
  const double period = static_cast<double>(st.periodUs != 0 ? st.periodUs : kDefaultPeriodUs);
  const unsigned long long tmin = ts.front(), tmax = ts.back();
  const double start = st.seen && st.lastSeen < tmin ? static_cast<double>(st.lastSeen) : static_cast<double>(tmin) - period;
  const double span = std::max(static_cast<double>(tmax) - start, period);
  for (ProcessEntry &p : out.procs) {
    double sm = 0, mem = 0, enc = 0, dec = 0;
    for (unsigned i = 0; i < n; i++) {
      if (samples_[i].pid != p.pid) continue;
      sm += samples_[i].smUtil;
      mem += samples_[i].memUtil;
      enc += samples_[i].encUtil;
      dec += samples_[i].decUtil;
    }
    p.sm = std::min(100.0, sm * period / span);
    p.mem = std::min(100.0, mem * period / span);
    p.enc = std::min(100.0, enc * period / span);
    p.dec = std::min(100.0, dec * period / span);
  }
  out.intervalUs = span;
  st.lastSeen = tmax;
  st.seen = true;
  return NVML_SUCCESS;
}

void ProcessReader::Read(nvmlDevice_t h, const std::string &uuid, ProcessDevice &out) {
  out.procs.clear();
  const int compute = List(a_.deviceGetComputeRunningProcesses, a_.computeProcessesV1, h, kProcCompute, out.procs);
  const int graphics = List(a_.deviceGetGraphicsRunningProcesses, a_.graphicsProcessesV1, h, kProcGraphics, out.procs);
  const int first = compute == NVML_SUCCESS || graphics == NVML_SUCCESS ? NVML_SUCCESS : compute;
  // MPS clients: absent or NOT_SUPPORTED where MPS is not running; never the list's status
  List(a_.deviceGetMpsComputeRunningProcesses, a_.mpsProcessesV1, h, kProcMps, out.procs);
  out.listStatus = first;
  UtilState &st = util_[uuid];
  out.utilStatus = Utilisation(h, st, out);
  seen_[uuid] = st;
}

void ProcessReader::EndSweep() {
  util_.swap(seen_);
  seen_.clear();
}

}  // namespace nvx
