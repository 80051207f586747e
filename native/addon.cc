// addon.cc — the N-API surface: one NvmlHandle per opened library. lib/nvml/binding.ts is the
// only JS that sees it; lib/nvml/index.ts wraps it in the typed Nvml class.
//
//   new NvmlHandle()
//   .open(path, onSweep) → Promise<{ code, stage, detail, path }>
//                                            dlopen + nvmlInit on a libuv pool thread (nvmlInit can
//                                            take seconds on a node without persistence mode);
//                                            code 0 = opened and initialised; then
//                                            onSweep(0, nums, ids | null) per sweep,
//                                            or onSweep(code, callName) (result.h)
//   .sweep(pcieThroughput, gpmMode?, processes?) → boolean   false: a sweep is still running
//     (gpmMode: native/gpm.h; processes: read the process lists, native/processes.h)
//   .startEvents(onXid) → boolean
//   .close() → Promise<void>                 stops both threads; nvmlShutdown and dlclose run on a
//                                            pool thread when this handle held the last reference
//   releaseFreeMemory() → boolean            hands the C heap's free pages back to the system
#include <napi.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <memory>
#include <string>
#include <utility>

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
                        InstanceMethod<&NvmlHandle::StartEvents>("startEvents"),
                        InstanceMethod<&NvmlHandle::Close>("close")});
  }

  explicit NvmlHandle(const Napi::CallbackInfo &info) : Napi::ObjectWrap<NvmlHandle>(info), env_(info.Env()) {}
  ~NvmlHandle() override { Shutdown(); }

 private:
  // dlopen + nvmlInit off the JS thread; the result settles the promise on the JS thread.
  class OpenWorker : public Napi::AsyncWorker {
   public:
    OpenWorker(Napi::Env env, NvmlHandle *self, std::string path, Napi::Function onSweep)
        : Napi::AsyncWorker(env, "nvml-open"),
          deferred_(Napi::Promise::Deferred::New(env)),
          self_(self),
          path_(std::move(path)),
          lib_(std::make_shared<Library>()) {
      onSweep_ = Napi::Persistent(onSweep);
      selfRef_ = Napi::Persistent(self->Value());  // the handle stays alive until the open settles
    }
    Napi::Promise Promise() const { return deferred_.Promise(); }

    void Execute() override {
      if (!lib_->Open(path_, detail_)) {
        code_ = NVML_ERROR_LIBRARY_NOT_FOUND;
        stage_ = "dlopen";
        return;
      }
      code_ = lib_->Init();
      if (code_ != NVML_SUCCESS) {
        stage_ = "init";
        const char *s = lib_->api().errorString != nullptr ? lib_->api().errorString(code_) : nullptr;
        detail_ = s != nullptr ? s : "";
        lib_->Close();
        return;
      }
      stage_ = "ok";
    }

    void OnOK() override {
      Napi::Env env = Env();
      Napi::Object res = Napi::Object::New(env);
      if (stage_ != "dlopen") res.Set("path", lib_->path());
      std::string noThread;
      bool adopted = false;
      if (code_ == NVML_SUCCESS) {
        try {
          adopted = self_->Adopt(env, lib_, onSweep_.Value());
        } catch (const Napi::Error &e) {
          noThread = e.Message();  // the sweep thread could not be created
        }
      }
      if (code_ == NVML_SUCCESS && !adopted) {
        // closed while opening (or no sweep thread): release the library again, off this thread
        ReleaseOffThread(env, std::move(lib_));
        code_ = noThread.empty() ? NVML_ERROR_UNINITIALIZED : NVML_ERROR_UNKNOWN;
        stage_ = "init";
        detail_ = noThread.empty() ? "the handle was closed while the library was being opened" : noThread;
      }
      res.Set("code", Napi::Number::New(env, code_));
      res.Set("stage", stage_);
      res.Set("detail", detail_);
      self_->opening_ = false;
      deferred_.Resolve(res);
    }

   private:
    Napi::Promise::Deferred deferred_;
    NvmlHandle *self_;
    Napi::ObjectReference selfRef_;
    Napi::FunctionReference onSweep_;
    std::string path_;
    std::shared_ptr<Library> lib_;
    nvmlReturn_t code_ = NVML_SUCCESS;
    std::string stage_;
    std::string detail_;
  };

  // Drops a reference to the library on a libuv pool thread: when it is the last one, nvmlShutdown
  // and dlclose run there, not on the JS thread. Settles the returned promise when done.
  class ReleaseWorker : public Napi::AsyncWorker {
   public:
    ReleaseWorker(Napi::Env env, std::shared_ptr<Library> lib)
        : Napi::AsyncWorker(env, "nvml-close"), deferred_(Napi::Promise::Deferred::New(env)), lib_(std::move(lib)) {}
    Napi::Promise Promise() const { return deferred_.Promise(); }
    void Execute() override { lib_.reset(); }
    void OnOK() override { deferred_.Resolve(Env().Undefined()); }

   private:
    Napi::Promise::Deferred deferred_;
    std::shared_ptr<Library> lib_;
  };

  static Napi::Promise ReleaseOffThread(Napi::Env env, std::shared_ptr<Library> lib) {
    auto *w = new ReleaseWorker(env, std::move(lib));
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  Napi::Value Open(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (lib_ || opening_) throw Napi::Error::New(env, "NvmlHandle.open: already open");
    if (info.Length() < 2 || !info[0].IsString() || !info[1].IsFunction()) {
      throw Napi::TypeError::New(env, "NvmlHandle.open(path: string, onSweep: function)");
    }
    closed_ = false;
    opening_ = true;
    auto *w = new OpenWorker(env, this, info[0].As<Napi::String>(), info[1].As<Napi::Function>());
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
  }

  // JS thread, when an open succeeded: starts the sweep thread. False when close() came first.
  bool Adopt(Napi::Env env, std::shared_ptr<Library> lib, Napi::Function onSweep) {
    if (closed_) return false;
    worker_ = std::make_unique<SweepWorker>(env, lib, onSweep);  // Napi::Error when no thread can be created
    lib_ = std::move(lib);
    AddHook();
    return true;
  }

  Napi::Value Sweep(const Napi::CallbackInfo &info) {
    if (!worker_) throw Napi::Error::New(info.Env(), "NvmlHandle.sweep: not open");
    const int gpm = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
    return Napi::Boolean::New(info.Env(), worker_->Request(info.Length() > 0 && info[0].ToBoolean(),
                                                           gpm >= GPM_OFF && gpm <= GPM_WITH_CI ? gpm : GPM_OFF,
                                                           info.Length() > 2 && info[2].ToBoolean()));
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
    closed_ = true;  // an open still in flight releases its library when it lands
    StopThreads();
    return ReleaseOffThread(info.Env(), std::move(lib_));
  }

  void StopThreads() {
    RemoveHook();
    if (events_) events_->Stop();
    events_.reset();
    if (worker_) worker_->Stop();
    worker_.reset();
  }

  // Synchronous: the environment is going away (cleanup hook) or the handle is collected.
  void Shutdown() {
    closed_ = true;
    StopThreads();
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
  bool opening_ = false;
  bool closed_ = false;
  std::shared_ptr<Library> lib_;
  std::unique_ptr<SweepWorker> worker_;
  std::unique_ptr<EventWorker> events_;
};

// glibc keeps the pages that startup frees (V8's compiler zones for every module and generated
// serializer, the catalogue's JSON text and indexes) resident until something asks for them back:
// 2-5 MB for this process, more than its own data. malloc_trim(0) returns every free page of every
// arena (madvise), which takes well under a millisecond at this heap size. Called by the
// composition root once startup is done and after each reload; a no-op where malloc is not glibc's.
Napi::Value ReleaseFreeMemory(const Napi::CallbackInfo &info) {
#if defined(__GLIBC__)
  return Napi::Boolean::New(info.Env(), malloc_trim(0) == 1);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new AddonData());
  exports.Set("NvmlHandle", NvmlHandle::Define(env));
  exports.Set("defaultLibrary", Napi::String::New(env, kDefaultLibrary));
  exports.Set("releaseFreeMemory", Napi::Function::New<ReleaseFreeMemory>(env, "releaseFreeMemory"));
  // The order of the readings in a packed sweep; lib/nvml checks it against READING_KEYS.
  Napi::Array keys = Napi::Array::New(env, R_COUNT);
  for (int k = 0; k < R_COUNT; k++) keys.Set(static_cast<uint32_t>(k), Napi::String::New(env, kReadingNames[k]));
  exports.Set("readingKeys", keys);
  return exports;
}

}  // namespace nvx

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return nvx::Init(env, exports); }

NODE_API_MODULE(nvml_addon, InitAddon)
