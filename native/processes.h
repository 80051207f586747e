// processes.h — the processes on each GPU and MIG device, read on the sweep thread when a sweep
// asks for them: compute, graphics and MPS-client lists with each process's memory, and each
// process's SM / memory / encoder / decoder utilisation averaged over the time since the previous
// read, weighted by the driver's sample period. No V8.
#ifndef NVML_EXPORTER_PROCESSES_H
#define NVML_EXPORTER_PROCESSES_H

#include <map>
#include <string>
#include <vector>

#include "loader.h"

namespace nvx {

enum ProcessKind { kProcCompute = 1, kProcGraphics = 2, kProcMps = 4 };

struct ProcessEntry {
  unsigned pid = 0;
  unsigned kinds = 0;         // ProcessKind bits
  double usedMemory = -1;     // bytes; -1 = not available
  double sm = -1, mem = -1, enc = -1, dec = -1;  // % averaged over intervalUs; -1 = not read
};

// One GPU (slot -1) or MIG device (its slot on the parent).
struct ProcessDevice {
  unsigned gpu = 0;  // position in SweepData::gpus
  int slot = -1;
  int listStatus = -1;  // NVML code of the process lists (0 = read; the first failure otherwise)
  int utilStatus = -1;  // NVML code of the utilisation samples (0 = read, NOT_FOUND counts as read)
  double intervalUs = 0;  // the span the utilisation averages cover
  std::vector<ProcessEntry> procs;
};

struct ProcessData {
  bool read = false;  // false: this sweep did not read processes
  double durationUs = 0;
  int stride = 0;  // entry size of the process lists last probed (16, 24 or 32; 0 = none seen)
  std::vector<ProcessDevice> devices;
};

// At most this many processes per device are kept (the rest are counted in listStatus as
// INSUFFICIENT_SIZE only when the driver itself reports more).
constexpr unsigned kMaxProcessesPerDevice = 1024;

// Keeps, per device UUID, the last utilisation sample time and the smallest sample period seen.
// Used by the sweep thread only.
class ProcessReader {
 public:
  explicit ProcessReader(const NvmlApi &api) : a_(api) {}
  // Reads the processes of `h` (a GPU, or a MIG device when slot >= 0) into `out`.
  void Read(nvmlDevice_t h, const std::string &uuid, ProcessDevice &out);
  int stride() const { return stride_; }
  // Forgets devices not read since the last call (MIG devices that went away).
  void EndSweep();

 private:
  struct UtilState {
    unsigned long long lastSeen = 0;
    unsigned long long periodUs = 0;  // smallest positive gap between samples seen; 0 = unknown
    bool seen = false;
  };
  int List(nvmlDeviceGetRunningProcesses_fn fn, bool v1, nvmlDevice_t h, unsigned kind,
           std::vector<ProcessEntry> &procs);
  int Utilisation(nvmlDevice_t h, UtilState &st, ProcessDevice &out);
  const NvmlApi &a_;
  int stride_ = 0;
  std::map<std::string, UtilState> util_, seen_;
  std::vector<unsigned char> buf_;
  std::vector<nvmlProcessUtilizationSample_t> samples_;
};

}  // namespace nvx

#endif
