#include "cuda/sampling_gpu.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda/cuda_util.h"
#include "cuda/sampling_kernels.h"

namespace serval {

PinnedBuffer::~PinnedBuffer() {
  if (ptr_) cudaFreeHost(ptr_);
  for (char* p : retired_) cudaFreeHost(p);
}

void PinnedBuffer::ensure(size_t bytes) {
  if (bytes <= bytes_) return;
  const size_t grown = std::max(bytes, bytes_ * 3 / 2);  // steps vary in size: avoid re-pinning for every larger one
  if (ptr_) retired_.push_back(ptr_);  // sizes grow by 1.5x or more: the retired ones hold at most twice the live one
  ptr_ = nullptr;
  bytes_ = 0;
  CUDA_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&ptr_), grown, cudaHostAllocDefault));
  bytes_ = grown;
}

GpuSampler::GpuSampler() {
  for (auto& e : events_) CUDA_CHECK(cudaEventCreate(&e));
}

GpuSampler::~GpuSampler() {
  for (auto& e : events_)
    if (e) cudaEventDestroy(e);
}

void GpuSampler::markForwardStart(cudaStream_t s) { CUDA_CHECK(cudaEventRecord(events_[kForwardStart], s)); }
void GpuSampler::markForwardEnd(cudaStream_t s) {
  CUDA_CHECK(cudaEventRecord(events_[kForwardEnd], s));
  forwardMarked_ = true;
}

namespace {

/** appends n elements of T to a byte layout, 16-byte aligned; returns the offset */
struct Layout {
  size_t bytes = 0;
  template <typename T>
  size_t add(size_t n) {
    const size_t at = (bytes + 15) & ~size_t(15);
    bytes = at + n * sizeof(T);
    return at;
  }
};

void check(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("sample: " + what);
}

}  // namespace

void GpuSampler::run(const float* logits, int logitRows, int V, const SampleRequest& req, SampleResult& out,
                     cudaStream_t s) {
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const int n = req.numRows, words = (V + 31) / 32;
  check(n >= 0 && n <= logitRows, "numRows " + std::to_string(n) + " exceeds the forward's " +
                                      std::to_string(logitRows) + " logit rows");
  check(req.numGrammarMasks >= 0 && req.numListMasks >= 0 && req.numBias >= 0 && req.numPenaltyIds >= 0 &&
            req.numCopyRows >= 0,
        "negative array length");
  // validate every row's references on the host: a bad request is an error, never an out-of-bounds read
  std::vector<int32_t> aux(2 * (size_t)n, -1);
  int penaltySlots = 0, rawRows = 0, topN = 0;
  bool anyLogprobs = false;
  for (int r = 0; r < n; ++r) {
    const int32_t* f = req.rowInts + (size_t)r * kRowIntFields;
    const std::string row = "row " + std::to_string(r) + ": ";
    check(f[kRowGrammarMask] >= -1 && f[kRowGrammarMask] < req.numGrammarMasks, row + "grammar mask row out of range");
    check(f[kRowListMask] >= -1 && f[kRowListMask] < req.numListMasks, row + "allowed/banned mask row out of range");
    check(f[kRowBiasStart] >= 0 && f[kRowBiasCount] >= 0 && (int64_t)f[kRowBiasStart] + f[kRowBiasCount] <= req.numBias,
          row + "logit bias range out of bounds");
    check(f[kRowPenaltyStart] >= 0 && f[kRowPromptCount] >= 0 && f[kRowOutputCount] >= 0 &&
              (int64_t)f[kRowPenaltyStart] + f[kRowPromptCount] + f[kRowOutputCount] <= req.numPenaltyIds,
          row + "penalty token range out of bounds");
    check(f[kRowNumLogprobs] >= -1 && f[kRowNumLogprobs] <= kMaxGpuTopLogprobs,
          row + "logprobs " + std::to_string(f[kRowNumLogprobs]) + " is more than the GPU sampler's " +
              std::to_string(kMaxGpuTopLogprobs));
    check(f[kRowTopK] >= -1, row + "top_k below -1");
    const double* d = req.rowFloats + (size_t)r * kRowFloatFields;
    check(d[kRowTemperature] >= 0 && d[kRowRepetition] > 0, row + "temperature < 0 or repetition_penalty <= 0");
    const bool edits = f[kRowBiasCount] > 0 || f[kRowPromptCount] + f[kRowOutputCount] > 0;
    if (f[kRowPromptCount] + f[kRowOutputCount] > 0) aux[2 * r] = penaltySlots++;
    if (edits && f[kRowNumLogprobs] >= 0) aux[2 * r + 1] = rawRows++;
    topN = std::max(topN, (int)f[kRowNumLogprobs]);
    anyLogprobs = anyLogprobs || f[kRowNumLogprobs] >= 0;
  }
  for (int i = 0; i < req.numCopyRows; ++i)
    check(req.copyRows[i] >= 0 && req.copyRows[i] < logitRows, "copyRows[" + std::to_string(i) + "] out of range");

  // one upload: row fields, aux, masks, bias, penalty ids
  Layout up;
  const size_t oInts = up.add<int32_t>((size_t)n * kRowIntFields), oFloats = up.add<double>((size_t)n * kRowFloatFields),
               oAux = up.add<int32_t>(aux.size()), oGrammar = up.add<int32_t>((size_t)req.numGrammarMasks * words),
               oList = up.add<int32_t>((size_t)req.numListMasks * words), oBiasIds = up.add<int32_t>(req.numBias),
               oBiasValues = up.add<double>(req.numBias), oPenalty = up.add<int32_t>(req.numPenaltyIds);
  hostUpload_.ensure(up.bytes);
  char* h = hostUpload_.data();
  auto put = [&](size_t at, const void* src, size_t bytes) {
    if (bytes) std::memcpy(h + at, src, bytes);
  };
  put(oInts, req.rowInts, (size_t)n * kRowIntFields * 4);
  put(oFloats, req.rowFloats, (size_t)n * kRowFloatFields * 8);
  put(oAux, aux.data(), aux.size() * 4);
  put(oGrammar, req.grammarMasks, (size_t)req.numGrammarMasks * words * 4);
  put(oList, req.listMasks, (size_t)req.numListMasks * words * 4);
  put(oBiasIds, req.biasIds, (size_t)req.numBias * 4);
  put(oBiasValues, req.biasValues, (size_t)req.numBias * 8);
  put(oPenalty, req.penaltyIds, (size_t)req.numPenaltyIds * 4);
  upload_.ensure(std::max<size_t>(up.bytes, 16));

  Layout res;
  const size_t oTokens = res.add<int32_t>(n), oRanks = res.add<int32_t>(n), oTopIds = res.add<int32_t>((size_t)n * topN),
               oLogprob = res.add<double>(n), oTopLp = res.add<double>((size_t)n * topN);
  results_.ensure(std::max<size_t>(res.bytes, 16));
  hostResults_.ensure(std::max<size_t>(res.bytes, 16));
  if (rawRows > 0) rawCopy_.ensure((size_t)rawRows * V * 4);
  if ((size_t)penaltySlots > penaltyScratchSlots_) {
    penaltyScratch_.ensure((size_t)penaltySlots * V * 4);
    CUDA_CHECK(cudaMemsetAsync(penaltyScratch_.as<void>(), 0, (size_t)penaltySlots * V * 4, s));
    penaltyScratchSlots_ = penaltySlots;
  }
  const size_t copyBytes = (size_t)req.numCopyRows * V * 4;
  if (copyBytes) hostLogits_.ensure(copyBytes);

  CUDA_CHECK(cudaEventRecord(events_[kSampleStart], s));
  char* d = upload_.as<char>();
  if (up.bytes) CUDA_CHECK(cudaMemcpyAsync(d, h, up.bytes, cudaMemcpyHostToDevice, s));
  char* o = results_.as<char>();
  SampleRowsArgs a{};
  a.logits = logits;
  a.rows = n;
  a.V = V;
  a.words = words;
  a.rowInts = reinterpret_cast<const int32_t*>(d + oInts);
  a.rowFloats = reinterpret_cast<const double*>(d + oFloats);
  a.rowAux = reinterpret_cast<const int32_t*>(d + oAux);
  a.grammarMasks = reinterpret_cast<const int32_t*>(d + oGrammar);
  a.listMasks = reinterpret_cast<const int32_t*>(d + oList);
  a.biasIds = reinterpret_cast<const int32_t*>(d + oBiasIds);
  a.biasValues = reinterpret_cast<const double*>(d + oBiasValues);
  a.penaltyIds = reinterpret_cast<const int32_t*>(d + oPenalty);
  a.penaltyScratch = penaltyScratch_.as<int32_t>();
  a.rawCopy = rawCopy_.as<float>();
  a.tokens = reinterpret_cast<int32_t*>(o + oTokens);
  a.topN = topN;
  a.ranks = reinterpret_cast<int32_t*>(o + oRanks);
  a.topIds = reinterpret_cast<int32_t*>(o + oTopIds);
  a.logprob = reinterpret_cast<double*>(o + oLogprob);
  a.topLogprobs = reinterpret_cast<double*>(o + oTopLp);
  if (req.numBias > 0 || req.numPenaltyIds > 0) launchApplyLogitEdits(a, s);
  launchSampleRows(a, s);
  if (anyLogprobs) launchRowLogprobs(a, s);
  if (res.bytes) CUDA_CHECK(cudaMemcpyAsync(hostResults_.data(), o, res.bytes, cudaMemcpyDeviceToHost, s));
  // prompt-logit rows: consecutive rows in one copy
  for (int i = 0; i < req.numCopyRows;) {
    int j = i + 1;
    while (j < req.numCopyRows && req.copyRows[j] == req.copyRows[j - 1] + 1) ++j;
    CUDA_CHECK(cudaMemcpyAsync(hostLogits_.data() + (size_t)i * V * 4, logits + (size_t)req.copyRows[i] * V,
                               (size_t)(j - i) * V * 4, cudaMemcpyDeviceToHost, s));
    i = j;
  }
  CUDA_CHECK(cudaEventRecord(events_[kSampleEnd], s));
  const auto t2 = clock::now();
  CUDA_CHECK(cudaStreamSynchronize(s));
  const auto t3 = clock::now();

  const char* hr = hostResults_.data();
  auto take = [&](auto& vec, size_t at, size_t count) {
    using T = typename std::decay_t<decltype(vec)>::value_type;
    vec.resize(count);
    if (count) std::memcpy(vec.data(), hr + at, count * sizeof(T));
  };
  take(out.tokens, oTokens, n);
  take(out.rank, oRanks, n);
  take(out.topIds, oTopIds, (size_t)n * topN);
  take(out.logprob, oLogprob, n);
  take(out.topLogprobs, oTopLp, (size_t)n * topN);
  out.topN = topN;
  out.logits.resize((size_t)req.numCopyRows * V);
  if (copyBytes) std::memcpy(out.logits.data(), hostLogits_.data(), copyBytes);
  out.sampleGpuMs = 0;
  CUDA_CHECK(cudaEventElapsedTime(&out.sampleGpuMs, events_[kSampleStart], events_[kSampleEnd]));
  out.forwardGpuMs = out.gpuGapMs = 0;
  if (forwardMarked_) {
    CUDA_CHECK(cudaEventElapsedTime(&out.forwardGpuMs, events_[kForwardStart], events_[kForwardEnd]));
    CUDA_CHECK(cudaEventElapsedTime(&out.gpuGapMs, events_[kForwardEnd], events_[kSampleStart]));
    forwardMarked_ = false;
  }
  out.hostPrepMs = std::chrono::duration<double, std::milli>(t2 - t0).count();
  out.hostWaitMs = std::chrono::duration<double, std::milli>(t3 - t2).count();
}

void sampleGivenLogits(int device, const float* logits, int rows, int V, const SampleRequest& req, SampleResult& out) {
  if (rows < 0 || V <= 0) throw std::invalid_argument("sampleGivenLogits: rows must be >= 0 and vocab > 0");
  CUDA_CHECK(cudaSetDevice(device));
  cudaStream_t s = nullptr;
  CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  try {
    DeviceBuffer d(std::max<size_t>((size_t)rows * V * 4, 4));
    CUDA_CHECK(cudaMemcpyAsync(d.as<float>(), logits, (size_t)rows * V * 4, cudaMemcpyHostToDevice, s));
    GpuSampler sampler;
    sampler.run(d.as<float>(), rows, V, req, out, s);
  } catch (...) {
    cudaStreamSynchronize(s);
    cudaStreamDestroy(s);
    throw;
  }
  CUDA_CHECK(cudaStreamDestroy(s));
}

}  // namespace serval
