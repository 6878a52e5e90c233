// JavaScript bindings of the CUDA backend: cudaInfo() always exists; CudaModel only when built with nvcc.
#include <napi.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "src/forward_worker.h"
#include "src/napi_batch.h"
#ifdef SERVAL_WITH_CUDA
#include "cuda/cuda_api.h"
#endif

namespace serval {

#ifdef SERVAL_WITH_CUDA
// std::vector → a new typed array (copied on the JavaScript thread)
template <typename Arr, typename T>
static Arr copyTo(Napi::Env env, const std::vector<T>& v) {
  Arr a = Arr::New(env, v.size());
  if (!v.empty()) std::memcpy(a.Data(), v.data(), v.size() * sizeof(T));
  return a;
}
// SampleResult → the object src/native/addon.ts calls NativeSampleResult
static Napi::Value sampleResultToJs(Napi::Env env, const SampleResult& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("tokens", copyTo<Napi::Int32Array>(env, s.tokens));
  o.Set("logprob", copyTo<Napi::Float64Array>(env, s.logprob));
  o.Set("rank", copyTo<Napi::Int32Array>(env, s.rank));
  o.Set("topN", s.topN);
  o.Set("topIds", copyTo<Napi::Int32Array>(env, s.topIds));
  o.Set("topLogprobs", copyTo<Napi::Float64Array>(env, s.topLogprobs));
  o.Set("logits", copyTo<Napi::Float32Array>(env, s.logits));
  Napi::Object t = Napi::Object::New(env);
  t.Set("forwardGpuMs", s.forwardGpuMs);
  t.Set("gpuGapMs", s.gpuGapMs);
  t.Set("sampleGpuMs", s.sampleGpuMs);
  t.Set("hostPrepMs", s.hostPrepMs);
  t.Set("hostWaitMs", s.hostWaitMs);
  o.Set("timing", t);
  return o;
}
// sample()'s request object → SampleRequest pointing into its typed arrays (kept alive through `keep`)
static SampleRequest sampleRequestFromJs(const Napi::Object& r, int vocab, std::vector<Napi::Value>& keep) {
  Napi::Env env = r.Env();
  auto typed = [&](const char* name, napi_typedarray_type type, const char* typeName) {
    Napi::Value v = r.Get(name);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != type)
      throw Napi::TypeError::New(env, std::string("sample: field '") + name + "' must be a " + typeName);
    keep.push_back(v);
    return v.As<Napi::TypedArray>();
  };
  auto ints = [&](const char* name) { return typed(name, napi_int32_array, "Int32Array").As<Napi::Int32Array>(); };
  auto doubles = [&](const char* name) {
    return typed(name, napi_float64_array, "Float64Array").As<Napi::Float64Array>();
  };
  const int n = intField(r, "numRows");
  const size_t words = ((size_t)vocab + 31) / 32;
  Napi::Int32Array rowInts = ints("rowInts"), grammar = ints("grammarMasks"), list = ints("listMasks"),
                   biasIds = ints("biasIds"), penalty = ints("penaltyIds"), copyRows = ints("copyRows");
  Napi::Float64Array rowFloats = doubles("rowFloats"), biasValues = doubles("biasValues");
  if (n < 0 || rowInts.ElementLength() != (size_t)n * kRowIntFields ||
      rowFloats.ElementLength() != (size_t)n * kRowFloatFields)
    throw Napi::RangeError::New(env, "sample: rowInts / rowFloats must hold numRows rows of their fields");
  if (grammar.ElementLength() % words != 0 || list.ElementLength() % words != 0)
    throw Napi::RangeError::New(env, "sample: masks must hold whole rows of ceil(vocab / 32) words");
  if (biasIds.ElementLength() != biasValues.ElementLength())
    throw Napi::RangeError::New(env, "sample: biasIds and biasValues must have the same length");
  SampleRequest req;
  req.numRows = n;
  req.rowInts = rowInts.Data();
  req.rowFloats = rowFloats.Data();
  req.grammarMasks = grammar.Data();
  req.numGrammarMasks = static_cast<int>(grammar.ElementLength() / words);
  req.listMasks = list.Data();
  req.numListMasks = static_cast<int>(list.ElementLength() / words);
  req.biasIds = biasIds.Data();
  req.biasValues = biasValues.Data();
  req.numBias = static_cast<int>(biasIds.ElementLength());
  req.penaltyIds = penalty.Data();
  req.numPenaltyIds = static_cast<int>(penalty.ElementLength());
  req.copyRows = copyRows.Data();
  req.numCopyRows = static_cast<int>(copyRows.ElementLength());
  return req;
}

class CudaModelWrap : public Napi::ObjectWrap<CudaModelWrap> {
 public:
  static void Register(Napi::Env env, Napi::Object exports) {
    Napi::Function cls = DefineClass(env, "CudaModel",
                                     {InstanceMethod("forward", &CudaModelWrap::Forward),
                                      InstanceMethod("forwardBegin", &CudaModelWrap::ForwardBegin),
                                      InstanceMethod("forwardDone", &CudaModelWrap::ForwardDone),
                                      InstanceMethod("sample", &CudaModelWrap::Sample),
                                      InstanceMethod("forwardAsync", &CudaModelWrap::ForwardAsync),
                                      InstanceMethod("memory", &CudaModelWrap::Memory),
                                      InstanceMethod("allocateKvCache", &CudaModelWrap::AllocateKvCache),
                                      InstanceMethod("captureDecodeGraphs", &CudaModelWrap::CaptureDecodeGraphs),
                                      InstanceMethod("reserveSampling", &CudaModelWrap::ReserveSampling),
                                      InstanceMethod("close", &CudaModelWrap::Close)});
    exports.Set("CudaModel", cls);
  }

  // new CudaModel(spec, tensors, { numBlocks, blockSize, device?, dummyWeights?, seed?, maxNumTokens?, skinnyGemm?, cudaGraphs?,
  //                                dtype?: 'bfloat16' | 'float16' | 'float32', kvCacheDtype?: same names })
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
    // decodeBatchSizes?: number[] (ascending; the model validates), maxModelLen?: number
    Napi::Value sizes = o.Get("decodeBatchSizes");
    if (!sizes.IsUndefined()) {
      if (!sizes.IsArray()) throw Napi::TypeError::New(env, "CudaModel: decodeBatchSizes must be an array of integers");
      Napi::Array a = sizes.As<Napi::Array>();
      for (uint32_t i = 0; i < a.Length(); ++i) {
        Napi::Value v = a.Get(i);
        if (!v.IsNumber()) throw Napi::TypeError::New(env, "CudaModel: decodeBatchSizes must be an array of integers");
        opts.decodeBatchSizes.push_back(v.As<Napi::Number>().Int32Value());
      }
    }
    opts.maxModelLen = optionalIntField(o, "maxModelLen", 0);
    try {
      if (!o.Get("dtype").IsUndefined()) opts.dtype = parseComputeDType(o.Get("dtype").ToString().Utf8Value());
      if (!o.Get("kvCacheDtype").IsUndefined())
        opts.kvCacheDtype = parseComputeDType(o.Get("kvCacheDtype").ToString().Utf8Value());
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
  // forwardBegin(batch) → Promise<{ hostMs }>: enqueues the forward on a worker thread and resolves without waiting
  // for the GPU. The model stays claimed until sample() settles: sample() must follow.
  Napi::Value ForwardBegin(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "forwardBegin(batch) expects an object");
    CudaModel* m = &model(env);
    auto batch = std::make_shared<OwnedBatch>(ownBatch(batchFromJs(info[0].As<Napi::Object>())));
    claimModel(env, busy_);
    auto hostMs = std::make_shared<double>(0);
    auto forwardId = std::make_shared<uint64_t>(0);
    std::shared_ptr<ForwardDoneGate> gate = gate_;
    auto* w = new TaskWorker(
        env, info.This().As<Napi::Object>(),
        [m, batch, hostMs, forwardId, gate] {
          std::lock_guard<std::mutex> lock(gate->mu);  // re-records the event a forwardDone waiter may still hold
          const auto t0 = std::chrono::steady_clock::now();
          m->enqueueForward(batch->view());
          *forwardId = ++gate->enqueued;
          *hostMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        },
        [hostMs](Napi::Env e) {
          Napi::Object o = Napi::Object::New(e);
          o.Set("hostMs", *hostMs);
          return o;
        },
        [this, forwardId](bool ok) {
          if (ok) {
            awaitingSample_ = true;
            stepForward_ = *forwardId;
          } else {
            busy_.store(false);
          }
        },
        "CudaModel.forwardBegin");
    w->Queue();
    return w->Promise();
  }
  // sample(request) → Promise<result>: GPU sampling of the forward begun last, on a worker thread (sampling_api.h;
  // request and result shapes: src/native/addon.ts NativeSampleRequest / NativeSampleResult)
  Napi::Value Sample(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "sample(request) expects an object");
    if (!awaitingSample_) throw Napi::Error::New(env, "CudaModel.sample: no forward to sample (call forwardBegin first)");
    CudaModel* m = &model(env);
    Napi::Object r = info[0].As<Napi::Object>();
    std::vector<Napi::Value> keep;
    auto req = std::make_shared<SampleRequest>(sampleRequestFromJs(r, m->spec().vocabSize, keep));
    auto out = std::make_shared<SampleResult>();
    auto* w = new TaskWorker(
        env, info.This().As<Napi::Object>(), [m, req, out] { m->sample(*req, *out); },
        [out](Napi::Env e) { return sampleResultToJs(e, *out); },
        [this, env](bool ok) {
          awaitingSample_ = false;
          busy_.store(false);
          endForwardDone(env, ok);
        },
        "CudaModel.sample", std::move(keep));
    w->Queue();
    return w->Promise();
  }
  // forwardDone() → Promise<void>: resolves once the GPU has finished the begun step's forward (its logits are
  // written), waited for on a worker thread. Every call of one step returns the same promise. It settles no later
  // than that step's sample(): resolved first when sample() succeeds (which waited for the whole stream), rejected
  // when sample() fails first; rejected with the CUDA error when the forward's GPU work failed. Throws without a begun
  // step (before forwardBegin resolves, after sample() settles) and once closed.
  Napi::Value ForwardDone(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    CudaModel* m = &model(env);
    if (!awaitingSample_)
      throw Napi::Error::New(env, "CudaModel.forwardDone: no begun forward (call it after forwardBegin resolves and "
                                  "before its sample() settles)");
    if (forwardDone_) return forwardDone_->Promise();
    forwardDone_ = std::make_shared<OncePromise>(env);
    std::shared_ptr<ForwardDoneGate> gate = gate_;
    const uint64_t id = stepForward_;
    auto* w = new WaitWorker(
        env, info.This().As<Napi::Object>(),
        [m, gate, id] {
          std::lock_guard<std::mutex> lock(gate->mu);
          // a later forward was enqueued, or the model closed: this step's sample() has settled, and the promise too
          if (gate->closed || gate->enqueued != id) return;
          m->waitForwardDone();
        },
        forwardDone_, "CudaModel.forwardDone");
    w->Queue();
    return forwardDone_->Promise();
  }
  // settles the step's forwardDone promise (if one was asked for) as its sample() settles: a successful sample()
  // waited for the forward; a failed one ends the step before the forward was seen to finish
  void endForwardDone(Napi::Env env, bool sampled) {
    if (!forwardDone_) return;
    if (sampled)
      forwardDone_->Resolve(env.Undefined());
    else
      forwardDone_->Reject(
          Napi::Error::New(env, "CudaModel.forwardDone: the step's sample() failed before the forward was seen to finish")
              .Value());
    forwardDone_.reset();
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
    o.Set("samplingBytes", (double)r.samplingBytes);
    o.Set("graphBytes", (double)r.graphBytes);
    return o;
  }
  // captureDecodeGraphs() → { graphs, milliseconds, bytes } (start-up, synchronously)
  Napi::Value CaptureDecodeGraphs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (busy_.load()) throw Napi::Error::New(env, "CudaModel.captureDecodeGraphs while a forward is running");
    CudaGraphCaptureReport r;
    try {
      r = model(env).captureDecodeGraphs();
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("CudaModel.captureDecodeGraphs: ") + e.what());
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("graphs", r.graphs);
    o.Set("milliseconds", r.milliseconds);
    o.Set("bytes", (double)r.bytes);
    return o;
  }
  // reserveSampling(rows, penaltyIdsPerRow) → device bytes the sampler's worst case took (start-up, synchronously)
  Napi::Value ReserveSampling(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (busy_.load()) throw Napi::Error::New(env, "CudaModel.reserveSampling while a forward is running");
    if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber())
      throw Napi::TypeError::New(env, "reserveSampling(rows, penaltyIdsPerRow) expects two numbers");
    try {
      return Napi::Number::New(env, (double)model(env).reserveSampling(info[0].As<Napi::Number>().Int32Value(),
                                                                       info[1].As<Napi::Number>().Int32Value()));
    } catch (const Napi::Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("CudaModel.reserveSampling: ") + e.what());
    }
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
    {
      // a forwardDone waiter of a settled step may still run: it must not reach the model once it is gone (a waiter
      // inside its wait holds the lock until its forward is over, at once unless that step's sample() failed early)
      std::lock_guard<std::mutex> lock(gate_->mu);
      gate_->closed = true;
    }
    model_.reset();  // frees the GPU memory now rather than at garbage collection
    return info.Env().Undefined();
  }
  // Orders the forwardDone waiters (worker threads, possibly outliving their step or the model) against the next
  // forward's enqueue, which re-records the event they wait on, and against close.
  struct ForwardDoneGate {
    std::mutex mu;
    uint64_t enqueued = 0;  // forwards enqueued so far: the id of the last one
    bool closed = false;
  };
  std::unique_ptr<CudaModel> model_;
  std::atomic<bool> busy_{false};
  bool awaitingSample_ = false;  // forwardBegin succeeded and its sample() has not settled (JavaScript thread only)
  uint64_t stepForward_ = 0;     // the begun step's forward id (ForwardDoneGate::enqueued when it was enqueued)
  std::shared_ptr<OncePromise> forwardDone_;  // the begun step's forwardDone promise, once asked for
  std::shared_ptr<ForwardDoneGate> gate_ = std::make_shared<ForwardDoneGate>();
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
// cudaSampleLogits(device, vocab, logits: Float32Array [rows, vocab], request) → the sample() result, synchronously:
// the GPU sampler on given logits (tests and tools; a step's sampling goes through CudaModel.sample)
static Napi::Value SampleLogits(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsTypedArray() || !info[3].IsObject())
    throw Napi::TypeError::New(env, "cudaSampleLogits(device, vocab, logits, request) expects (number, number, Float32Array, object)");
  const int vocab = info[1].As<Napi::Number>().Int32Value();
  if (vocab <= 0) throw Napi::RangeError::New(env, "cudaSampleLogits: vocab must be > 0");
  Napi::TypedArray t = info[2].As<Napi::TypedArray>();
  if (t.TypedArrayType() != napi_float32_array || t.ElementLength() % (size_t)vocab != 0)
    throw Napi::TypeError::New(env, "cudaSampleLogits: logits must be a Float32Array of whole rows");
  Napi::Float32Array logits = t.As<Napi::Float32Array>();
  std::vector<Napi::Value> keep;
  SampleRequest req = sampleRequestFromJs(info[3].As<Napi::Object>(), vocab, keep);
  SampleResult out;
  try {
    sampleGivenLogits(info[0].As<Napi::Number>().Int32Value(), logits.Data(), (int)(logits.ElementLength() / vocab), vocab,
                      req, out);
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, std::string("cudaSampleLogits: ") + e.what());
  }
  return sampleResultToJs(env, out);
}

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
  exports.Set("cudaSampleLogits", Napi::Function::New(env, SampleLogits));
#endif
}

}  // namespace serval
