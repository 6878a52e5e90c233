// The CPU backend's forward pass: same math as the TypeScript reference model (fp32 compute, paged fp32 KV cache),
// weights read in place from the memory-mapped safetensors in their stored dtype.
#pragma once
#include <memory>
#include <vector>

#include "common/forward_batch.h"
#include "common/model_spec.h"
#include "common/weight_store.h"
#include "cpu/cpu_ops.h"
#include "cpu/thread_pool.h"

namespace serval {

class CpuModel {
 public:
  CpuModel(const ModelSpec& spec, const std::vector<TensorRef>& tensors, int numBlocks, int blockSize, int numThreads);
  /** Runs one step; writes logits [b.numLogitTokens, vocab] into `logits`. */
  void forward(const ForwardBatch& b, float* logits);
  const ModelSpec& spec() const { return spec_; }
  int numBlocks() const { return numBlocks_; }
  int blockSize() const { return blockSize_; }
  int numThreads() const { return pool_.size(); }

 private:
  struct Layer {
    std::vector<float> inputNorm, postNorm, qNorm, kNorm;
    LinearWeight q, k, v, o, gate, up, down;
  };
  void attention(const ForwardBatch& b, int layer, const float* q, float* out);

  ModelSpec spec_;
  WeightStore store_;
  ThreadPool pool_;
  int numBlocks_, blockSize_;
  TensorView embed_;
  std::vector<float> finalNorm_;
  LinearWeight lmHead_;
  std::vector<Layer> layers_;
  std::vector<double> invFreq_;
  std::vector<std::vector<float>> kCache_, vCache_;  // per layer [numBlocks*blockSize, numKvHeads, headDim]
};

}  // namespace serval
