// GpuSampler: one step's sampling after the forward, on the model's stream. Uploads the request in one copy (pinned
// staging), runs the edit / sample / logprob kernels over the LM-head output, and brings back only the tokens, the
// requested logprobs and the logit rows asked for (prompt logprobs). Also times the forward and the sampling with
// cudaEvents for the step profile.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "cuda/device_buffer.h"
#include "cuda/sampling_api.h"

namespace serval {

/** page-locked host memory (async copies from/to it do not block the host), grown on demand */
class PinnedBuffer {
 public:
  PinnedBuffer() = default;
  ~PinnedBuffer();
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;
  void ensure(size_t bytes);
  char* data() const { return ptr_; }

 private:
  char* ptr_ = nullptr;
  size_t bytes_ = 0;
  // outgrown buffers, freed with this one: cudaFreeHost waits for the whole device, which would stall a step
  std::vector<char*> retired_;
};

class GpuSampler {
 public:
  GpuSampler();
  ~GpuSampler();
  GpuSampler(const GpuSampler&) = delete;
  GpuSampler& operator=(const GpuSampler&) = delete;

  /** bracket the forward's work on the stream (for SampleResult's timings) */
  void markForwardStart(cudaStream_t s);
  void markForwardEnd(cudaStream_t s);
  /** samples req.numRows rows of logits [logitRows, V] (edited in place), waits for the stream, fills out */
  void run(const float* logits, int logitRows, int V, const SampleRequest& req, SampleResult& out, cudaStream_t s);

 private:
  enum Event { kForwardStart, kForwardEnd, kSampleStart, kSampleEnd, kNumEvents };
  cudaEvent_t events_[kNumEvents] = {};
  bool forwardMarked_ = false;
  DeviceBuffer upload_, results_, rawCopy_, penaltyScratch_;
  size_t penaltyScratchSlots_ = 0;
  PinnedBuffer hostUpload_, hostResults_, hostLogits_;
};

}  // namespace serval
