// GPU check and timing of the decode-step kernels of this tree against the base commit's (its kernels_gemv.cu,
// kernels_elementwise.cu and attention_split_decode.cu compiled into namespace serval::base by decode-bundle.sh), in
// Qwen2.5 shapes, no Node needed. Built and run on the GPU machine by decode-device-run.sh.
// (1) Kernel equality on fresh random data, NaN-poisoned outputs: every GEMV epilogue and split, T = 1/3/8, the
//     residual-add + RMSNorm, split-KV decode attention — this tree's kernels launched with programmatic dependent
//     launch (PDL, pdl.h) after a kernel that writes their input, vs the base kernels. Bit-identical expected.
// (2) Bandwidth ceilings: device-to-device copy (read + write) and a read-only streaming kernel.
// (3) The whole decode step on the device, as CudaModel's decode layers issue it (embedding gather, per layer: norm,
//     QKV+RoPE+KV GEMV, split-KV attention planned as for a graph, o GEMV, norm, gate/up+SiLU GEMV, down GEMV; final
//     norm, LM head), distinct weights per layer, replayed as one CUDA graph: base kernels vs this tree with PDL off
//     and on. Every variant's logits, K/V cache and residual stream must equal the base's bit for bit, also when
//     launched eagerly.
// Prints one JSON object per line; exits 1 when a check fails.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "cuda/attention_dispatch.h"
#include "cuda/cuda_util.h"
#include "cuda/kernels.h"
#include "cuda/pdl.h"

using namespace serval;
using bf16 = __nv_bfloat16;

namespace serval::base {  // the base commit's launchers (build/gpu/base-kernels/*.cu)
template <class Out>
void launchAddRmsNorm(float* x, const float* delta, const float* w, Out* out, const int32_t* rows, int numOut, int H,
                      float eps, cudaStream_t s);
template <class X, class S>
void launchGemvLinear(const X* x, const S* w, const float* bias, float* y, int T, int N, int K, int split,
                      cudaStream_t s);
template <class S>
void launchGemvGateUpSilu(const float* x, const S* wGateUp, float* act, int T, int I, int K, int split, cudaStream_t s);
template <class S>
void launchGemvQkvRopeKv(const float* x, const S* wQkv, const float* bias, float* qkv, const float* invFreq,
                         const int32_t* positions, const int32_t* slots, S* kCache, S* vCache, int T, int nh, int nkv,
                         int hd, int K, int split, cudaStream_t s);
template <class S>
void launchSplitKvDecodeAttention(const AttentionShape& s, const AttentionArgsT<S>& a, int numDecode, int splits,
                                  int partition, cudaStream_t stream);
}  // namespace serval::base

namespace {

/** one set of decode-step launchers: the base commit's or this tree's */
struct Kernels {
  const char* name;
  void (*norm)(float*, const float*, const float*, float*, const int32_t*, int, int, float, cudaStream_t);
  void (*gemvF)(const float*, const bf16*, const float*, float*, int, int, int, int, cudaStream_t);
  void (*gemvB)(const bf16*, const bf16*, const float*, float*, int, int, int, int, cudaStream_t);
  void (*gateUp)(const float*, const bf16*, float*, int, int, int, int, cudaStream_t);
  void (*qkvRope)(const float*, const bf16*, const float*, float*, const float*, const int32_t*, const int32_t*, bf16*,
                  bf16*, int, int, int, int, int, int, cudaStream_t);
  void (*attention)(const AttentionShape&, const AttentionArgs&, int, int, int, cudaStream_t);
};
const Kernels kBase{"base",
                    base::launchAddRmsNorm<float>,
                    base::launchGemvLinear<float, bf16>,
                    base::launchGemvLinear<bf16, bf16>,
                    base::launchGemvGateUpSilu<bf16>,
                    base::launchGemvQkvRopeKv<bf16>,
                    base::launchSplitKvDecodeAttention<bf16>};
const Kernels kThis{"this",
                    serval::launchAddRmsNorm<float>,
                    serval::launchGemvLinear<float, bf16>,
                    serval::launchGemvLinear<bf16, bf16>,
                    serval::launchGemvGateUpSilu<bf16>,
                    serval::launchGemvQkvRopeKv<bf16>,
                    serval::launchSplitKvDecodeAttention<bf16>};

int numSms = 0;
cudaStream_t stream;
bool failed = false;

template <class T>
T* dalloc(size_t n) {
  T* p = nullptr;
  CUDA_CHECK(cudaMalloc(&p, std::max<size_t>(n, 1) * sizeof(T)));
  return p;
}
void dfree(std::initializer_list<void*> ps) {
  CUDA_CHECK(cudaDeviceSynchronize());
  for (void* p : ps) CUDA_CHECK(cudaFree(p));
}

void fillBf16(bf16* p, size_t n, float scale, uint64_t seed) { launchFillUniformBf16(p, n, scale, seed, stream); }
void fillF32(float* p, size_t n, float scale, uint64_t seed) {
  bf16* tmp = dalloc<bf16>(n);
  fillBf16(tmp, n, scale, seed);
  launchBf16ToF32(tmp, p, n, stream);
  CUDA_CHECK(cudaStreamSynchronize(stream));
  CUDA_CHECK(cudaFree(tmp));
}
// everything runs on `stream` (non-blocking: not ordered with the legacy stream), so copies and memsets go there too
void poison(void* p, size_t bytes) { CUDA_CHECK(cudaMemsetAsync(p, 0xff, bytes, stream)); }
template <class T>
std::vector<T> toHost(const T* d, size_t n) {
  CUDA_CHECK(cudaStreamSynchronize(stream));
  std::vector<T> h(n);
  CUDA_CHECK(cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost));
  return h;
}
void upload(int32_t* d, const std::vector<int32_t>& h) {
  CUDA_CHECK(cudaMemcpyAsync(d, h.data(), h.size() * 4, cudaMemcpyHostToDevice, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
}
/** elements whose bits differ (NaN counts as different) */
template <class T>
size_t bitDiffs(const std::vector<T>& a, const std::vector<T>& b) {
  size_t n = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    float fa, fb;
    if constexpr (sizeof(T) == 4) fa = a[i], fb = b[i];
    else fa = __bfloat162float(a[i]), fb = __bfloat162float(b[i]);
    if (std::memcmp(&a[i], &b[i], sizeof(T)) != 0 || std::isnan(fa) || std::isnan(fb)) ++n;
  }
  return n;
}
void check(const std::string& name, size_t diffs, size_t n) {
  const bool ok = diffs == 0 && n > 0;
  if (!ok) failed = true;
  printf("{\"check\":\"%s\",\"elements\":%zu,\"bitDiffs\":%zu,\"ok\":%s}\n", name.c_str(), n, diffs, ok ? "true" : "false");
}
template <class T>
void checkEqual(const std::string& name, const T* got, const T* want, size_t n) {
  check(name, bitDiffs(toHost(got, n), toHost(want, n)), n);
}

std::vector<float> graphReplayMs(cudaGraphExec_t exec, int replays) {
  cudaEvent_t a, b;
  CUDA_CHECK(cudaEventCreate(&a));
  CUDA_CHECK(cudaEventCreate(&b));
  for (int i = 0; i < 3; ++i) CUDA_CHECK(cudaGraphLaunch(exec, stream));
  std::vector<float> ms;
  for (int i = 0; i < replays; ++i) {
    CUDA_CHECK(cudaEventRecord(a, stream));
    CUDA_CHECK(cudaGraphLaunch(exec, stream));
    CUDA_CHECK(cudaEventRecord(b, stream));
    CUDA_CHECK(cudaEventSynchronize(b));
    float t;
    CUDA_CHECK(cudaEventElapsedTime(&t, a, b));
    ms.push_back(t);
  }
  CUDA_CHECK(cudaEventDestroy(a));
  CUDA_CHECK(cudaEventDestroy(b));
  std::sort(ms.begin(), ms.end());
  return ms;
}
cudaGraphExec_t capture(const std::function<void()>& body) {
  cudaGraph_t g;
  cudaGraphExec_t exec;
  CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  body();
  CUDA_CHECK(cudaStreamEndCapture(stream, &g));
  CUDA_CHECK(cudaGraphInstantiate(&exec, g, 0));
  CUDA_CHECK(cudaGraphDestroy(g));
  return exec;
}

__global__ void readKernel(const uint4* p, size_t n, unsigned* sink) {
  unsigned acc = 0;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    const uint4 v = __ldcs(p + i);
    acc ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  if (acc == 0x12345678u) *sink = acc;  // keeps the loads
}

double copyGBs = 0, readGBs = 0;
void bandwidth() {
  const size_t bytes = 1ull << 30;
  char* a = dalloc<char>(bytes);
  char* b = dalloc<char>(bytes);
  unsigned* sink = dalloc<unsigned>(1);
  CUDA_CHECK(cudaMemsetAsync(a, 1, bytes, stream));
  auto median = [&](const std::function<void()>& op) {
    cudaGraphExec_t e = capture([&] { for (int i = 0; i < 4; ++i) op(); });
    const std::vector<float> ms = graphReplayMs(e, 10);
    CUDA_CHECK(cudaGraphExecDestroy(e));
    return ms[ms.size() / 2] / 4;
  };
  copyGBs = 2.0 * bytes / median([&] { CUDA_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, stream)); }) / 1e6;
  readGBs = bytes / median([&] { readKernel<<<numSms * 8, 256, 0, stream>>>(reinterpret_cast<const uint4*>(a), bytes / 16, sink); }) / 1e6;
  printf("{\"bandwidth\":{\"copyGBs\":%.1f,\"readGBs\":%.1f}}\n", copyGBs, readGBs);
  dfree({a, b, sink});
}

struct Shape {
  const char* name;
  int H, I, nh, nkv, hd, V, layers;
  bool tied;
};
const Shape kShapes[] = {{"Qwen2.5-0.5B", 896, 4864, 14, 2, 64, 151936, 24, true},
                         {"Qwen2.5-1.5B", 1536, 8960, 12, 2, 128, 151936, 28, true},
                         {"Qwen2.5-7B", 3584, 18944, 28, 4, 128, 152064, 28, false},
                         {"Qwen2.5-14B", 5120, 13824, 40, 8, 128, 152064, 48, false}};

// ---- (1) kernel equality -----------------------------------------------------------------------------------------

__global__ void copyKernel(float* dst, const float* src, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) dst[i] = src[i];
}

/** x = float(xb) written by a plain kernel right before `op` (this tree's kernel under PDL), over a poisoned x */
void freshInput(float* xf, const bf16* xb, size_t n) {
  poison(xf, n * 4);
  launchBf16ToF32(xb, xf, n, stream);
}

void kernelChecks(const Shape& s, int T) {
  const int H = s.H, I = s.I, nh = s.nh, nkv = s.nkv, hd = s.hd, qkvDim = (nh + 2 * nkv) * hd;
  const std::string tag = std::string(s.name) + " T=" + std::to_string(T);
  const int maxK = std::max(I, H);
  bf16* xb = dalloc<bf16>((size_t)T * maxK);
  float* xf = dalloc<float>((size_t)T * maxK);
  fillBf16(xb, (size_t)T * maxK, 1.f, 3 + T);
  struct M {
    const char* name;
    int N, K;
  };
  const M mats[] = {{"qkv", qkvDim, H}, {"o", H, nh * hd}, {"down", H, I}};
  const size_t maxN = std::max<size_t>(qkvDim, 2 * (size_t)I);
  bf16* w = dalloc<bf16>(maxN * maxK);
  fillBf16(w, maxN * maxK, 1.f / std::sqrt((float)H), 4 + T);
  float* bias = dalloc<float>(maxN);
  fillF32(bias, maxN, 0.5f, 6);
  float* yRef = dalloc<float>(maxN * T);
  float* yNew = dalloc<float>(maxN * T);
  // QKV + RoPE + K/V cache write (checked below)
  const int slotsN = 64;
  std::vector<float> inv(hd / 2);
  for (int i = 0; i < hd / 2; ++i) inv[i] = (float)std::pow(1e6, -2.0 * i / hd);
  float* dInv = dalloc<float>(hd / 2);
  CUDA_CHECK(cudaMemcpyAsync(dInv, inv.data(), inv.size() * 4, cudaMemcpyHostToDevice, stream));
  std::vector<int32_t> meta;
  for (int t = 0; t < T; ++t) meta.push_back(37 + 1000 * t);          // positions
  for (int t = 0; t < T; ++t) meta.push_back((t * 13 + 5) % slotsN);  // slots
  int32_t* dMeta = dalloc<int32_t>(meta.size());
  upload(dMeta, meta);
  const size_t cacheN = (size_t)slotsN * nkv * hd;
  bf16 *kRef = dalloc<bf16>(cacheN), *vRef = dalloc<bf16>(cacheN), *kNew = dalloc<bf16>(cacheN), *vNew = dalloc<bf16>(cacheN);
  PdlScope pdl(true);
  for (const M& m : mats) {
    for (int split : {1, 2, 4, 8}) {
      launchBf16ToF32(xb, xf, (size_t)T * m.K, stream);
      poison(yRef, (size_t)T * m.N * 4);
      kBase.gemvF(xf, w, bias, yRef, T, m.N, m.K, split, stream);
      poison(yNew, (size_t)T * m.N * 4);
      freshInput(xf, xb, (size_t)T * m.K);
      kThis.gemvF(xf, w, bias, yNew, T, m.N, m.K, split, stream);
      checkEqual(std::string("gemv ") + m.name + " fp32 x " + tag + " split " + std::to_string(split), yNew, yRef, (size_t)T * m.N);
    }
    poison(yRef, (size_t)T * m.N * 4);
    kBase.gemvB(xb, w, nullptr, yRef, T, m.N, m.K, 1, stream);
    poison(yNew, (size_t)T * m.N * 4);
    kThis.gemvB(xb, w, nullptr, yNew, T, m.N, m.K, 1, stream);
    checkEqual(std::string("gemv ") + m.name + " bf16 x " + tag, yNew, yRef, (size_t)T * m.N);
  }
  for (int split : {1, 2, 4}) {  // gate/up + SiLU: w holds [Wg; Wu]
    launchBf16ToF32(xb, xf, (size_t)T * H, stream);
    poison(yRef, (size_t)T * I * 4);
    kBase.gateUp(xf, w, yRef, T, I, H, split, stream);
    poison(yNew, (size_t)T * I * 4);
    freshInput(xf, xb, (size_t)T * H);
    kThis.gateUp(xf, w, yNew, T, I, H, split, stream);
    checkEqual("gateUp+silu " + tag + " split " + std::to_string(split), yNew, yRef, (size_t)T * I);
  }
  for (int split : {1, 4}) {
    for (bf16* c : {kRef, vRef, kNew, vNew}) CUDA_CHECK(cudaMemsetAsync(c, 0, cacheN * 2, stream));
    launchBf16ToF32(xb, xf, (size_t)T * H, stream);
    poison(yRef, (size_t)T * qkvDim * 4);
    poison(yNew, (size_t)T * qkvDim * 4);
    kBase.qkvRope(xf, w, bias, yRef, dInv, dMeta, dMeta + T, kRef, vRef, T, nh, nkv, hd, H, split, stream);
    freshInput(xf, xb, (size_t)T * H);
    kThis.qkvRope(xf, w, bias, yNew, dInv, dMeta, dMeta + T, kNew, vNew, T, nh, nkv, hd, H, split, stream);
    const std::string sp = tag + " split " + std::to_string(split);
    std::vector<float> a = toHost(yNew, (size_t)T * qkvDim), b = toHost(yRef, (size_t)T * qkvDim), qa, qb;
    for (int t = 0; t < T; ++t)  // q parts only: the fused kernel does not write the k/v parts of qkv
      for (int i = 0; i < nh * hd; ++i) qa.push_back(a[(size_t)t * qkvDim + i]), qb.push_back(b[(size_t)t * qkvDim + i]);
    check("qkv+rope q " + sp, bitDiffs(qa, qb), qa.size());
    checkEqual("qkv+rope kCache " + sp, kNew, kRef, cacheN);
    checkEqual("qkv+rope vCache " + sp, vNew, vRef, cacheN);
  }
  // residual add + RMSNorm (x updated in place; fp32 out), then the row-list form (final norm)
  float *x0 = dalloc<float>((size_t)T * H), *delta = dalloc<float>((size_t)T * H), *nw = dalloc<float>(H);
  float *xRef = dalloc<float>((size_t)T * H), *xNew = dalloc<float>((size_t)T * H);
  fillF32(x0, (size_t)T * H, 1.f, 30), fillF32(delta, (size_t)T * H, 0.3f, 31), fillF32(nw, H, 1.f, 32);
  std::vector<int32_t> rows;
  for (int t = T - 1; t >= 0; --t) rows.push_back(t);
  int32_t* dRows = dalloc<int32_t>(T);
  upload(dRows, rows);
  for (bool list : {false, true}) {
    CUDA_CHECK(cudaMemcpyAsync(xRef, x0, (size_t)T * H * 4, cudaMemcpyDeviceToDevice, stream));
    poison(yRef, (size_t)T * H * 4);
    kBase.norm(xRef, delta, nw, yRef, list ? dRows : nullptr, T, H, 1e-6f, stream);
    poison(xNew, (size_t)T * H * 4);
    poison(yNew, (size_t)T * H * 4);
    copyKernel<<<64, 256, 0, stream>>>(xNew, x0, (size_t)T * H);  // the norm's predecessor writes its input
    CUDA_CHECK(cudaGetLastError());
    kThis.norm(xNew, delta, nw, yNew, list ? dRows : nullptr, T, H, 1e-6f, stream);
    const std::string nt = std::string(list ? "final norm (row list) " : "add+rmsnorm ") + tag;
    checkEqual(nt + " out", yNew, yRef, (size_t)T * H);
    checkEqual(nt + " x", xNew, xRef, (size_t)T * H);
  }
  dfree({xb, xf, w, bias, yRef, yNew, dInv, dMeta, kRef, vRef, kNew, vNew, x0, delta, nw, xRef, xNew, dRows});
}

/** split-KV decode attention, T one-token rows at contexts around ctx, vs the base kernel (fp32 and bf16 output) */
void attentionChecks(const Shape& s, int T, int ctx) {
  const int nh = s.nh, nkv = s.nkv, hd = s.hd, blockSize = 16, qkvDim = (nh + 2 * nkv) * hd;
  const int blocksPerRow = (ctx + 8 * T) / blockSize + 1, numBlocks = blocksPerRow * T;
  const size_t cacheN = (size_t)numBlocks * blockSize * nkv * hd;
  bf16 *kc = dalloc<bf16>(cacheN), *vc = dalloc<bf16>(cacheN);
  fillBf16(kc, cacheN, 1.f, 41), fillBf16(vc, cacheN, 1.f, 42);
  float* qkv = dalloc<float>((size_t)T * qkvDim);
  bf16* qb = dalloc<bf16>((size_t)T * qkvDim);
  fillBf16(qb, (size_t)T * qkvDim, 1.f, 43);
  std::vector<int32_t> meta;  // positions[T] tokenRow[T] tables[T * blocksPerRow] (rows' blocks interleaved)
  for (int t = 0; t < T; ++t) meta.push_back(ctx - 1 + 8 * t);
  for (int t = 0; t < T; ++t) meta.push_back(t);
  for (int t = 0; t < T; ++t)
    for (int b = 0; b < blocksPerRow; ++b) meta.push_back(b * T + t);
  int32_t* dMeta = dalloc<int32_t>(meta.size());
  upload(dMeta, meta);
  const AttentionShape shape{nh, nkv, hd, blockSize, numSms, false};
  float* ws = dalloc<float>(splitKvWorkspaceFloats(shape));
  float *outRef = dalloc<float>((size_t)T * nh * hd), *outNew = dalloc<float>((size_t)T * nh * hd);
  bf16 *outRefB = dalloc<bf16>((size_t)T * nh * hd), *outNewB = dalloc<bf16>((size_t)T * nh * hd);
  const AttentionPlan plan = planDecodeGraph(T, blocksPerRow * blockSize, shape);
  PdlScope pdl(true);
  for (int part : {16, 64, plan.decodePartition}) {
    const int splits = (blocksPerRow * blockSize + part - 1) / part;
    if ((size_t)T * nh * splits * (hd + 2) > splitKvWorkspaceFloats(shape)) continue;
    for (bool f32 : {true, false}) {
      AttentionArgs a{qkv, kc, vc, dMeta + T, dMeta, dMeta + 2 * T, blocksPerRow, nullptr, nullptr, ws,
                      f32 ? nullptr : outRefB, T, f32 ? outRef : nullptr};
      launchBf16ToF32(qb, qkv, (size_t)T * qkvDim, stream);
      poison(outRef, (size_t)T * nh * hd * 4), poison(outRefB, (size_t)T * nh * hd * 2);
      kBase.attention(shape, a, T, splits, part, stream);
      freshInput(qkv, qb, (size_t)T * qkvDim);
      a.out = f32 ? nullptr : outNewB, a.outF = f32 ? outNew : nullptr;
      poison(outNew, (size_t)T * nh * hd * 4), poison(outNewB, (size_t)T * nh * hd * 2);
      kThis.attention(shape, a, T, splits, part, stream);
      const std::string name = std::string("split decode ") + s.name + " T=" + std::to_string(T) + " ctx " +
                               std::to_string(ctx) + " partition " + std::to_string(part) + (f32 ? " fp32" : " bf16");
      if (f32)
        checkEqual(name, outNew, outRef, (size_t)T * nh * hd);
      else
        checkEqual(name, outNewB, outRefB, (size_t)T * nh * hd);
    }
  }
  dfree({kc, vc, qkv, qb, dMeta, ws, outRef, outNew, outRefB, outNewB});
}

// ---- (3) the decode step ---------------------------------------------------------------------------------------

struct StepBuffers {
  struct Layer {
    bf16 *qkv, *o, *gu, *down;
    float *n1, *n2, *bias;
  };
  std::vector<Layer> layers;
  bf16 *embed, *lm, *kc, *vc;
  float *fn, *inv, *x, *delta, *qkvOut, *normF, *actF, *attnF, *logits, *ws;
  int32_t* meta;  // tokens[T] positions[T] slots[T] tokenRow[T] tables[T * stride]
  size_t cacheN;
  int tableStride;
};

constexpr int kBlockSize = 16;

StepBuffers allocStep(const Shape& s, int T) {
  const int H = s.H, I = s.I, nh = s.nh, nkv = s.nkv, hd = s.hd, qkvDim = (nh + 2 * nkv) * hd;
  StepBuffers b;
  b.layers.resize(s.layers);
  for (int l = 0; l < s.layers; ++l) {
    auto& y = b.layers[l];
    y.qkv = dalloc<bf16>((size_t)qkvDim * H), y.o = dalloc<bf16>((size_t)H * nh * hd);
    y.gu = dalloc<bf16>((size_t)2 * I * H), y.down = dalloc<bf16>((size_t)H * I);
    y.n1 = dalloc<float>(H), y.n2 = dalloc<float>(H), y.bias = dalloc<float>(qkvDim);
    fillBf16(y.qkv, (size_t)qkvDim * H, 1.f / std::sqrt((float)H), 100 + l);
    fillBf16(y.o, (size_t)H * nh * hd, 1.f / std::sqrt((float)(nh * hd)), 200 + l);
    fillBf16(y.gu, (size_t)2 * I * H, 1.f / std::sqrt((float)H), 300 + l);
    fillBf16(y.down, (size_t)H * I, 1.f / std::sqrt((float)I), 400 + l);
    fillF32(y.n1, H, 1.f, 500 + l), fillF32(y.n2, H, 1.f, 600 + l), fillF32(y.bias, qkvDim, 0.1f, 700 + l);
  }
  b.embed = dalloc<bf16>((size_t)s.V * H);
  fillBf16(b.embed, (size_t)s.V * H, 1.f, 7);
  b.lm = b.embed;
  if (!s.tied) {
    b.lm = dalloc<bf16>((size_t)s.V * H);
    fillBf16(b.lm, (size_t)s.V * H, 1.f / std::sqrt((float)H), 8);
  }
  b.fn = dalloc<float>(H);
  fillF32(b.fn, H, 1.f, 9);
  std::vector<float> inv(hd / 2);
  for (int i = 0; i < hd / 2; ++i) inv[i] = (float)std::pow(1e6, -2.0 * i / hd);
  b.inv = dalloc<float>(hd / 2);
  CUDA_CHECK(cudaMemcpyAsync(b.inv, inv.data(), inv.size() * 4, cudaMemcpyHostToDevice, stream));
  // T rows at contexts 64 + 24 t; the table stride is what CudaModel pads a short table to (16 blocks), so the
  // attention plan is the graph plan of a short-context decode step
  b.tableStride = 16;
  const int numBlocks = T * b.tableStride;
  b.cacheN = (size_t)numBlocks * kBlockSize * nkv * hd;
  b.kc = dalloc<bf16>(b.cacheN * s.layers), b.vc = dalloc<bf16>(b.cacheN * s.layers);
  fillBf16(b.kc, b.cacheN * s.layers, 1.f, 10), fillBf16(b.vc, b.cacheN * s.layers, 1.f, 11);
  std::vector<int32_t> meta;
  for (int t = 0; t < T; ++t) meta.push_back((t * 7919 + 13) % s.V);
  for (int t = 0; t < T; ++t) meta.push_back(64 + 24 * t);
  for (int t = 0; t < T; ++t) meta.push_back((t * b.tableStride + (64 + 24 * t) / kBlockSize) * kBlockSize + (64 + 24 * t) % kBlockSize);
  for (int t = 0; t < T; ++t) meta.push_back(t);
  for (int t = 0; t < T; ++t)
    for (int k = 0; k < b.tableStride; ++k) meta.push_back(t * b.tableStride + k);
  b.meta = dalloc<int32_t>(meta.size());
  upload(b.meta, meta);
  b.x = dalloc<float>((size_t)T * H), b.delta = dalloc<float>((size_t)T * H), b.qkvOut = dalloc<float>((size_t)T * qkvDim);
  b.normF = dalloc<float>((size_t)T * H), b.actF = dalloc<float>((size_t)T * I), b.attnF = dalloc<float>((size_t)T * nh * hd);
  b.logits = dalloc<float>((size_t)T * s.V);
  b.ws = dalloc<float>(splitKvWorkspaceFloats(AttentionShape{nh, nkv, hd, kBlockSize, numSms, false}));
  CUDA_CHECK(cudaStreamSynchronize(stream));
  return b;
}

void freeStep(const Shape& s, StepBuffers& b) {
  CUDA_CHECK(cudaDeviceSynchronize());
  for (auto& y : b.layers) dfree({y.qkv, y.o, y.gu, y.down, y.n1, y.n2, y.bias});
  if (b.lm != b.embed) dfree({b.lm});
  dfree({b.embed, b.fn, b.inv, b.kc, b.vc, b.meta, b.x, b.delta, b.qkvOut, b.normF, b.actF, b.attnF, b.logits, b.ws});
}

/** CudaModel::enqueueForward's decode-sized step (Qwen2 layers: fused QKV+RoPE+KV) with one set of kernels */
void enqueueStep(const Shape& s, int T, StepBuffers& b, const Kernels& k) {
  const int H = s.H, I = s.I, nh = s.nh, nkv = s.nkv, hd = s.hd, qkvDim = (nh + 2 * nkv) * hd;
  const int32_t *tok = b.meta, *pos = b.meta + T, *slot = b.meta + 2 * T, *row = b.meta + 3 * T, *tab = b.meta + 4 * T;
  const AttentionShape shape{nh, nkv, hd, kBlockSize, numSms, false};
  const AttentionPlan plan = planDecodeGraph(T, b.tableStride * kBlockSize, shape);
  const int splitQkv = gemvSplitFor(qkvDim, H, numSms), splitO = gemvSplitFor(H, nh * hd, numSms);
  const int splitGu = gemvSplitFor(2 * I, H, numSms), splitDown = gemvSplitFor(H, I, numSms);
  launchEmbeddingGather(b.embed, tok, b.x, T, H, stream);
  for (int l = 0; l < s.layers; ++l) {
    const auto& y = b.layers[l];
    bf16 *kc = b.kc + l * b.cacheN, *vc = b.vc + l * b.cacheN;
    k.norm(b.x, l == 0 ? nullptr : b.delta, y.n1, b.normF, nullptr, T, H, 1e-6f, stream);
    k.qkvRope(b.normF, y.qkv, y.bias, b.qkvOut, b.inv, pos, slot, kc, vc, T, nh, nkv, hd, H, splitQkv, stream);
    k.attention(shape, AttentionArgs{b.qkvOut, kc, vc, row, pos, tab, b.tableStride, nullptr, nullptr, b.ws, nullptr, T, b.attnF},
                T, plan.decodeSplits, plan.decodePartition, stream);
    k.gemvF(b.attnF, y.o, nullptr, b.delta, T, H, nh * hd, splitO, stream);
    k.norm(b.x, b.delta, y.n2, b.normF, nullptr, T, H, 1e-6f, stream);
    k.gateUp(b.normF, y.gu, b.actF, T, I, H, splitGu, stream);
    k.gemvF(b.actF, y.down, nullptr, b.delta, T, H, I, splitDown, stream);
  }
  k.norm(b.x, b.delta, b.fn, b.normF, row, T, H, 1e-6f, stream);
  k.gemvF(b.normF, b.lm, nullptr, b.logits, T, s.V, H, gemvSplitFor(s.V, H, numSms), stream);
}

struct StepResult {
  std::vector<float> logits, x;
  std::vector<bf16> k, v;
};
StepResult stepOutputs(const Shape& s, int T, const StepBuffers& b) {
  return StepResult{toHost(b.logits, (size_t)T * s.V), toHost(b.x, (size_t)T * s.H), toHost(b.kc, b.cacheN * s.layers),
                    toHost(b.vc, b.cacheN * s.layers)};
}
void checkStep(const std::string& name, const StepResult& got, const StepResult& want) {
  const size_t n = got.logits.size() + got.x.size() + got.k.size() + got.v.size();
  check(name, bitDiffs(got.logits, want.logits) + bitDiffs(got.x, want.x) + bitDiffs(got.k, want.k) + bitDiffs(got.v, want.v), n);
}

void decodeStep(const Shape& s, int T) {
  StepBuffers b = allocStep(s, T);
  const double layerBytes = 2.0 * ((double)s.H * (s.nh + 2 * s.nkv) * s.hd + (double)s.nh * s.hd * s.H + 3.0 * s.H * s.I);
  const double readBytes = layerBytes * s.layers + 2.0 * s.V * s.H;
  struct Variant {
    std::string name;
    const Kernels* k;
    bool pdl;
  };
  const std::vector<Variant> variants = {{"base", &kBase, false}, {"thisPdlOff", &kThis, false}, {"thisPdl", &kThis, true}};
  // correctness: each variant's step (graph replay and eager) from the same state equals the base's bit for bit
  const std::string tag = std::string(s.name) + " T=" + std::to_string(T);
  StepResult want;
  std::string times;
  for (size_t i = 0; i < variants.size(); ++i) {
    const Variant& v = variants[i];
    PdlScope pdl(v.pdl);
    cudaGraphExec_t exec = capture([&] { enqueueStep(s, T, b, *v.k); });
    poison(b.logits, (size_t)T * s.V * 4);
    CUDA_CHECK(cudaGraphLaunch(exec, stream));
    StepResult got = stepOutputs(s, T, b);
    if (i == 0)
      want = std::move(got);
    else
      checkStep("decode step " + tag + " graph " + v.name + " vs base", got, want);
    if (v.pdl) {
      poison(b.logits, (size_t)T * s.V * 4);
      enqueueStep(s, T, b, *v.k);
      checkStep("decode step " + tag + " eager " + v.name + " vs base", stepOutputs(s, T, b), want);
    }
    const std::vector<float> ms = graphReplayMs(exec, 30);
    CUDA_CHECK(cudaGraphExecDestroy(exec));
    char buf[160];
    snprintf(buf, sizeof buf, "%s\"%s\":{\"median\":%.4f,\"p10\":%.4f,\"p90\":%.4f}", times.empty() ? "" : ",",
             v.name.c_str(), ms[ms.size() / 2], ms[ms.size() / 10], ms[ms.size() * 9 / 10]);
    times += buf;
  }
  printf("{\"decodeStep\":\"%s\",\"T\":%d,\"readGB\":%.3f,\"floorCopyMs\":%.4f,\"floorReadMs\":%.4f,\"deviceMsPerStep\":{%s}}\n",
         s.name, T, readBytes / 1e9, readBytes / copyGBs / 1e6, readBytes / readGBs / 1e6, times.c_str());
  fflush(stdout);
  freeStep(s, b);
}

}  // namespace

int main(int argc, char** argv) {
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  CUDA_CHECK(cudaDeviceGetAttribute(&numSms, cudaDevAttrMultiProcessorCount, 0));
  cudaDeviceProp prop;
  CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  printf("{\"device\":\"%s\",\"sms\":%d,\"l2MB\":%.1f,\"cc\":\"%d.%d\"}\n", prop.name, numSms, prop.l2CacheSize / 1e6,
         prop.major, prop.minor);
  const std::string only = argc > 1 ? argv[1] : "";
  bandwidth();
  for (const Shape& s : kShapes) {
    if (!only.empty() && only != s.name) continue;
    const bool seven = std::string(s.name) == "Qwen2.5-7B";
    if (seven || std::string(s.name) == "Qwen2.5-0.5B") {
      for (int T : {1, 3, 8}) kernelChecks(s, T);
      for (int T : {1, 3}) attentionChecks(s, T, 64), attentionChecks(s, T, 700);
    }
    decodeStep(s, 1);
    if (seven) decodeStep(s, 4);
  }
  printf("{\"gemvCheck\":\"%s\"}\n", failed ? "FAILED" : "ok");
  return failed ? 1 : 0;
}
