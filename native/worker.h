// worker.h — the dedicated sweep thread (not the libuv pool). It takes at most one request at a
// time; the result is packed on this thread and crosses back to JS in one thread-safe-function
// call (result.h).
#ifndef NVML_EXPORTER_WORKER_H
#define NVML_EXPORTER_WORKER_H

#include <napi.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "loader.h"
#include "result.h"
#include "sweep.h"

namespace nvx {

class SweepWorker {
 public:
  // `onDone(0, nums, ids | null)` or `onDone(errorCode, callName)` is called on the main thread once per request.
  SweepWorker(Napi::Env env, std::shared_ptr<Library> lib, Napi::Function onDone);
  ~SweepWorker();
  // Queues one sweep. False when a sweep is still running (or the worker is stopping).
  bool Request(bool pcieThroughput, int gpmMode = 0, bool processes = false);
  // Stops the thread: joins it when idle; when a sweep is stuck in NVML the thread is detached
  // and finishes (and releases the library) on its own once the call returns.
  void Stop();

 private:
  struct State {
    std::mutex m;
    std::condition_variable cv;
    bool pending = false, busy = false, stop = false, pcie = false, processes = false;
    int gpm = 0;  // GpmMode (native/gpm.h)
    std::shared_ptr<Library> lib;
    std::unique_ptr<Sweeper> sweeper;
    IdentityCache identity;  // sweep thread only
    Napi::ThreadSafeFunction tsfn;
  };
  static void Loop(std::shared_ptr<State> s);
  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace nvx

#endif
