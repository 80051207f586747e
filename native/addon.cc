// addon.cc — the N-API surface: one NvmlHandle per opened library. lib/nvml/binding.ts is the
// only JS that sees it; lib/nvml/index.ts wraps it in the typed Nvml class.
//
//   new NvmlHandle()
//   .open(path, onSweep) → { code, stage, detail, path }   code 0 = opened and initialised;
//                                                          onSweep(0, nums, ids | null) per sweep,
//                                                          or onSweep(code, callName) (result.h)
//   .sweep(pcieThroughput) → boolean                        false: a sweep is still running
//   .busy() → boolean
//   .startEvents(onXid) → boolean
//   .close()                                                stops both threads, nvmlShutdown, dlclose
#include <napi.h>

#include <memory>
#include <string>

#include "events.h"
#include "loader.h"
#include "result.h"
#include "sweep.h"
#include "worker.h"

namespace nvx {

class NvmlHandle : public Napi::ObjectWrap<NvmlHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NvmlHandle",
                       {InstanceMethod<&NvmlHandle::Open>("open"), InstanceMethod<&NvmlHandle::Sweep>("sweep"),
                        InstanceMethod<&NvmlHandle::Busy>("busy"),
                        InstanceMethod<&NvmlHandle::StartEvents>("startEvents"),
                        InstanceMethod<&NvmlHandle::Close>("close")});
  }

  explicit NvmlHandle(const Napi::CallbackInfo &info) : Napi::ObjectWrap<NvmlHandle>(info), env_(info.Env()) {}
  ~NvmlHandle() override { Shutdown(); }

 private:
  Napi::Value Open(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (lib_) throw Napi::Error::New(env, "NvmlHandle.open: already open");
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsFunction()) {
      throw Napi::TypeError::New(env, "NvmlHandle.open(path: string, onSweep: function)");
    }
    const std::string path = info[0].As<Napi::String>();
    Napi::Object res = Napi::Object::New(env);
    auto lib = std::make_shared<Library>();
    std::string err;
    if (!lib->Open(path, err)) {
      res.Set("code", Napi::Number::New(env, NVML_ERROR_LIBRARY_NOT_FOUND));
      res.Set("stage", "dlopen");
      res.Set("detail", err);
      return res;
    }
    res.Set("path", lib->path());
    nvmlReturn_t rc = lib->Init();
    if (rc != NVML_SUCCESS) {
      res.Set("code", Napi::Number::New(env, rc));
      res.Set("stage", "init");
      const char *s = lib->api().errorString != nullptr ? lib->api().errorString(rc) : nullptr;
      res.Set("detail", s != nullptr ? s : "");
      lib->Close();
      return res;
    }
    lib_ = lib;
    worker_ = std::make_unique<SweepWorker>(env, lib_, info[1].As<Napi::Function>());
    AddHook();
    res.Set("code", Napi::Number::New(env, 0));
    res.Set("stage", "ok");
    res.Set("detail", "");
    return res;
  }

  Napi::Value Sweep(const Napi::CallbackInfo &info) {
    if (!worker_) throw Napi::Error::New(info.Env(), "NvmlHandle.sweep: not open");
    return Napi::Boolean::New(info.Env(), worker_->Request(info.Length() > 0 && info[0].ToBoolean()));
  }

  Napi::Value Busy(const Napi::CallbackInfo &info) {
    return Napi::Boolean::New(info.Env(), worker_ && worker_->Busy());
  }

  Napi::Value StartEvents(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (!lib_) throw Napi::Error::New(env, "NvmlHandle.startEvents: not open");
    if (info.Length() < 1 || !info[0].IsFunction()) throw Napi::TypeError::New(env, "startEvents(onXid: function)");
    if (events_) return Napi::Boolean::New(env, false);
    events_ = std::make_unique<EventWorker>(env, lib_, info[0].As<Napi::Function>());
    AddHook();  // registered after the new thread-safe function, so it runs before that one is torn down
    return Napi::Boolean::New(env, true);
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    Shutdown();
    return info.Env().Undefined();
  }

  void Shutdown() {
    RemoveHook();
    if (events_) events_->Stop();
    events_.reset();
    if (worker_) worker_->Stop();
    worker_.reset();
    lib_.reset();  // the last owner (here, or a detached stuck sweep thread) runs nvmlShutdown + dlclose
  }

  static void CleanupHook(void *arg) {
    auto *self = static_cast<NvmlHandle *>(arg);
    self->hooked_ = false;
    self->Shutdown();
  }
  void AddHook() {
    RemoveHook();
    if (napi_add_env_cleanup_hook(env_, CleanupHook, this) == napi_ok) hooked_ = true;
  }
  void RemoveHook() {
    if (hooked_) napi_remove_env_cleanup_hook(env_, CleanupHook, this);
    hooked_ = false;
  }

  napi_env env_;
  bool hooked_ = false;
  std::shared_ptr<Library> lib_;
  std::unique_ptr<SweepWorker> worker_;
  std::unique_ptr<EventWorker> events_;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonData());
  exports.Set("NvmlHandle", NvmlHandle::Define(env));
  exports.Set("defaultLibrary", Napi::String::New(env, kDefaultLibrary));
  // The order of the readings in a packed sweep; lib/nvml checks it against READING_KEYS.
  Napi::Array keys = Napi::Array::New(env, R_COUNT);
  for (int k = 0; k < R_COUNT; k++) keys.Set(static_cast<uint32_t>(k), Napi::String::New(env, kReadingNames[k]));
  exports.Set("readingKeys", keys);
  return exports;
}

}  // namespace nvx

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return nvx::Init(env, exports); }

NODE_API_MODULE(nvml_addon, InitAddon)
