// worker.cc — the sweep thread (see worker.h).
#include "worker.h"

#include <string>
#include <system_error>

#include "result.h"

namespace nvx {

SweepWorker::SweepWorker(Napi::Env env, std::shared_ptr<Library> lib, Napi::Function onDone)
    : state_(std::make_shared<State>()) {
  state_->lib = lib;
  state_->sweeper = std::make_unique<Sweeper>(lib->api());
  state_->tsfn = Napi::ThreadSafeFunction::New(env, onDone, "nvml-sweep", 0, 1);
  // An idle worker must not keep the process alive; lib/nvml keeps a timer while a sweep runs.
  state_->tsfn.Unref(env);
  try {
    thread_ = std::thread(Loop, state_);
  } catch (const std::system_error &e) {
    // no thread (EAGAIN): a JS error for the open to report, never std::terminate
    state_->tsfn.Release();
    throw Napi::Error::New(env, std::string("cannot create the sweep thread: ") + e.what());
  }
}

SweepWorker::~SweepWorker() { Stop(); }

bool SweepWorker::Request(bool pcieThroughput, int gpmMode, bool processes) {
  std::lock_guard<std::mutex> lock(state_->m);
  if (state_->stop || state_->busy || state_->pending) return false;
  state_->pending = true;
  state_->pcie = pcieThroughput;
  state_->gpm = gpmMode;
  state_->processes = processes;
  state_->cv.notify_one();
  return true;
}

void SweepWorker::Stop() {
  if (!thread_.joinable()) return;
  bool busy;
  {
    std::lock_guard<std::mutex> lock(state_->m);
    state_->stop = true;
    busy = state_->busy;
    state_->cv.notify_one();
  }
  if (busy) {
    thread_.detach();  // stuck in NVML: it exits by itself after the call returns
  } else {
    thread_.join();
  }
}

void SweepWorker::Loop(std::shared_ptr<State> s) {
  for (;;) {
    bool pcie, processes;
    int gpm;
    {
      std::unique_lock<std::mutex> lock(s->m);
      s->cv.wait(lock, [&] { return s->pending || s->stop; });
      if (s->stop) break;
      s->pending = false;
      s->busy = true;
      pcie = s->pcie;
      gpm = s->gpm;
      processes = s->processes;
    }
    SweepData data;
    s->sweeper->Run(pcie, data, gpm, processes);
    auto *packed = new PackedSweep();
    PackSweep(data, s->identity, *packed);  // packed here, so the main thread only copies it
    bool stopped;
    {
      std::lock_guard<std::mutex> lock(s->m);
      s->busy = false;  // JS may ask for the next sweep from inside the completion callback
      stopped = s->stop;
    }
    if (stopped) {
      delete packed;
      break;
    }
    napi_status st = s->tsfn.BlockingCall(packed, [](Napi::Env env, Napi::Function cb, PackedSweep *p) {
      if (static_cast<napi_env>(env) != nullptr && !cb.IsEmpty()) CallIntoJs(env, [&] { DeliverSweep(env, cb, *p); });
      delete p;
    });
    if (st != napi_ok) {
      delete packed;
      break;
    }
  }
  s->sweeper.reset();
  s->tsfn.Release();
  s->lib.reset();  // the last owner shuts NVML down and closes the library
}

}  // namespace nvx
