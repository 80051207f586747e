// events.cc — the XID event thread (see events.h).
#include "events.h"

#include <chrono>
#include <cstring>
#include <string>
#include <system_error>
#include <vector>

#include "result.h"

namespace nvx {

EventWorker::EventWorker(Napi::Env env, std::shared_ptr<Library> lib, Napi::Function onXid)
    : state_(std::make_shared<State>()) {
  state_->lib = lib;
  state_->tsfn = Napi::ThreadSafeFunction::New(env, onXid, "nvml-xid", 0, 1);
  state_->tsfn.Unref(env);
  try {
    thread_ = std::thread(Loop, state_);
  } catch (const std::system_error &e) {
    // no thread (EAGAIN: the process or cgroup is out of threads): the caller runs without events
    state_->tsfn.Release();
    throw Napi::Error::New(env, std::string("cannot create the XID event thread: ") + e.what());
  }
}

EventWorker::~EventWorker() { Stop(); }

void EventWorker::Stop() {
  if (!thread_.joinable()) return;
  state_->stop = true;
  thread_.join();  // the wait returns within kEventWaitMs
}

void EventWorker::Loop(std::shared_ptr<State> s) {
  const NvmlApi &a = s->lib->api();
  nvmlEventSet_t set = nullptr;
  struct Gpu {
    nvmlDevice_t h;
    int index;
    std::string uuid;
  };
  std::vector<Gpu> gpus;
  // The v2 wait adds the GPU/compute-instance ids; a driver can still refuse it at run time.
  nvmlEventSetWait_fn wait = a.eventSetWaitV2 != nullptr ? a.eventSetWaitV2 : a.eventSetWait;
  bool waitIsV2 = a.eventSetWaitV2 != nullptr;
  if (a.eventSetCreate != nullptr && wait != nullptr && a.deviceRegisterEvents != nullptr &&
      a.eventSetCreate(&set) == NVML_SUCCESS) {
    unsigned count = 0;
    if (a.deviceGetCount != nullptr && a.deviceGetCount(&count) == NVML_SUCCESS) {
      for (unsigned i = 0; i < count; i++) {
        nvmlDevice_t h = nullptr;
        if (a.deviceGetHandleByIndex == nullptr || a.deviceGetHandleByIndex(i, &h) != NVML_SUCCESS) continue;
        unsigned long long mask = NVML_EVENT_TYPE_XID_CRITICAL_ERROR;
        unsigned long long supported = 0;
        if (a.deviceGetSupportedEventTypes != nullptr &&
            a.deviceGetSupportedEventTypes(h, &supported) == NVML_SUCCESS) {
          mask &= supported;
        }
        if (mask == 0) continue;
        char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE] = {0};
        if (a.deviceGetUuid != nullptr) a.deviceGetUuid(h, uuid, sizeof uuid);
        uuid[sizeof uuid - 1] = '\0';
        if (a.deviceRegisterEvents(h, mask, set) == NVML_SUCCESS) gpus.push_back({h, static_cast<int>(i), uuid});
      }
    }
  }
  while (!s->stop) {
    if (set == nullptr || gpus.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // nothing to wait on: idle until Stop
      continue;
    }
    nvmlEventData_t ev;
    std::memset(&ev, 0, sizeof ev);
    ev.gpuInstanceId = 0xFFFFFFFFu;
    ev.computeInstanceId = 0xFFFFFFFFu;
    nvmlReturn_t rc = wait(set, &ev, kEventWaitMs);
    if (rc == NVML_ERROR_TIMEOUT) continue;
    if (waitIsV2 && (rc == NVML_ERROR_NOT_SUPPORTED || rc == NVML_ERROR_FUNCTION_NOT_FOUND)) {
      // The driver does not do the v2 wait after all: wait with v1 from now on (without GI/CI ids).
      waitIsV2 = false;
      wait = a.eventSetWait;
      if (wait == nullptr) gpus.clear();  // no v1 wait either: no XID can be delivered; idle until Stop
      continue;
    }
    if (rc != NVML_SUCCESS) {
      // GPU lost, interrupted wait, …: back off a little instead of spinning.
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if ((ev.eventType & NVML_EVENT_TYPE_XID_CRITICAL_ERROR) == 0) continue;
    auto *x = new XidData();
    x->xid = static_cast<double>(ev.eventData);
    x->timeMs = std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch()).count();
    for (const Gpu &g : gpus) {
      if (g.h == ev.device) {
        x->gpu = g.index;
        x->uuid = g.uuid;
      }
    }
    if (x->gpu < 0 && a.deviceGetUuid != nullptr) {
      char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE] = {0};
      if (a.deviceGetUuid(ev.device, uuid, sizeof uuid) == NVML_SUCCESS) x->uuid = uuid;
    }
    // GPU/compute-instance ids only from the v2 wait and only when MIG is enabled on that GPU, as
    // DCGM does: what other GPUs carry there is not an instance id.
    if (waitIsV2 && (ev.gpuInstanceId != 0xFFFFFFFFu || ev.computeInstanceId != 0xFFFFFFFFu)) {
      unsigned cur = 0, pending = 0;
      if (a.deviceGetMigMode != nullptr && a.deviceGetMigMode(ev.device, &cur, &pending) == NVML_SUCCESS &&
          cur == NVML_DEVICE_MIG_ENABLE) {
        if (ev.gpuInstanceId != 0xFFFFFFFFu) x->gpuInstanceId = ev.gpuInstanceId;
        if (ev.computeInstanceId != 0xFFFFFFFFu) x->computeInstanceId = ev.computeInstanceId;
      }
    }
    napi_status st = s->tsfn.BlockingCall(x, [](Napi::Env env, Napi::Function cb, XidData *d) {
      if (static_cast<napi_env>(env) != nullptr && !cb.IsEmpty()) CallIntoJs(env, [&] { cb.Call({XidToJs(env, *d)}); });
      delete d;
    });
    if (st != napi_ok) {
      delete x;
      break;
    }
  }
  if (set != nullptr && a.eventSetFree != nullptr) a.eventSetFree(set);
  s->tsfn.Release();
  s->lib.reset();
}

}  // namespace nvx
