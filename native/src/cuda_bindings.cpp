// JavaScript bindings of the CUDA backend: cudaInfo() always exists; CudaModel only when built with nvcc.
#include <napi.h>

#include <memory>

#include "src/forward_worker.h"
#include "src/napi_batch.h"
#ifdef SERVAL_WITH_CUDA
#include "cuda/cuda_api.h"
#endif

namespace serval {

#ifdef SERVAL_WITH_CUDA
class CudaModelWrap : public Napi::ObjectWrap<CudaModelWrap> {
 public:
  static void Register(Napi::Env env, Napi::Object exports) {
    Napi::Function cls = DefineClass(env, "CudaModel",
                                     {InstanceMethod("forward", &CudaModelWrap::Forward),
                                      InstanceMethod("forwardGreedy", &CudaModelWrap::ForwardGreedy),
                                      InstanceMethod("forwardAsync", &CudaModelWrap::ForwardAsync),
                                      InstanceMethod("memory", &CudaModelWrap::Memory),
                                      InstanceMethod("allocateKvCache", &CudaModelWrap::AllocateKvCache),
                                      InstanceMethod("close", &CudaModelWrap::Close)});
    exports.Set("CudaModel", cls);
  }

  // new CudaModel(spec, tensors, { numBlocks, blockSize, device?, dummyWeights?, seed?, maxNumTokens?, skinnyGemm?, cudaGraphs? })
  explicit CudaModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CudaModelWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 3 || !info[0].IsObject() || !info[1].IsArray() || !info[2].IsObject())
      throw Napi::TypeError::New(env, "CudaModel(spec, tensors, options) expects (object, array, object)");
    Napi::Object o = info[2].As<Napi::Object>();
    CudaModelOptions opts;
    opts.numBlocks = intField(o, "numBlocks");
    opts.blockSize = intField(o, "blockSize");
    opts.device = optionalIntField(o, "device", 0);
    opts.dummyWeights = o.Get("dummyWeights").ToBoolean().Value();
    opts.seed = static_cast<uint64_t>(optionalIntField(o, "seed", 0));
    opts.maxNumTokens = optionalIntField(o, "maxNumTokens", 8192);
    opts.skinnyGemm = o.Get("skinnyGemm").IsUndefined() ? true : o.Get("skinnyGemm").ToBoolean().Value();
    opts.cudaGraphs = o.Get("cudaGraphs").IsUndefined() ? true : o.Get("cudaGraphs").ToBoolean().Value();
    try {
      model_ = std::make_unique<CudaModel>(specFromJs(info[0].As<Napi::Object>()),
                                           tensorsFromJs(info[1].As<Napi::Array>()), opts);
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("CudaModel: ") + e.what());
    }
  }

 private:
  CudaModel& model(Napi::Env env) {
    if (!model_) throw Napi::Error::New(env, "CudaModel is closed");
    return *model_;
  }
  Napi::Value Forward(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "forward(batch) expects an object");
    CudaModel& m = model(env);
    ForwardBatch b = batchFromJs(info[0].As<Napi::Object>());
    Napi::Float32Array logits = Napi::Float32Array::New(env, (size_t)b.numLogitTokens * m.spec().vocabSize);
    claimModel(env, busy_);
    try {
      m.forward(b, logits.Data());
    } catch (const std::exception& e) {
      busy_.store(false);
      throw Napi::Error::New(env, std::string("CudaModel.forward: ") + e.what());
    }
    busy_.store(false);
    return logits;
  }
  // forwardGreedy(batch, { rowMask: Int32Array, masks: Int32Array, copyRows: Int32Array })
  //   → { tokens: Int32Array[numLogitTokens], logits: Float32Array[copyRows.length * vocab] }
  Napi::Value ForwardGreedy(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsObject())
      throw Napi::TypeError::New(env, "forwardGreedy(batch, request) expects two objects");
    CudaModel& m = model(env);
    ForwardBatch b = batchFromJs(info[0].As<Napi::Object>());
    Napi::Object r = info[1].As<Napi::Object>();
    auto ints = [&](const char* name) {
      Napi::Value v = r.Get(name);
      if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
        throw Napi::TypeError::New(env, std::string("forwardGreedy: field '") + name + "' must be an Int32Array");
      return v.As<Napi::Int32Array>();
    };
    Napi::Int32Array rowMask = ints("rowMask"), masks = ints("masks"), copyRows = ints("copyRows");
    const size_t words = ((size_t)m.spec().vocabSize + 31) / 32;
    if (rowMask.ElementLength() != (size_t)b.numLogitTokens)
      throw Napi::RangeError::New(env, "forwardGreedy: rowMask must have one entry per logit token");
    if (masks.ElementLength() % words != 0)
      throw Napi::RangeError::New(env, "forwardGreedy: masks must hold whole rows of ceil(vocab / 32) words");
    GreedySampleRequest req;
    req.rowMask = rowMask.Data();
    req.masks = masks.Data();
    req.numMasks = static_cast<int>(masks.ElementLength() / words);
    req.copyRows = copyRows.Data();
    req.numCopyRows = static_cast<int>(copyRows.ElementLength());
    Napi::Int32Array tokens = Napi::Int32Array::New(env, b.numLogitTokens);
    Napi::Float32Array logits = Napi::Float32Array::New(env, (size_t)req.numCopyRows * m.spec().vocabSize);
    claimModel(env, busy_);
    try {
      m.forwardGreedy(b, req, tokens.Data(), logits.Data());
    } catch (const std::exception& e) {
      busy_.store(false);
      throw Napi::Error::New(env, std::string("CudaModel.forwardGreedy: ") + e.what());
    }
    busy_.store(false);
    Napi::Object out = Napi::Object::New(env);
    out.Set("tokens", tokens);
    out.Set("logits", logits);
    return out;
  }
  // forwardAsync(batch) → Promise<Float32Array>, run on a worker thread (the event loop does not wait on the GPU)
  Napi::Value ForwardAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "forwardAsync(batch) expects an object");
    CudaModel& m = model(env);
    OwnedBatch b = ownBatch(batchFromJs(info[0].As<Napi::Object>()));
    claimModel(env, busy_);
    auto* w = new ForwardWorker<CudaModel>(env, info.This().As<Napi::Object>(), &m, std::move(b), m.spec().vocabSize,
                                           &busy_, "CudaModel.forwardAsync");
    w->Queue();
    return w->Promise();
  }
  Napi::Value Memory(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CudaMemoryReport r = model(env).memory();
    Napi::Object o = Napi::Object::New(env);
    o.Set("weightBytes", (double)r.weightBytes);
    o.Set("kvCacheBytes", (double)r.kvCacheBytes);
    o.Set("activationBytes", (double)r.activationBytes);
    o.Set("workspaceBytes", (double)r.workspaceBytes);
    return o;
  }
  Napi::Value AllocateKvCache(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (busy_.load()) throw Napi::Error::New(env, "CudaModel.allocateKvCache while a forward is running");
    if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "allocateKvCache(numBlocks) expects a number");
    try {
      model(env).allocateKvCache(info[0].As<Napi::Number>().Int32Value());
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("CudaModel.allocateKvCache: ") + e.what());
    }
    return env.Undefined();
  }
  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (busy_.load()) throw Napi::Error::New(info.Env(), "CudaModel.close while a forward is running");
    model_.reset();  // frees the GPU memory now rather than at garbage collection
    return info.Env().Undefined();
  }
  std::unique_ptr<CudaModel> model_;
  std::atomic<bool> busy_{false};
};
#endif

static Napi::Value CudaInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
#ifdef SERVAL_WITH_CUDA
  CudaStatus s = queryCuda();
  o.Set("compiled", true);
  o.Set("deviceCount", s.deviceCount);
  o.Set("error", s.error.empty() ? env.Null() : Napi::String::New(env, s.error));
  Napi::Array devs = Napi::Array::New(env, s.devices.size());
  for (size_t i = 0; i < s.devices.size(); ++i) {
    Napi::Object d = Napi::Object::New(env);
    d.Set("name", s.devices[i].name);
    d.Set("totalMemory", (double)s.devices[i].totalMemory);
    d.Set("freeMemory", (double)s.devices[i].freeMemory);
    d.Set("computeCapability", std::to_string(s.devices[i].major) + "." + std::to_string(s.devices[i].minor));
    d.Set("multiprocessors", s.devices[i].multiprocessors);
    devs.Set(i, d);
  }
  o.Set("devices", devs);
#else
  o.Set("compiled", false);
  o.Set("deviceCount", 0);
  o.Set("error", "no CUDA device: serval_native was built without CUDA (nvcc was not found at build time)");
  o.Set("devices", Napi::Array::New(env, 0));
#endif
  return o;
}

#ifdef SERVAL_WITH_CUDA
// cudaCopyBandwidth(device, bytes, iterations) → bytes/s read+written by device-to-device copies
static Napi::Value CopyBandwidth(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    return Napi::Number::New(env, measureCopyBandwidth(info[0].As<Napi::Number>().Int32Value(),
                                                       (size_t)info[1].As<Napi::Number>().Int64Value(),
                                                       info[2].As<Napi::Number>().Int32Value()));
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
}
#endif

#ifdef SERVAL_WITH_CUDA
// cudaMemoryInfo(device) → { free, total } bytes
static Napi::Value MemoryInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t freeB = 0, totalB = 0;
  try {
    cudaMemoryInfo(info[0].As<Napi::Number>().Int32Value(), &freeB, &totalB);
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, e.what());
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("free", (double)freeB);
  o.Set("total", (double)totalB);
  return o;
}
#endif

void registerCuda(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaInfo", Napi::Function::New(env, CudaInfo));
#ifdef SERVAL_WITH_CUDA
  CudaModelWrap::Register(env, exports);
  exports.Set("cudaCopyBandwidth", Napi::Function::New(env, CopyBandwidth));
  exports.Set("cudaMemoryInfo", Napi::Function::New(env, MemoryInfo));
#endif
}

}  // namespace serval
