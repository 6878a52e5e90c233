// The CUDA backend's forward: weights and paged KV cache on one GPU in the storage type S (--dtype: bf16, fp16 or
// fp32; the model is CudaModelOf<S, C>, the K/V cache of type C: S, or fp16 under bf16 weights, --kv-cache-dtype),
// fp32 residual stream and GEMM outputs (fp32 accumulate), same math as CpuModel
// and the TypeScript reference. Steps of up to kGemvMaxTokens tokens run every projection on the GEMV kernel with fp32
// inputs and fused epilogues; larger ones use cuBLASLt (inputs in S).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <utility>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/weight_names.h"
#include "common/weight_store.h"
#include "cuda/attention_dispatch.h"
#include "cuda/cublaslt_gemm.h"
#include "cuda/cuda_api.h"
#include "cuda/cuda_util.h"
#include "cuda/device_buffer.h"
#include "cuda/kernels.h"
#include "cuda/pdl.h"
#include "cuda/sampling_gpu.h"

namespace serval {

namespace {

struct LayerWeights {
  DeviceBuffer inputNorm, postNorm, qNorm, kNorm;  // fp32
  DeviceBuffer qkv, qkvBias, o, gateUp, down;      // weights in the storage type, fp32 bias
};

// Weights come from the memory-mapped files (or a seeded fill): a tensor already in the storage type S is copied
// straight from the mapping, others go through a device staging buffer and a conversion kernel; nothing is copied
// whole on the host.
template <class S>
class WeightUploader {
 public:
  WeightUploader(const WeightStore* store, bool dummy, uint64_t seed, cudaStream_t s)
      : store_(store), dummy_(dummy), seed_(seed), stream_(s) {}

  /** Writes tensor `name` (shape {rows, cols}) as S at dst. `fanIn` scales dummy values. */
  void matrix(S* dst, const std::string& name, int64_t rows, int64_t cols, int64_t fanIn) {
    const size_t n = (size_t)rows * cols;
    if (dummy_) {
      launchFillUniform(dst, n, 1.f / std::sqrt((float)fanIn), seed_ + (counter_++) * 7919, stream_);
      return;
    }
    const TensorView& t = store_->get(name, {rows, cols});
    copyAsStorage(dst, t, n);
  }
  /** A 1-D tensor as fp32 (norm weights, biases); dummy: `dummyValue` (norms) or small random (biases). */
  void vector(float* dst, const std::string& name, int64_t n, float dummyValue) {
    std::vector<float> host(n, dummyValue);
    if (!dummy_) {
      const TensorView& t = store_->get(name, {n});
      toFloat(t.data, t.dtype, host.data(), n);
    }
    CUDA_CHECK(cudaMemcpyAsync(dst, host.data(), n * sizeof(float), cudaMemcpyHostToDevice, stream_));
    CUDA_CHECK(cudaStreamSynchronize(stream_));
  }

 private:
  void copyAsStorage(S* dst, const TensorView& t, size_t n) {
    if (t.dtype == StorageTraits<S>::dtype) {
      CUDA_CHECK(cudaMemcpyAsync(dst, t.data, n * sizeof(S), cudaMemcpyHostToDevice, stream_));
      return;
    }
    staging_.ensure(n * dtypeSize(t.dtype));
    CUDA_CHECK(cudaMemcpyAsync(staging_.as<void>(), t.data, n * dtypeSize(t.dtype), cudaMemcpyHostToDevice, stream_));
    launchConvertToStorage(staging_.as<void>(), t.dtype, dst, n, stream_);
    CUDA_CHECK(cudaStreamSynchronize(stream_));  // staging is reused by the next tensor
  }
  const WeightStore* store_;
  bool dummy_;
  uint64_t seed_, counter_ = 1;
  cudaStream_t stream_;
  DeviceBuffer staging_;
};

/** SERVAL_GRAPH_STRIDE: unset/"buckets" -> false, "max" -> true (every graph at maxModelLen's block-table stride:
 *  one graph per batch size, for measuring what that costs short contexts); anything else throws naming the values */
bool graphStrideMaxFromEnv() {
  const char* v = std::getenv("SERVAL_GRAPH_STRIDE");
  if (!v || !*v || std::string(v) == "buckets") return false;
  if (std::string(v) == "max") return true;
  throw std::invalid_argument(std::string("SERVAL_GRAPH_STRIDE=") + v + " is not one of: buckets, max");
}

}  // namespace

/** What CudaModel calls; CudaModelOf<S, C> implements it for one storage type and K/V cache type. */
class CudaModelImpl {
 public:
  virtual ~CudaModelImpl() = default;
  virtual void forward(const ForwardBatch& b, float* logitsOut) = 0;
  virtual void enqueueForward(const ForwardBatch& b) = 0;
  virtual void waitForwardDone() = 0;
  virtual void sample(const SampleRequest& req, SampleResult& out) = 0;
  virtual void allocateKvCache(int numBlocks) = 0;
  virtual CudaMemoryReport memory() const = 0;
  virtual CudaGraphCaptureReport captureDecodeGraphs() = 0;
  virtual size_t reserveSampling(int rows, int penaltyIdsPerRow) = 0;
  virtual const ModelSpec& spec() const = 0;
};

template <class S, class C = S>
class CudaModelOf final : public CudaModelImpl {
 public:
  CudaModelOf(const ModelSpec& spec, const std::vector<TensorRef>& tensors, const CudaModelOptions& opts)
      : spec_(spec), opts_(opts) {
    spec_.validate();
    if (opts.numBlocks < 0 || opts.blockSize <= 0) throw std::invalid_argument("numBlocks must be >= 0 and blockSize > 0");
    validateDecodeBatchSizes(opts);
    graphStrideMax_ = graphStrideMaxFromEnv();
    if (!opts.dummyWeights && tensors.empty()) throw std::invalid_argument("no weight tensors given (and dummyWeights is off)");
    CudaStatus st = queryCuda();
    if (st.deviceCount == 0) throw std::runtime_error(st.error.empty() ? "no CUDA device" : st.error);
    if (opts.device < 0 || opts.device >= st.deviceCount)
      throw std::invalid_argument("CUDA device " + std::to_string(opts.device) + " does not exist");
    CUDA_CHECK(cudaSetDevice(opts.device));
    CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    // a blocking wait: waitForwardDone's thread sleeps through the forward rather than spin on a core the engine's
    // mask workers need meanwhile (it wakes later than a spinning thread would: small next to the masks' grace)
    CUDA_CHECK(cudaEventCreateWithFlags(&forwardDone_, cudaEventDisableTiming | cudaEventBlockingSync));
    gemm_ = std::make_unique<LinearGemm>(stream_, 32u << 20, StorageTraits<S>::dtype);
    gemm_->setSkinnyEnabled(opts.skinnyGemm);
    int numSms = 0;
    CUDA_CHECK(cudaDeviceGetAttribute(&numSms, cudaDevAttrMultiProcessorCount, opts.device));
    attnShape_ = AttentionShape{spec_.numHeads, spec_.numKvHeads, spec_.headDim, opts.blockSize, numSms,
                                attentionForceLegacyFromEnv(), StorageTraits<C>::dtype};
    splitWs_.ensure(splitKvWorkspaceFloats(attnShape_) * sizeof(float));  // fixed size: graphs keep its address
    std::unique_ptr<WeightStore> store;
    if (!opts.dummyWeights) store = std::make_unique<WeightStore>(tensors);
    loadWeights(store.get());
    if (opts.numBlocks > 0) allocateKvCache(opts.numBlocks);
  }

  ~CudaModelOf() {
    clearGraphs();
    gemm_.reset();
    if (forwardDone_) cudaEventDestroy(forwardDone_);
    if (stream_) cudaStreamDestroy(stream_);
  }

  const ModelSpec& spec() const { return spec_; }

  void allocateKvCache(int numBlocks) {
    if (numBlocks <= 0) throw std::invalid_argument("allocateKvCache: numBlocks must be > 0");
    CUDA_CHECK(cudaSetDevice(opts_.device));
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    kCache_ = DeviceBuffer();  // free the old cache before allocating the new one
    vCache_ = DeviceBuffer();
    opts_.numBlocks = numBlocks;
    allocateCache();
    rerecordGraphs();
  }

  CudaGraphCaptureReport captureDecodeGraphs() override {
    if (!opts_.cudaGraphs) throw std::logic_error("captureDecodeGraphs: CUDA graphs are off (--enforce-eager)");
    if (opts_.decodeBatchSizes.empty()) throw std::invalid_argument("captureDecodeGraphs: no decodeBatchSizes were given");
    if (opts_.maxModelLen <= 0) throw std::invalid_argument("captureDecodeGraphs: maxModelLen was not given");
    if (opts_.numBlocks == 0) throw std::runtime_error("captureDecodeGraphs before allocateKvCache: the model has no KV cache");
    CUDA_CHECK(cudaSetDevice(opts_.device));
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    const auto t0 = std::chrono::steady_clock::now();
    const size_t free0 = freeDeviceBytes();
    const std::vector<int> strides = graphStrideBuckets();
    const int maxT = opts_.decodeBatchSizes.back();
    ensureActivations(maxT, maxT);
    ensureGraphMeta((size_t)maxT * (5 + strides.back()));
    CudaGraphCaptureReport r;
    for (int T : opts_.decodeBatchSizes)
      for (int stride : strides) {
        decodeGraph(StepDims{T, T, T, stride, graphMeta_.as<int32_t>()});
        ++r.graphs;
      }
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    const size_t free1 = freeDeviceBytes();
    r.bytes = free0 > free1 ? free0 - free1 : 0;
    graphBytes_ += r.bytes;
    r.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return r;
  }

  size_t reserveSampling(int rows, int penaltyIdsPerRow) override {
    if (rows <= 0 || penaltyIdsPerRow < 0)
      throw std::invalid_argument("reserveSampling: rows must be > 0 and penaltyIdsPerRow >= 0");
    if (rows > lastLogitRows_)
      throw std::logic_error("reserveSampling: the last forward had " + std::to_string(lastLogitRows_) +
                             " logit rows, fewer than the " + std::to_string(rows) + " asked for");
    CUDA_CHECK(cudaSetDevice(opts_.device));
    CUDA_CHECK(cudaStreamSynchronize(stream_));
    const size_t free0 = freeDeviceBytes();
    if (!sampler_) sampler_ = std::make_unique<GpuSampler>();
    const int V = spec_.vocabSize, words = (V + 31) / 32;
    // every row uses every feature that takes device memory: masks, a bias (raw logits kept for logprobs), penalties
    std::vector<int32_t> ints((size_t)rows * kRowIntFields, 0), masks((size_t)rows * words, -1), biasIds(rows);
    std::vector<int32_t> penaltyIds((size_t)rows * penaltyIdsPerRow);
    std::vector<double> floats((size_t)rows * kRowFloatFields, 0.0), biasValues(rows, 0.5);
    for (int r = 0; r < rows; ++r) {
      int32_t* f = &ints[(size_t)r * kRowIntFields];
      f[kRowTopK] = 50;
      f[kRowGrammarMask] = f[kRowListMask] = r;
      f[kRowBiasStart] = r;
      f[kRowBiasCount] = 1;
      f[kRowPenaltyStart] = r * penaltyIdsPerRow;
      f[kRowPromptCount] = penaltyIdsPerRow;
      f[kRowNumLogprobs] = kMaxGpuTopLogprobs;
      f[kRowCounter] = r;
      double* d = &floats[(size_t)r * kRowFloatFields];
      d[kRowTemperature] = 1.0;
      d[kRowTopP] = 0.9;
      d[kRowRepetition] = 1.1;
      biasIds[r] = r % V;
    }
    for (size_t i = 0; i < penaltyIds.size(); ++i) penaltyIds[i] = (int32_t)((i * 7919) % V);
    SampleRequest req;
    req.numRows = rows;
    req.rowInts = ints.data();
    req.rowFloats = floats.data();
    req.grammarMasks = masks.data();
    req.numGrammarMasks = rows;
    req.listMasks = masks.data();
    req.numListMasks = rows;
    req.biasIds = biasIds.data();
    req.biasValues = biasValues.data();
    req.numBias = rows;
    req.penaltyIds = penaltyIds.data();
    req.numPenaltyIds = (int)penaltyIds.size();
    SampleResult out;
    sampler_->run(logits_.as<float>(), lastLogitRows_, V, req, out, stream_);
    const size_t free1 = freeDeviceBytes();
    const size_t bytes = free0 > free1 ? free0 - free1 : 0;
    samplingBytes_ += bytes;
    return bytes;
  }

  CudaMemoryReport memory() const {
    CudaMemoryReport r;
    r.weightBytes = weightBytes_;
    r.kvCacheBytes = kCache_.bytes() + vCache_.bytes();
    r.activationBytes = x_.bytes() + delta_.bytes() + normed_.bytes() + qkv_.bytes() + attn_.bytes() + gu_.bytes() +
                        act_.bytes() + normedF_.bytes() + actF_.bytes() + attnF_.bytes() + logits_.bytes() + meta_.bytes();
    r.workspaceBytes = gemm_->workspaceBytes() + splitWs_.bytes();
    r.samplingBytes = samplingBytes_;
    r.graphBytes = graphBytes_;
    return r;
  }

  void forward(const ForwardBatch& b, float* logitsOut) {
    const int R = b.numLogitTokens;
    if (!enqueueStep(b)) return;
    if (R > 0)
      CUDA_CHECK(cudaMemcpyAsync(logitsOut, logits_.as<float>(), (size_t)R * spec_.vocabSize * sizeof(float),
                                 cudaMemcpyDeviceToHost, stream_));
    CUDA_CHECK(cudaStreamSynchronize(stream_));
  }

  /** the forward on stream_ without waiting for it; sample() follows (from any thread) */
  void enqueueForward(const ForwardBatch& b) {
    pendingLogitRows_ = 0;
    CUDA_CHECK(cudaSetDevice(opts_.device));
    if (!sampler_) sampler_ = std::make_unique<GpuSampler>();
    sampler_->markForwardStart(stream_);
    if (enqueueStep(b)) pendingLogitRows_ = b.numLogitTokens;
    sampler_->markForwardEnd(stream_);
    CUDA_CHECK(cudaEventRecord(forwardDone_, stream_));
  }

  /** blocks the calling thread until the GPU has finished the forward enqueueForward issued last */
  void waitForwardDone() override {
    CUDA_CHECK(cudaSetDevice(opts_.device));
    CUDA_CHECK(cudaEventSynchronize(forwardDone_));
  }

  /** samples the rows of the forward enqueued last (sampling_gpu.h) and waits for the stream */
  void sample(const SampleRequest& req, SampleResult& out) {
    CUDA_CHECK(cudaSetDevice(opts_.device));
    if (!sampler_) sampler_ = std::make_unique<GpuSampler>();
    const int R = pendingLogitRows_;
    pendingLogitRows_ = 0;
    sampler_->run(logits_.as<float>(), R, spec_.vocabSize, req, out, stream_);
  }

 private:
  /** validates the batch and enqueues its forward on stream_ (graph or eager); false when it has no tokens */
  bool enqueueStep(const ForwardBatch& b) {
    if (opts_.numBlocks == 0) throw std::runtime_error("forward before allocateKvCache: the model has no KV cache");
    validateBatch(b, opts_.numBlocks, opts_.blockSize, spec_.vocabSize);
    const int T = b.numTokens, R = b.numLogitTokens;
    if (T > opts_.maxNumTokens)
      throw std::invalid_argument("step has " + std::to_string(T) + " tokens, more than maxNumTokens " +
                                  std::to_string(opts_.maxNumTokens));
    if (T == 0) return false;
    CUDA_CHECK(cudaSetDevice(opts_.device));
    // decode-only steps run at their padded size (extra rows inert: see uploadMetadata), graph replay or eager alike
    const int padded = isPlainDecode(b) ? paddedDecodeRows(T) : 0;
    const bool plainDecode = padded > 0, graph = opts_.cudaGraphs && plainDecode;
    // Graph replays bake the block-table stride in: round it up so a growing context rarely needs a new capture.
    StepDims d = plainDecode ? StepDims{padded, padded, padded, graphTableStride(b.maxBlocksPerRow), nullptr}
                             : StepDims{T, R, b.numRows, b.maxBlocksPerRow, nullptr};
    ensureActivations(d.T, d.R);
    lastLogitRows_ = R;
    // a graph's plan may depend only on its key (T, table stride): decode contexts bounded by the table's capacity
    // Eager decode-only steps take the graphs' plan too, so --enforce-eager and graph replays give identical logits
    plan_ = plainDecode ? planDecodeGraph(d.T, d.tableStride * opts_.blockSize, attnShape_) : planAttention(b, attnShape_);
    d.meta = uploadMetadata(b, d, graph);
    if (graph) {
      CUDA_CHECK(cudaGraphLaunch(decodeGraph(d), stream_));
    } else {
      enqueueForward(d);
    }
    return true;
  }

  /** the shape of one step's device metadata (see uploadMetadata for the layout) */
  struct StepDims {
    int T, R, rows, tableStride;
    const int32_t* meta;  // the device metadata (meta_, or graphMeta_ for graph replays)
  };

  /** decode-only step: one token per row, every row sampled in order (what CUDA graphs are captured for) */
  static bool isPlainDecode(const ForwardBatch& b) {
    if (b.numTokens != b.numRows || b.numLogitTokens != b.numTokens) return false;
    for (int i = 0; i < b.numLogitTokens; ++i)
      if (b.logitTokenIndices[i] != i) return false;
    return true;
  }
  /** the rows a decode-only step of n rows runs with: the smallest decodeBatchSizes entry >= n (n itself, up to
   *  kMaxGraphTokens, without a list); 0 when n is above them all (it runs eager at its own size) */
  int paddedDecodeRows(int n) const {
    const std::vector<int>& sizes = opts_.decodeBatchSizes;
    if (sizes.empty()) return n <= kMaxGraphTokens ? n : 0;
    const auto it = std::lower_bound(sizes.begin(), sizes.end(), n);
    return it == sizes.end() ? 0 : *it;
  }
  static void validateDecodeBatchSizes(const CudaModelOptions& o) {
    const std::vector<int>& s = o.decodeBatchSizes;
    for (size_t i = 0; i < s.size(); ++i)
      if (s[i] < 1 || s[i] > o.maxNumTokens || (i > 0 && s[i] <= s[i - 1]))
        throw std::invalid_argument("decodeBatchSizes must be ascending, each in [1, maxNumTokens " +
                                    std::to_string(o.maxNumTokens) + "]; got " + std::to_string(s[i]) + " at " +
                                    std::to_string(i));
    if (o.maxModelLen < 0) throw std::invalid_argument("maxModelLen must be >= 0");
  }
  /** block-table stride of the longest context (maxModelLen), 0 when not given */
  int maxGraphStride() const {
    return opts_.maxModelLen > 0 ? (opts_.maxModelLen + opts_.blockSize - 1) / opts_.blockSize : 0;
  }
  /** graph steps' block-table stride: a power of two >= 16, capped at maxModelLen's stride. The split-KV plan depends
   *  on it (planDecodeGraph), so short contexts keep short partitions; a few buckets bound the graph count. */
  int graphTableStride(int maxBlocksPerRow) const {
    int s = 16;
    while (s < maxBlocksPerRow) s *= 2;
    const int cap = maxGraphStride();
    if (cap > 0 && maxBlocksPerRow <= cap) return graphStrideMax_ ? cap : std::min(s, cap);
    return s;
  }
  /** every stride graphTableStride gives for contexts up to maxModelLen */
  std::vector<int> graphStrideBuckets() const {
    const int cap = maxGraphStride();
    std::vector<int> out;
    for (int s = 16; s < cap && !graphStrideMax_; s *= 2) out.push_back(s);
    out.push_back(cap);
    return out;
  }

  /** the graph replaying enqueueForward for these dims, captured on first use */
  cudaGraphExec_t decodeGraph(const StepDims& d) {
    const auto key = std::make_pair(d.T, d.tableStride);
    auto it = graphs_.find(key);
    if (it != graphs_.end()) return it->second;
    cudaGraph_t g = recordDecodeGraph(d);
    cudaGraphExec_t exec = nullptr;
    const cudaError_t err = cudaGraphInstantiate(&exec, g, 0);
    cudaGraphDestroy(g);
    CUDA_CHECK(err);
    graphs_[key] = exec;
    return exec;
  }
  /** records enqueueForward(d) with the graph plan of its key (the caller owns the graph) */
  cudaGraph_t recordDecodeGraph(const StepDims& d) {
    plan_ = planDecodeGraph(d.T, d.tableStride * opts_.blockSize, attnShape_);
    cudaGraph_t g = nullptr;
    CUDA_CHECK(cudaStreamBeginCapture(stream_, cudaStreamCaptureModeThreadLocal));
    try {
      enqueueForward(d);
    } catch (...) {
      cudaStreamEndCapture(stream_, &g);
      if (g) cudaGraphDestroy(g);
      throw;
    }
    CUDA_CHECK(cudaStreamEndCapture(stream_, &g));
    return g;
  }
  /** After the KV cache moved: every captured graph is recorded again and its executable updated in place (same
   *  kernels, new pointers), so the graph memory measured by the profile is all they ever take. */
  void rerecordGraphs() {
    for (auto& kv : graphs_) {
      cudaGraph_t g = recordDecodeGraph(StepDims{kv.first.first, kv.first.first, kv.first.first, kv.first.second,
                                                 graphMeta_.as<int32_t>()});
      cudaGraphExecUpdateResultInfo info{};
      const cudaError_t err = cudaGraphExecUpdate(kv.second, g, &info);
      cudaGraphDestroy(g);
      if (err != cudaSuccess) {
        cudaGetLastError();
        throw std::runtime_error("CUDA graph of " + std::to_string(kv.first.first) + " rows could not be updated to the "
                                 "new KV cache (cudaGraphExecUpdate result " + std::to_string((int)info.result) + ")");
      }
    }
  }
  static size_t freeDeviceBytes() {
    size_t freeB = 0, totalB = 0;
    CUDA_CHECK(cudaMemGetInfo(&freeB, &totalB));
    return freeB;
  }

  void clearGraphs() {
    for (auto& kv : graphs_) cudaGraphExecDestroy(kv.second);
    graphs_.clear();
  }

  /** Decode-sized steps (every GEMM on the GEMV kernel) run the fused decode layer (enqueueDecodeLayers). */
  bool gemvStep(int T) const {
    const int H = spec_.hiddenSize, I = spec_.intermediateSize, qDim = spec_.numHeads * spec_.headDim;
    return gemm_->usesGemv(T, H) && gemm_->usesGemv(T, I) && gemm_->usesGemv(T, qDim);
  }

  /** Issues the whole forward on stream_ from the metadata already in meta_ (eager, or recorded into a graph). */
  void enqueueForward(const StepDims& d) {
    const int T = d.T, R = d.R;
    const int H = spec_.hiddenSize;
    const int32_t* meta = d.meta;
    const int32_t* dTokens = meta;
    const int32_t* dLogitRows = meta + 4 * T;
    float* x = x_.as<float>();
    float* delta = delta_.as<float>();
    launchEmbeddingGather(embed_.as<S>(), dTokens, x, T, H, stream_);
    const bool gemv = gemvStep(T);
    // decode-sized steps chain their kernels with programmatic dependent launch (pdl.h; SERVAL_PDL=0 turns it off)
    PdlScope pdlScope(gemv && pdl_);
    if (gemv)
      enqueueDecodeLayers(d);
    else
      enqueueLayers(d);
    // last residual add + final norm only for the rows whose logits are wanted, then the LM head on those rows. Up to
    // kGemvMaxTokens rows (every decode step, and a prefill step with one or two sampled rows) the LM head is the GEMV
    // kernel, which takes the final norm in fp32 at the speed of an S input (bench/native/README.md, accuracy).
    if (R == 0) return;
    if (gemm_->usesGemv(R, H)) {
      float* normed = normedF_.as<float>();
      launchAddRmsNorm(x, delta, finalNorm_.as<float>(), normed, dLogitRows, R, H, spec_.rmsNormEps, stream_);
      launchGemvLinear(normed, lmHead(), nullptr, logits_.as<float>(), R, spec_.vocabSize, H,
                       gemvSplitFor(spec_.vocabSize, H, gemm_->numSms()), stream_);
    } else {
      S* normed = normed_.as<S>();
      launchAddRmsNorm(x, delta, finalNorm_.as<float>(), normed, dLogitRows, R, H, spec_.rmsNormEps, stream_);
      gemm_->run(normed, lmHead(), logits_.as<float>(), nullptr, R, spec_.vocabSize, H);
    }
  }

  /** device pointers into this step's metadata (layout: uploadMetadata) */
  struct StepMeta {
    const int32_t *positions, *slots, *tokenRow, *tables, *tiles, *decodeTokens;
  };
  StepMeta stepMeta(const StepDims& d) const {
    const int32_t* meta = d.meta;
    const int T = d.T;
    const int32_t* tables = meta + 4 * T + d.R;
    const int32_t* tiles = tables + (size_t)d.rows * d.tableStride;
    return StepMeta{meta + T, meta + 2 * T, meta + 3 * T, tables, tiles, tiles + plan_.tiles.size()};
  }

  void enqueueAttention(int l, const StepDims& d, const StepMeta& m, float* outF = nullptr) {
    launchAttention(plan_, attnShape_,
                    AttentionArgsT<C, S>{qkv_.as<float>(), kCache(l), vCache(l), m.tokenRow, m.positions, m.tables,
                                         d.tableStride, m.tiles, m.decodeTokens, splitWs_.as<float>(), attn_.as<S>(),
                                         d.T, outF},
                    stream_);
  }
  C* kCache(int l) const { return kCache_.as<C>() + l * layerCacheElems(); }
  C* vCache(int l) const { return vCache_.as<C>() + l * layerCacheElems(); }
  size_t layerCacheElems() const {
    return (size_t)(opts_.numBlocks + 1) * opts_.blockSize * spec_.numKvHeads * spec_.headDim;
  }
  // One block past the usable ones takes the K/V writes of decode padding rows (the scheduler never hands it out).
  int padBlock() const { return opts_.numBlocks; }

  /** The layers of a cuBLASLt step: GEMM inputs in S, fp32 GEMM outputs. */
  void enqueueLayers(const StepDims& d) {
    const int T = d.T;
    const int H = spec_.hiddenSize, I = spec_.intermediateSize, hd = spec_.headDim;
    const int nh = spec_.numHeads, nkv = spec_.numKvHeads, qkvDim = (nh + 2 * nkv) * hd;
    const StepMeta m = stepMeta(d);
    float* x = x_.as<float>();
    float* delta = delta_.as<float>();
    S* normed = normed_.as<S>();
    float* qkv = qkv_.as<float>();
    float* gu = gu_.as<float>();
    S* act = act_.as<S>();
    for (int l = 0; l < spec_.numLayers; ++l) {
      LayerWeights& L = layers_[l];
      // residual add of the previous layer's MLP output fused into this layer's input norm
      launchAddRmsNorm(x, l == 0 ? nullptr : delta, L.inputNorm.as<float>(), normed, nullptr, T, H, spec_.rmsNormEps,
                       stream_);
      gemm_->run(normed, L.qkv.as<S>(), qkv, spec_.attentionBias ? L.qkvBias.as<float>() : nullptr, T, qkvDim, H);
      launchQkNormRopeKvWrite(qkv, spec_.qkNorm ? L.qNorm.as<float>() : nullptr,
                              spec_.qkNorm ? L.kNorm.as<float>() : nullptr, invFreq_.as<float>(), m.positions, m.slots,
                              kCache(l), vCache(l), T, nh, nkv, hd, spec_.rmsNormEps, stream_);
      enqueueAttention(l, d, m);
      gemm_->run(attn_.as<S>(), L.o.as<S>(), delta, nullptr, T, H, nh * hd);
      launchAddRmsNorm(x, delta, L.postNorm.as<float>(), normed, nullptr, T, H, spec_.rmsNormEps, stream_);
      gemm_->run(normed, L.gateUp.as<S>(), gu, nullptr, T, 2 * I, H);
      launchSiluMul(gu, act, T, I, stream_);
      gemm_->run(act, L.down.as<S>(), delta, nullptr, T, H, I);
    }
  }

  /** The layers of a decode-sized step on the GEMV kernel: 7 launches per layer instead of 9 (RoPE + K/V write fused
   *  into the QKV projection unless q/k norm needs the whole head first; SiLU-and-mul into the gate/up projection),
   *  and the GEMV inputs (norm outputs, attention output, SiLU output) kept in fp32: free at these sizes, and fewer
   *  roundings. */
  void enqueueDecodeLayers(const StepDims& d) {
    const int T = d.T;
    const int H = spec_.hiddenSize, I = spec_.intermediateSize, hd = spec_.headDim;
    const int nh = spec_.numHeads, nkv = spec_.numKvHeads, qkvDim = (nh + 2 * nkv) * hd;
    const int sms = gemm_->numSms();
    const StepMeta m = stepMeta(d);
    float* x = x_.as<float>();
    float* delta = delta_.as<float>();
    float* normed = normedF_.as<float>();
    float* qkv = qkv_.as<float>();
    float* act = actF_.as<float>();
    const int splitQkv = gemvSplitFor(qkvDim, H, sms);
    const int splitO = gemvSplitFor(H, nh * hd, sms), splitGateUp = gemvSplitFor(2 * I, H, sms);
    const int splitDown = gemvSplitFor(H, I, sms);
    // The attention output stays fp32 for the o projection (every attention kernel can write it): one rounding fewer
    // per layer, at no cost at these sizes (bench/native/README.md, "bf16 accuracy on the greedy run").
    float* attnF = attnF_.as<float>();
    for (int l = 0; l < spec_.numLayers; ++l) {
      LayerWeights& L = layers_[l];
      const float* bias = spec_.attentionBias ? L.qkvBias.as<float>() : nullptr;
      launchAddRmsNorm(x, l == 0 ? nullptr : delta, L.inputNorm.as<float>(), normed, nullptr, T, H, spec_.rmsNormEps,
                       stream_);
      if (spec_.qkNorm) {
        launchGemvLinear(normed, L.qkv.as<S>(), bias, qkv, T, qkvDim, H, splitQkv, stream_);
        launchQkNormRopeKvWrite(qkv, L.qNorm.as<float>(), L.kNorm.as<float>(), invFreq_.as<float>(), m.positions,
                                m.slots, kCache(l), vCache(l), T, nh, nkv, hd, spec_.rmsNormEps, stream_);
      } else {
        launchGemvQkvRopeKv(normed, L.qkv.as<S>(), bias, qkv, invFreq_.as<float>(), m.positions, m.slots, kCache(l),
                            vCache(l), T, nh, nkv, hd, H, splitQkv, stream_);
      }
      enqueueAttention(l, d, m, attnF);
      launchGemvLinear(attnF, L.o.as<S>(), nullptr, delta, T, H, nh * hd, splitO, stream_);
      launchAddRmsNorm(x, delta, L.postNorm.as<float>(), normed, nullptr, T, H, spec_.rmsNormEps, stream_);
      launchGemvGateUpSilu(normed, L.gateUp.as<S>(), act, T, I, H, splitGateUp, stream_);
      launchGemvLinear(act, L.down.as<S>(), nullptr, delta, T, H, I, splitDown, stream_);
    }
  }

  const S* lmHead() const { return spec_.tieWordEmbeddings ? embed_.as<S>() : lmHead_.as<S>(); }

  void loadWeights(const WeightStore* store) {
    const int64_t H = spec_.hiddenSize, I = spec_.intermediateSize, hd = spec_.headDim, V = spec_.vocabSize;
    const int64_t qDim = spec_.numHeads * hd, kvDim = spec_.numKvHeads * hd;
    WeightUploader<S> up(store, opts_.dummyWeights, opts_.seed, stream_);
    auto alloc = [&](DeviceBuffer& buf, size_t bytes) {
      buf.ensure(bytes);
      weightBytes_ += bytes;
    };
    alloc(embed_, V * H * sizeof(S));
    up.matrix(embed_.as<S>(), names::embed(), V, H, 1);  // dummy embedding: uniform(-1, 1)
    alloc(finalNorm_, H * 4);
    up.vector(finalNorm_.as<float>(), names::finalNorm(), H, 1.f);
    if (!spec_.tieWordEmbeddings) {
      alloc(lmHead_, V * H * sizeof(S));
      up.matrix(lmHead_.as<S>(), names::lmHead(), V, H, H);
    }
    layers_.resize(spec_.numLayers);
    for (int i = 0; i < spec_.numLayers; ++i) {
      LayerWeights& L = layers_[i];
      alloc(L.inputNorm, H * 4);
      up.vector(L.inputNorm.as<float>(), names::layer(i, "input_layernorm.weight"), H, 1.f);
      alloc(L.postNorm, H * 4);
      up.vector(L.postNorm.as<float>(), names::layer(i, "post_attention_layernorm.weight"), H, 1.f);
      if (spec_.qkNorm) {
        alloc(L.qNorm, hd * 4);
        up.vector(L.qNorm.as<float>(), names::layer(i, "self_attn.q_norm.weight"), hd, 1.f);
        alloc(L.kNorm, hd * 4);
        up.vector(L.kNorm.as<float>(), names::layer(i, "self_attn.k_norm.weight"), hd, 1.f);
      }
      // q, k, v fused into one [qDim + 2 kvDim, H] matrix: one GEMM per layer for the projections
      alloc(L.qkv, (qDim + 2 * kvDim) * H * sizeof(S));
      S* qkv = L.qkv.as<S>();
      up.matrix(qkv, names::layer(i, "self_attn.q_proj.weight"), qDim, H, H);
      up.matrix(qkv + qDim * H, names::layer(i, "self_attn.k_proj.weight"), kvDim, H, H);
      up.matrix(qkv + (qDim + kvDim) * H, names::layer(i, "self_attn.v_proj.weight"), kvDim, H, H);
      if (spec_.attentionBias) {
        alloc(L.qkvBias, (qDim + 2 * kvDim) * 4);
        float* bias = L.qkvBias.as<float>();
        up.vector(bias, names::layer(i, "self_attn.q_proj.bias"), qDim, 0.f);
        up.vector(bias + qDim, names::layer(i, "self_attn.k_proj.bias"), kvDim, 0.f);
        up.vector(bias + qDim + kvDim, names::layer(i, "self_attn.v_proj.bias"), kvDim, 0.f);
      }
      alloc(L.o, H * qDim * sizeof(S));
      up.matrix(L.o.as<S>(), names::layer(i, "self_attn.o_proj.weight"), H, qDim, qDim);
      // gate and up fused: [2I, H], gate rows first (SiLU-and-mul reads them in that order)
      alloc(L.gateUp, 2 * I * H * sizeof(S));
      up.matrix(L.gateUp.as<S>(), names::layer(i, "mlp.gate_proj.weight"), I, H, H);
      up.matrix(L.gateUp.as<S>() + I * H, names::layer(i, "mlp.up_proj.weight"), I, H, H);
      alloc(L.down, H * I * sizeof(S));
      up.matrix(L.down.as<S>(), names::layer(i, "mlp.down_proj.weight"), H, I, I);
    }
    std::vector<double> inv = ropeInvFreq(spec_);
    std::vector<float> invF(inv.begin(), inv.end());
    invFreq_.ensure(invF.size() * 4);
    CUDA_CHECK(cudaMemcpy(invFreq_.as<float>(), invF.data(), invF.size() * 4, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaStreamSynchronize(stream_));
  }

  void allocateCache() {
    const size_t bytes = layerCacheElems() * spec_.numLayers * sizeof(C);
    kCache_ = DeviceBuffer(bytes);
    vCache_ = DeviceBuffer(bytes);
    CUDA_CHECK(cudaMemset(kCache_.as<void>(), 0, bytes));
    CUDA_CHECK(cudaMemset(vCache_.as<void>(), 0, bytes));
    CUDA_CHECK(cudaDeviceSynchronize());  // the memsets ran on the legacy stream, forward uses stream_
  }

  void ensureActivations(int T, int R) {
    const size_t H = spec_.hiddenSize, I = spec_.intermediateSize, hd = spec_.headDim;
    const size_t qkvDim = (spec_.numHeads + 2 * spec_.numKvHeads) * hd;
    // Captured graphs hold these addresses: any reallocation invalidates them.
    bool grew = false;
    auto grow = [&](DeviceBuffer& buf, size_t bytes) {
      if (bytes > buf.bytes()) grew = true;
      buf.ensure(bytes);
    };
    grow(x_, T * H * 4);
    grow(delta_, T * H * 4);
    grow(normed_, T * H * sizeof(S));
    grow(qkv_, T * qkvDim * 4);
    grow(attn_, T * spec_.numHeads * hd * sizeof(S));
    grow(gu_, T * 2 * I * 4);
    grow(act_, T * I * sizeof(S));
    const size_t gemvT = std::min<size_t>(T, kGemvMaxTokens);  // decode-sized steps' fp32 GEMV inputs
    grow(normedF_, gemvT * H * 4);
    grow(actF_, gemvT * I * 4);
    grow(attnF_, gemvT * spec_.numHeads * hd * 4);
    grow(logits_, std::max<size_t>(1, R) * spec_.vocabSize * 4);
    if (grew) clearGraphs();
  }

  // All per-step int32 metadata in one host buffer → one host-to-device copy. Layout: tokens[T] positions[T]
  // slots[T] tokenRow[T] logitRows[R] blockTables[rows * tableStride] (rows padded with -1 up to the stride), then
  // the attention plan's lists: prefill tiles[2 * numTiles] decodeTokens[...] (both empty in graph steps).
  // Decode padding rows (b.numRows <= r < d.rows) are inert: token 0 at position 0, its K/V written to the scratch
  // block (padBlock) which is also its whole context, so they compute finite values that touch no real row (every
  // kernel is row-local) and their logits are neither copied nor sampled. Graph replays read graphMeta_, whose
  // address their capture holds; eager steps read meta_, free to grow. Returns the device copy.
  const int32_t* uploadMetadata(const ForwardBatch& b, const StepDims& d, bool graph) {
    const int T = d.T, R = d.R, rows = d.rows, realT = b.numTokens, realR = b.numLogitTokens;
    const size_t nTables = 4 * (size_t)T + R + (size_t)rows * d.tableStride;
    const size_t n = nTables + plan_.tiles.size() + plan_.decodeTokens.size();
    hostMeta_.assign(n, -1);
    int32_t* h = hostMeta_.data();
    std::memcpy(h, b.tokenIds, realT * 4);
    std::memcpy(h + T, b.positions, realT * 4);
    std::memcpy(h + 2 * T, b.slotMapping, realT * 4);
    for (int r = 0; r < b.numRows; ++r)
      for (int t = b.queryStartLoc[r]; t < b.queryStartLoc[r + 1]; ++t) h[3 * T + t] = r;
    int32_t* p = h + 4 * T;
    std::memcpy(p, b.logitTokenIndices, realR * 4);
    p += R;
    for (int r = 0; r < b.numRows; ++r)
      std::memcpy(p + (size_t)r * d.tableStride, b.blockTables + (size_t)r * b.maxBlocksPerRow, b.maxBlocksPerRow * 4);
    for (int r = b.numRows; r < rows; ++r) {  // padding rows (decode: token r is row r)
      h[r] = 0;
      h[T + r] = 0;
      h[2 * T + r] = padBlock() * opts_.blockSize;
      h[3 * T + r] = r;
      h[4 * T + r] = r;
      p[(size_t)r * d.tableStride] = padBlock();
    }
    std::copy(plan_.tiles.begin(), plan_.tiles.end(), h + nTables);
    std::copy(plan_.decodeTokens.begin(), plan_.decodeTokens.end(), h + nTables + plan_.tiles.size());
    DeviceBuffer& buf = graph ? graphMeta_ : meta_;
    if (graph)
      ensureGraphMeta(n);
    else
      meta_.ensure(std::max(n, (size_t)kMaxGraphTokens * (5 + 1024)) * 4);  // headroom: growing frees (a device sync)
    CUDA_CHECK(cudaMemcpyAsync(buf.as<int32_t>(), h, n * 4, cudaMemcpyHostToDevice, stream_));
    return buf.as<int32_t>();
  }
  /** graphMeta_ of at least n ints; growing it drops the graphs that hold the old address */
  void ensureGraphMeta(size_t n) {
    if (n * 4 <= graphMeta_.bytes()) return;
    clearGraphs();
    // without a start-up capture, at least what exact-size graphs up to stride 1024 need, so few steps grow it
    graphMeta_.ensure(std::max(n, (size_t)kMaxGraphTokens * (5 + 1024)) * 4);
  }

  static constexpr int kMaxGraphTokens = 256;

  ModelSpec spec_;
  CudaModelOptions opts_;
  const bool pdl_ = pdlFromEnv();
  cudaStream_t stream_ = nullptr;
  cudaEvent_t forwardDone_ = nullptr;  // recorded after enqueueForward's work (waitForwardDone)
  std::unique_ptr<LinearGemm> gemm_;
  size_t weightBytes_ = 0;
  DeviceBuffer embed_, finalNorm_, lmHead_, invFreq_;
  std::vector<LayerWeights> layers_;
  DeviceBuffer kCache_, vCache_;
  AttentionShape attnShape_{};
  AttentionPlan plan_;     // this step's attention plan (its lists are uploaded with the metadata)
  DeviceBuffer splitWs_;  // split-KV decode partials
  DeviceBuffer x_, delta_, normed_, qkv_, attn_, gu_, act_, logits_, meta_, graphMeta_;
  DeviceBuffer normedF_, actF_, attnF_;  // fp32 GEMV inputs of decode-sized steps (at most kGemvMaxTokens rows)
  std::vector<int32_t> hostMeta_;
  std::unique_ptr<GpuSampler> sampler_;  // created on the model's device at the first sampled step
  int pendingLogitRows_ = 0;              // logit rows of the forward enqueueForward left for sample()
  int lastLogitRows_ = 0;                 // logit rows the last forward wrote (reserveSampling samples them)
  size_t samplingBytes_ = 0, graphBytes_ = 0;  // measured by reserveSampling / captureDecodeGraphs
  bool graphStrideMax_ = false;                // SERVAL_GRAPH_STRIDE=max
  std::map<std::pair<int, int>, cudaGraphExec_t> graphs_;
};

static std::unique_ptr<CudaModelImpl> makeCudaModel(const ModelSpec& spec, const std::vector<TensorRef>& tensors,
                                                    const CudaModelOptions& opts) {
  if (opts.kvCacheDtype && *opts.kvCacheDtype != opts.dtype) {
    // the one mixed pair that is built (SERVAL_FOR_EACH_KV_PAIR): an fp16 cache under bf16 weights
    if (opts.dtype == DType::BF16 && *opts.kvCacheDtype == DType::F16)
      return std::make_unique<CudaModelOf<__nv_bfloat16, __half>>(spec, tensors, opts);
    throw std::invalid_argument(std::string("K/V cache dtype ") + dtypeName(*opts.kvCacheDtype) + " with dtype " +
                                dtypeName(opts.dtype) + " is not supported (a K/V cache type other than the dtype: "
                                "only float16 with bfloat16)");
  }
  switch (opts.dtype) {
    case DType::BF16: return std::make_unique<CudaModelOf<__nv_bfloat16>>(spec, tensors, opts);
    case DType::F16: return std::make_unique<CudaModelOf<__half>>(spec, tensors, opts);
    case DType::F32: return std::make_unique<CudaModelOf<float>>(spec, tensors, opts);
  }
  throw std::invalid_argument("CudaModel: unknown dtype");
}

CudaModel::CudaModel(const ModelSpec& spec, const std::vector<TensorRef>& tensors, const CudaModelOptions& opts)
    : impl_(makeCudaModel(spec, tensors, opts)) {}
CudaModel::~CudaModel() = default;
void CudaModel::forward(const ForwardBatch& b, float* logits) { impl_->forward(b, logits); }
void CudaModel::enqueueForward(const ForwardBatch& b) { impl_->enqueueForward(b); }
void CudaModel::waitForwardDone() { impl_->waitForwardDone(); }
void CudaModel::sample(const SampleRequest& req, SampleResult& out) { impl_->sample(req, out); }
void CudaModel::allocateKvCache(int numBlocks) { impl_->allocateKvCache(numBlocks); }
CudaMemoryReport CudaModel::memory() const { return impl_->memory(); }
CudaGraphCaptureReport CudaModel::captureDecodeGraphs() { return impl_->captureDecodeGraphs(); }
size_t CudaModel::reserveSampling(int rows, int penaltyIdsPerRow) { return impl_->reserveSampling(rows, penaltyIdsPerRow); }
const ModelSpec& CudaModel::spec() const { return impl_->spec(); }

}  // namespace serval
