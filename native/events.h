// events.h — the XID event thread: one NVML event set registered for XID critical errors on every
// GPU, waited on with a short timeout in a loop so that Stop() returns promptly. Events reach JS
// through an unref'd thread-safe function (it never keeps the process alive by itself).
#ifndef NVML_EXPORTER_EVENTS_H
#define NVML_EXPORTER_EVENTS_H

#include <napi.h>

#include <atomic>
#include <memory>
#include <thread>

#include "loader.h"

namespace nvx {

class EventWorker {
 public:
  EventWorker(Napi::Env env, std::shared_ptr<Library> lib, Napi::Function onXid);
  ~EventWorker();
  // Joins the thread, frees the event set, releases the thread-safe function. Idempotent.
  void Stop();

 private:
  struct State {
    std::atomic<bool> stop{false};
    std::shared_ptr<Library> lib;
    Napi::ThreadSafeFunction tsfn;
  };
  static void Loop(std::shared_ptr<State> s);
  std::shared_ptr<State> state_;
  std::thread thread_;
};

constexpr unsigned kEventWaitMs = 500;

}  // namespace nvx

#endif
