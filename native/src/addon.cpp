// Node-API entry point of serval_native: the CPU model class and the CUDA bindings.
#include <napi.h>

#include <memory>

#include "cpu/cpu_model.h"
#include "src/forward_worker.h"
#include "src/napi_batch.h"

namespace serval {

void registerCuda(Napi::Env env, Napi::Object exports);  // cuda_bindings.cpp

class CpuModelWrap : public Napi::ObjectWrap<CpuModelWrap> {
 public:
  static void Register(Napi::Env env, Napi::Object exports) {
    Napi::Function cls = DefineClass(env, "CpuModel",
                                     {InstanceMethod("forward", &CpuModelWrap::Forward),
                                      InstanceMethod("forwardAsync", &CpuModelWrap::ForwardAsync),
                                      InstanceMethod("numThreads", &CpuModelWrap::NumThreads)});
    exports.Set("CpuModel", cls);
  }

  // new CpuModel(spec, tensors, { numBlocks, blockSize, numThreads? })
  explicit CpuModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CpuModelWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsArray() || !info[2].IsObject())
      throw Napi::TypeError::New(env, "CpuModel(spec, tensors, options) expects (object, array, object)");
    Napi::Object opts = info[2].As<Napi::Object>();
    try {
      model_ = std::make_unique<CpuModel>(specFromJs(info[0].As<Napi::Object>()), tensorsFromJs(info[1].As<Napi::Array>()),
                                          intField(opts, "numBlocks"), intField(opts, "blockSize"),
                                          optionalIntField(opts, "numThreads", 0));
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("CpuModel: ") + e.what());
    }
  }

 private:
  // forward(batch) → Float32Array [logitTokenIndices.length * vocab]
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "forward(batch) expects an object");
    ForwardBatch b = batchFromJs(info[0].As<Napi::Object>());
    Napi::Float32Array logits = Napi::Float32Array::New(env, (size_t)b.numLogitTokens * model_->spec().vocabSize);
    claimModel(env, busy_);
    try {
      model_->forward(b, logits.Data());
    } catch (const std::exception& e) {
      busy_.store(false);
      throw Napi::Error::New(env, std::string("CpuModel.forward: ") + e.what());
    }
    busy_.store(false);
    return logits;
  }
  // forwardAsync(batch) → Promise<Float32Array>, computed on a worker thread
  Napi::Value ForwardAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "forwardAsync(batch) expects an object");
    OwnedBatch b = ownBatch(batchFromJs(info[0].As<Napi::Object>()));
    claimModel(env, busy_);
    auto* w = new ForwardWorker<CpuModel>(env, info.This().As<Napi::Object>(), model_.get(), std::move(b),
                                          model_->spec().vocabSize, &busy_, "CpuModel.forwardAsync");
    w->Queue();
    return w->Promise();
  }
  Napi::Value NumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), model_->numThreads()); }

  std::unique_ptr<CpuModel> model_;
  std::atomic<bool> busy_{false};
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  CpuModelWrap::Register(env, exports);
  registerCuda(env, exports);
  return exports;
}

}  // namespace serval

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return serval::Init(env, exports); }
NODE_API_MODULE(serval_native, InitModule)
