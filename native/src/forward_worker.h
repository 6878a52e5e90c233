// forwardAsync: runs a model's forward on a libuv worker thread and resolves a Promise with the logits, so the
// JavaScript event loop stays free while the CPU threads or the GPU work. The batch is copied (it is small) so the
// JS arrays may change meanwhile; one forward per model at a time (the KV cache is shared state).
#pragma once
#include <napi.h>

#include <atomic>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "src/napi_batch.h"

namespace serval {

/** Claims the model for one forward; throws a JS error when one is already running. */
inline void claimModel(Napi::Env env, std::atomic<bool>& busy) {
  bool expected = false;
  if (!busy.compare_exchange_strong(expected, true))
    throw Napi::Error::New(env, "forward called while another forward of this model is still running");
}

template <typename Model>
class ForwardWorker : public Napi::AsyncWorker {
 public:
  ForwardWorker(Napi::Env env, Napi::Object owner, Model* model, OwnedBatch batch, size_t vocab, std::atomic<bool>* busy,
                const char* what)
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        owner_(Napi::Persistent(owner)),
        model_(model),
        batch_(std::move(batch)),
        logits_((size_t)batch_.numLogitTokens * vocab),
        busy_(busy),
        what_(what) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      model_->forward(batch_.view(), logits_.data());
    } catch (const std::exception& e) {
      SetError(what_ + ": " + e.what());
    }
  }

  void OnOK() override {
    busy_->store(false);
    Napi::Env env = Env();
    Napi::Float32Array out = Napi::Float32Array::New(env, logits_.size());
    if (!logits_.empty()) std::memcpy(out.Data(), logits_.data(), logits_.size() * sizeof(float));
    deferred_.Resolve(out);
  }

  void OnError(const Napi::Error& e) override {
    busy_->store(false);
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference owner_;  // keeps the JS model object (and so the C++ model) alive until the work is done
  Model* model_;
  OwnedBatch batch_;
  std::vector<float> logits_;
  std::atomic<bool>* busy_;
  std::string what_;
};

/**
 * Runs `work` on a libuv worker thread and resolves a Promise with `result(env)` on the JavaScript thread.
 * `settled(ok)` runs on the JavaScript thread first, whatever the outcome (it releases the model's claim). `keep`
 * holds JavaScript values (typed arrays that `work` reads) alive until then.
 */
class TaskWorker : public Napi::AsyncWorker {
 public:
  TaskWorker(Napi::Env env, Napi::Object owner, std::function<void()> work,
             std::function<Napi::Value(Napi::Env)> result, std::function<void(bool ok)> settled, std::string what,
             std::vector<Napi::Value> keep = {})
      : Napi::AsyncWorker(env),
        deferred_(Napi::Promise::Deferred::New(env)),
        owner_(Napi::Persistent(owner)),
        work_(std::move(work)),
        result_(std::move(result)),
        settled_(std::move(settled)),
        what_(std::move(what)) {
    for (auto& v : keep) keep_.push_back(Napi::Persistent(v));
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      work_();
    } catch (const std::exception& e) {
      SetError(what_ + ": " + e.what());
    }
  }

  void OnOK() override {
    settled_(true);
    try {
      deferred_.Resolve(result_(Env()));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
  }

  void OnError(const Napi::Error& e) override {
    settled_(false);
    deferred_.Reject(e.Value());
  }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::ObjectReference owner_;  // keeps the JS model object (and so the C++ model) alive until the work is done
  std::vector<Napi::Reference<Napi::Value>> keep_;
  std::function<void()> work_;
  std::function<Napi::Value(Napi::Env)> result_;
  std::function<void(bool)> settled_;
  std::string what_;
};

/**
 * A Promise settled once, by whichever side comes first: a worker's result, or the JavaScript thread deciding the
 * outcome sooner. Later settles are ignored. JavaScript thread only.
 */
class OncePromise {
 public:
  explicit OncePromise(Napi::Env env)
      : deferred_(Napi::Promise::Deferred::New(env)), promise_(Napi::Persistent(deferred_.Promise())) {}
  /** the promise, from any later call (the Deferred's own handle is valid only in the call that created it) */
  Napi::Promise Promise() const { return promise_.Value(); }
  void Resolve(Napi::Value v) {
    if (settled_) return;
    settled_ = true;
    deferred_.Resolve(v);
  }
  void Reject(Napi::Value e) {
    if (settled_) return;
    settled_ = true;
    deferred_.Reject(e);
  }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::Promise> promise_;
  bool settled_ = false;
};

/**
 * Runs `wait` (a blocking wait, e.g. for a GPU event) on a libuv worker thread, then resolves `promise` with
 * undefined, or rejects it with "`what`: error" when `wait` threw, unless it was settled meanwhile.
 */
class WaitWorker : public Napi::AsyncWorker {
 public:
  WaitWorker(Napi::Env env, Napi::Object owner, std::function<void()> wait, std::shared_ptr<OncePromise> promise,
             std::string what)
      : Napi::AsyncWorker(env),
        owner_(Napi::Persistent(owner)),
        wait_(std::move(wait)),
        promise_(std::move(promise)),
        what_(std::move(what)) {}

  void Execute() override {
    try {
      wait_();
    } catch (const std::exception& e) {
      SetError(what_ + ": " + e.what());
    }
  }
  void OnOK() override { promise_->Resolve(Env().Undefined()); }
  void OnError(const Napi::Error& e) override { promise_->Reject(e.Value()); }

 private:
  Napi::ObjectReference owner_;  // keeps the JS model object (and so the C++ model) alive until the wait is over
  std::function<void()> wait_;
  std::shared_ptr<OncePromise> promise_;
  std::string what_;
};

}  // namespace serval
