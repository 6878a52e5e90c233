// GPU check and timing of the decode-sized GEMV kernels (kernels_gemv.cu) against the kernel they replace (the
// persistent-grid skinny GEMM of commit 70fcaaa, copied by bundle-for-device.sh to build/gpu/skinny_gemm_before.cu),
// in Qwen2.5 shapes, no Node needed. Built and run on the GPU machine by device-run.sh.
// (1) Equality on random data: the new kernel (every split) vs the old one; the fused QKV+RoPE+KV-write and
//     gate/up+SiLU epilogues vs the old GEMV followed by the separate kernels.
// (2) Bandwidth ceilings: device-to-device copy (read + write) and a read-only streaming kernel.
// (3) Per-matrix time (CUDA-graph replays, weights rotated over > L2-sized pools) for each split and x type.
// (4) Batch-1 decode attention at short contexts: the legacy kernel (what the dispatch runs below 512 keys) vs the
//     split-KV decode kernel with small partitions, per layer.
// (5) Whole decode step minus the host: 28 layers (distinct weights) + LM head, batch 1, context 64, replayed as one
//     CUDA graph — before (9 launches per layer, old GEMV) and after (7 launches, new GEMV, fp32 GEMV inputs) — and
//     the per-kernel split of one layer.
// Prints one JSON object per line; exits 1 when a check fails.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "cuda/attention_dispatch.h"
#include "cuda/cuda_util.h"
#include "cuda/kernels.h"

using namespace serval;
using bf16 = __nv_bfloat16;

namespace serval {
// the kernel before this change (build/gpu/skinny_gemm_before.cu)
void launchSkinnyGemm(const bf16* x, const bf16* w, const float* bias, float* y, int T, int N, int K, int numSms,
                      cudaStream_t s);
}

namespace {

int numSms = 0;
cudaStream_t stream;
bool failed = false;

template <class T>
T* dalloc(size_t n) {
  T* p = nullptr;
  CUDA_CHECK(cudaMalloc(&p, n * sizeof(T)));
  return p;
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
std::vector<float> toHost(const float* d, size_t n) {
  CUDA_CHECK(cudaStreamSynchronize(stream));
  std::vector<float> h(n);
  CUDA_CHECK(cudaMemcpy(h.data(), d, n * 4, cudaMemcpyDeviceToHost));
  return h;
}
std::vector<float> toHostBf16(const bf16* d, size_t n) {
  CUDA_CHECK(cudaStreamSynchronize(stream));
  std::vector<bf16> h(n);
  CUDA_CHECK(cudaMemcpy(h.data(), d, n * 2, cudaMemcpyDeviceToHost));
  std::vector<float> f(n);
  for (size_t i = 0; i < n; ++i) f[i] = __bfloat162float(h[i]);
  return f;
}
/** ||a - b|| / ||b|| */
double relErr(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i])) return INFINITY;
    num += (double)(a[i] - b[i]) * (a[i] - b[i]);
    den += (double)b[i] * b[i];
  }
  return std::sqrt(num / std::max(den, 1e-30));
}
void check(const std::string& name, double err, double tol) {
  const bool ok = err <= tol;
  if (!ok) failed = true;
  printf("{\"check\":\"%s\",\"relErr\":%.3g,\"tol\":%.1g,\"ok\":%s}\n", name.c_str(), err, tol, ok ? "true" : "false");
}

/** median ms of one replay of a graph capturing `body` `reps` times (per body call) */
double timeGraph(const std::function<void(int)>& body, int reps = 1, int replays = 30) {
  cudaGraph_t g;
  cudaGraphExec_t exec;
  CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
  for (int i = 0; i < reps; ++i) body(i);
  CUDA_CHECK(cudaStreamEndCapture(stream, &g));
  CUDA_CHECK(cudaGraphInstantiate(&exec, g, 0));
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
  CUDA_CHECK(cudaGraphExecDestroy(exec));
  CUDA_CHECK(cudaGraphDestroy(g));
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2] / reps;
}

__global__ void readKernel(const uint4* p, size_t n, unsigned* sink) {
  unsigned acc = 0;
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    const uint4 v = __ldcs(p + i);
    acc ^= v.x ^ v.y ^ v.z ^ v.w;
  }
  if (acc == 0x12345678u) *sink = acc;  // keeps the loads
}

void bandwidth() {
  const size_t bytes = 1ull << 30;
  char* a = dalloc<char>(bytes);
  char* b = dalloc<char>(bytes);
  unsigned* sink = dalloc<unsigned>(1);
  CUDA_CHECK(cudaMemset(a, 1, bytes));
  const double copyMs = timeGraph([&](int) { CUDA_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, stream)); }, 4, 10);
  const double readMs = timeGraph([&](int) { readKernel<<<numSms * 8, 256, 0, stream>>>(reinterpret_cast<const uint4*>(a), bytes / 16, sink); }, 4, 10);
  printf("{\"bandwidth\":{\"copyGBs\":%.1f,\"readGBs\":%.1f}}\n", 2.0 * bytes / copyMs / 1e6, bytes / readMs / 1e6);
  CUDA_CHECK(cudaFree(a));
  CUDA_CHECK(cudaFree(b));
  CUDA_CHECK(cudaFree(sink));
}

struct Shape {
  const char* name;
  int H, I, nh, nkv, hd, V, layers;
};

/** pools of weight copies so that timed replays read from HBM, not L2 */
int copiesFor(size_t bytes) { return (int)std::max<size_t>(2, (512ull << 20) / bytes + 1); }

void matrixTimings(const Shape& s) {
  struct M {
    const char* name;
    int N, K;
  };
  const int qkvDim = (s.nh + 2 * s.nkv) * s.hd;
  const M mats[] = {{"qkv", qkvDim, s.H}, {"o", s.H, s.nh * s.hd}, {"gateUp", 2 * s.I, s.H}, {"down", s.H, s.I},
                    {"lmHead", s.V, s.H}};
  for (const M& m : mats) {
    const size_t wn = (size_t)m.N * m.K;
    const int copies = copiesFor(wn * 2);
    bf16* w = dalloc<bf16>(wn * copies);
    fillBf16(w, wn * copies, 1.f / std::sqrt((float)m.K), 11);
    for (int T : {1, 4}) {
      bf16* xb = dalloc<bf16>((size_t)T * m.K);
      float* xf = dalloc<float>((size_t)T * m.K);
      fillBf16(xb, (size_t)T * m.K, 1.f, 5);
      launchBf16ToF32(xb, xf, (size_t)T * m.K, stream);
      float* yOld = dalloc<float>((size_t)T * m.N);
      float* yNew = dalloc<float>((size_t)T * m.N);
      launchSkinnyGemm(xb, w, nullptr, yOld, T, m.N, m.K, numSms, stream);
      const std::vector<float> ref = toHost(yOld, (size_t)T * m.N);
      const double oldMs = timeGraph([&](int i) { launchSkinnyGemm(xb, w + (i % copies) * wn, nullptr, yOld, T, m.N, m.K, numSms, stream); }, copies * 2);
      std::string row = std::string("{\"gemv\":\"") + s.name + " " + m.name + "\",\"T\":" + std::to_string(T) +
                        ",\"N\":" + std::to_string(m.N) + ",\"K\":" + std::to_string(m.K) +
                        ",\"MB\":" + std::to_string(wn * 2 / 1e6) + ",\"beforeUs\":" + std::to_string(oldMs * 1e3) +
                        ",\"chosenSplit\":" + std::to_string(gemvSplitFor(m.N, m.K, numSms));
      for (int split : {1, 2, 4, 8}) {
        poison(yNew, (size_t)T * m.N * 4);  // NaN poison: every output must be written
        launchGemvLinear(xb, w, nullptr, yNew, T, m.N, m.K, split, stream);
        check(std::string(s.name) + " " + m.name + " T=" + std::to_string(T) + " split " + std::to_string(split), relErr(toHost(yNew, (size_t)T * m.N), ref), 1e-5);
        const double bfMs = timeGraph([&](int i) { launchGemvLinear(xb, w + (i % copies) * wn, nullptr, yNew, T, m.N, m.K, split, stream); }, copies * 2);
        const double f32Ms = timeGraph([&](int i) { launchGemvLinear(xf, w + (i % copies) * wn, nullptr, yNew, T, m.N, m.K, split, stream); }, copies * 2);
        row += ",\"s" + std::to_string(split) + "Us\":" + std::to_string(bfMs * 1e3) + ",\"s" + std::to_string(split) +
               "F32xUs\":" + std::to_string(f32Ms * 1e3);
      }
      printf("%s}\n", row.c_str());
      CUDA_CHECK(cudaFree(xb));
      CUDA_CHECK(cudaFree(xf));
      CUDA_CHECK(cudaFree(yOld));
      CUDA_CHECK(cudaFree(yNew));
    }
    CUDA_CHECK(cudaFree(w));
  }
}

/** fused epilogues vs the old GEMV + separate kernels (T tokens, fp32 x rounded to bf16 for the old path) */
void fusedChecks(const Shape& s, int T) {
  const int H = s.H, I = s.I, nh = s.nh, nkv = s.nkv, hd = s.hd, qkvDim = (nh + 2 * nkv) * hd;
  const int slotsN = 64;
  float* xf = dalloc<float>((size_t)T * H);
  bf16* xb = dalloc<bf16>((size_t)T * H);
  fillBf16(xb, (size_t)T * H, 1.f, 3);
  launchBf16ToF32(xb, xf, (size_t)T * H, stream);  // same values in both types
  bf16* wq = dalloc<bf16>((size_t)qkvDim * H);
  fillBf16(wq, (size_t)qkvDim * H, 1.f / std::sqrt((float)H), 4);
  float* bias = dalloc<float>(qkvDim);
  fillF32(bias, qkvDim, 0.5f, 6);
  std::vector<float> inv(hd / 2);
  for (int i = 0; i < hd / 2; ++i) inv[i] = (float)std::pow(1e6, -2.0 * i / hd);
  float* dInv = dalloc<float>(hd / 2);
  CUDA_CHECK(cudaMemcpy(dInv, inv.data(), inv.size() * 4, cudaMemcpyHostToDevice));
  CUDA_CHECK(cudaStreamSynchronize(stream));
  std::vector<int32_t> pos(T), slot(T);
  for (int t = 0; t < T; ++t) pos[t] = 37 + 1000 * t, slot[t] = (t * 13 + 5) % slotsN;
  int32_t* dPos = dalloc<int32_t>(T);
  int32_t* dSlot = dalloc<int32_t>(T);
  CUDA_CHECK(cudaMemcpy(dPos, pos.data(), T * 4, cudaMemcpyHostToDevice));
  CUDA_CHECK(cudaMemcpy(dSlot, slot.data(), T * 4, cudaMemcpyHostToDevice));
  const size_t cacheN = (size_t)slotsN * nkv * hd;
  bf16 *kRef = dalloc<bf16>(cacheN), *vRef = dalloc<bf16>(cacheN), *kNew = dalloc<bf16>(cacheN), *vNew = dalloc<bf16>(cacheN);
  for (bf16* c : {kRef, vRef, kNew, vNew}) CUDA_CHECK(cudaMemsetAsync(c, 0, cacheN * 2, stream));
  float* qRef = dalloc<float>((size_t)T * qkvDim);
  float* qNew = dalloc<float>((size_t)T * qkvDim);
  launchSkinnyGemm(xb, wq, bias, qRef, T, qkvDim, H, numSms, stream);
  launchQkNormRopeKvWrite(qRef, nullptr, nullptr, dInv, dPos, dSlot, kRef, vRef, T, nh, nkv, hd, 1e-6f, stream);
  for (int split : {1, 4}) {
    poison(qNew, (size_t)T * qkvDim * 4);
    launchGemvQkvRopeKv(xf, wq, bias, qNew, dInv, dPos, dSlot, kNew, vNew, T, nh, nkv, hd, H, split, stream);
    const std::vector<float> a = toHost(qNew, (size_t)T * qkvDim), b = toHost(qRef, (size_t)T * qkvDim);
    std::vector<float> qa, qb;  // q parts only: k/v parts of qkv are not written by the fused kernel
    for (int t = 0; t < T; ++t)
      for (int i = 0; i < nh * hd; ++i) qa.push_back(a[(size_t)t * qkvDim + i]), qb.push_back(b[(size_t)t * qkvDim + i]);
    const std::string tag = std::string(s.name) + " T=" + std::to_string(T) + " split " + std::to_string(split);
    check("qkv+rope q " + tag, relErr(qa, qb), 1e-5);
    check("qkv+rope kCache " + tag, relErr(toHostBf16(kNew, cacheN), toHostBf16(kRef, cacheN)), 1e-2);
    check("qkv+rope vCache " + tag, relErr(toHostBf16(vNew, cacheN), toHostBf16(vRef, cacheN)), 1e-2);
  }
  bf16* wgu = dalloc<bf16>((size_t)2 * I * H);
  fillBf16(wgu, (size_t)2 * I * H, 1.f / std::sqrt((float)H), 8);
  float* gu = dalloc<float>((size_t)T * 2 * I);
  bf16* actRef = dalloc<bf16>((size_t)T * I);
  float* actNew = dalloc<float>((size_t)T * I);
  launchSkinnyGemm(xb, wgu, nullptr, gu, T, 2 * I, H, numSms, stream);
  launchSiluMul(gu, actRef, T, I, stream);
  for (int split : {1, 2}) {
    poison(actNew, (size_t)T * I * 4);
    launchGemvGateUpSilu(xf, wgu, actNew, T, I, H, split, stream);
    check(std::string("gateUp+silu ") + s.name + " T=" + std::to_string(T) + " split " + std::to_string(split),
          relErr(toHost(actNew, (size_t)T * I), toHostBf16(actRef, (size_t)T * I)), 1e-2);  // ref rounded to bf16
  }
  CUDA_CHECK(cudaDeviceSynchronize());
  for (void* p : std::initializer_list<void*>{xf, xb, wq, bias, dInv, dPos, dSlot, kRef, vRef, kNew, vNew, qRef, qNew, wgu, gu, actRef, actNew})
    CUDA_CHECK(cudaFree(p));
}

/** batch-1 decode attention per layer at short contexts: legacy kernel vs split-KV decode with small partitions */
void attentionDecode(const Shape& s) {
  const int nh = s.nh, nkv = s.nkv, hd = s.hd, blockSize = 16, maxCtx = 1024, L = s.layers;
  const int blocks = maxCtx / blockSize + 1;
  const size_t cacheN = (size_t)blocks * blockSize * nkv * hd;
  bf16 *kc = dalloc<bf16>(cacheN * L), *vc = dalloc<bf16>(cacheN * L), *out = dalloc<bf16>(nh * hd);
  float* qkv = dalloc<float>((nh + 2 * nkv) * hd);
  fillBf16(kc, cacheN * L, 1.f, 21), fillBf16(vc, cacheN * L, 1.f, 22), fillF32(qkv, (nh + 2 * nkv) * hd, 1.f, 23);
  const AttentionShape shape{nh, nkv, hd, blockSize, numSms, false};
  float* ws = dalloc<float>(splitKvWorkspaceFloats(shape));
  for (int ctx : {64, 256, 1024}) {
    std::vector<int32_t> meta = {ctx - 1, 0};  // position, tokenRow, then the block table
    for (int b = 0; b < blocks; ++b) meta.push_back(b);
    int32_t* dMeta = dalloc<int32_t>(meta.size());
    CUDA_CHECK(cudaMemcpy(dMeta, meta.data(), meta.size() * 4, cudaMemcpyHostToDevice));
    const AttentionArgs a{qkv, nullptr, nullptr, dMeta + 1, dMeta, dMeta + 2, blocks, nullptr, nullptr, ws, out, 1};
    auto layerArgs = [&](int l) {
      AttentionArgs b = a;
      b.kCache = kc + l * cacheN, b.vCache = vc + l * cacheN;
      return b;
    };
    std::string row = std::string("{\"attentionDecode\":\"") + s.name + "\",\"ctx\":" + std::to_string(ctx);
    const double legacyMs = timeGraph([&](int) {
      for (int l = 0; l < L; ++l)
        launchPagedAttention(qkv, kc + l * cacheN, vc + l * cacheN, nullptr, dMeta + 1, dMeta, dMeta + 2, blocks, blockSize, out, 1, nh, nkv, hd, stream);
    }, 1, 20) / L;
    row += ",\"legacyUs\":" + std::to_string(legacyMs * 1e3);
    std::vector<float> ref = toHostBf16(out, nh * hd);
    if (splitKvDecodeSupported(hd, nh / nkv)) {
      for (int part : {16, 32, 64, 128}) {
        const int splits = (ctx + part - 1) / part;
        if ((size_t)nh * splits * (hd + 2) > splitKvWorkspaceFloats(shape)) continue;
        poison(out, nh * hd * 2);
        launchSplitKvDecodeAttention(shape, layerArgs(L - 1), 1, splits, part, stream);
        check(std::string("split decode ") + s.name + " ctx " + std::to_string(ctx) + " partition " + std::to_string(part), relErr(toHostBf16(out, nh * hd), ref), 2e-2);
        const double ms = timeGraph([&](int) { for (int l = 0; l < L; ++l) launchSplitKvDecodeAttention(shape, layerArgs(l), 1, splits, part, stream); }, 1, 20) / L;
        row += ",\"split" + std::to_string(part) + "Us\":" + std::to_string(ms * 1e3);
      }
    }
    printf("%s}\n", row.c_str());
    CUDA_CHECK(cudaFree(dMeta));
  }
  for (void* p : std::initializer_list<void*>{kc, vc, out, qkv, ws}) CUDA_CHECK(cudaFree(p));
}

/** batch-1 decode step on the device only: all layers + final norm + LM head, before vs after, and one layer's split */
void decodeStep(const Shape& s) {
  const int H = s.H, I = s.I, nh = s.nh, nkv = s.nkv, hd = s.hd, qkvDim = (nh + 2 * nkv) * hd, L = s.layers;
  const int ctx = 64, blockSize = 16, blocks = 8;
  struct Layer {
    bf16 *qkv, *o, *gu, *down;
    float *n1, *n2, *bias;
  };
  std::vector<Layer> layers(L);
  for (int l = 0; l < L; ++l) {
    Layer& y = layers[l];
    y.qkv = dalloc<bf16>((size_t)qkvDim * H), y.o = dalloc<bf16>((size_t)H * nh * hd);
    y.gu = dalloc<bf16>((size_t)2 * I * H), y.down = dalloc<bf16>((size_t)H * I);
    y.n1 = dalloc<float>(H), y.n2 = dalloc<float>(H), y.bias = dalloc<float>(qkvDim);
    fillBf16(y.qkv, (size_t)qkvDim * H, 0.02f, 100 + l), fillBf16(y.o, (size_t)H * nh * hd, 0.02f, 200 + l);
    fillBf16(y.gu, (size_t)2 * I * H, 0.02f, 300 + l), fillBf16(y.down, (size_t)H * I, 0.02f, 400 + l);
    launchFillF32(y.n1, H, 1.f, stream), launchFillF32(y.n2, H, 1.f, stream), launchFillF32(y.bias, qkvDim, 0.01f, stream);
  }
  bf16* lm = dalloc<bf16>((size_t)s.V * H);
  fillBf16(lm, (size_t)s.V * H, 0.02f, 7);
  float* fn = dalloc<float>(H);
  launchFillF32(fn, H, 1.f, stream);
  const size_t cacheN = (size_t)blocks * blockSize * nkv * hd;
  bf16 *kc = dalloc<bf16>(cacheN * L), *vc = dalloc<bf16>(cacheN * L);
  fillBf16(kc, cacheN * L, 1.f, 9), fillBf16(vc, cacheN * L, 1.f, 10);
  float *x = dalloc<float>(H), *delta = dalloc<float>(H), *qkv = dalloc<float>(qkvDim), *gu = dalloc<float>(2 * I);
  float *normF = dalloc<float>(H), *actF = dalloc<float>(I), *logits = dalloc<float>(s.V);
  bf16 *normB = dalloc<bf16>(H), *attn = dalloc<bf16>(nh * hd), *actB = dalloc<bf16>(I);
  fillF32(x, H, 1.f, 12), fillF32(delta, H, 0.1f, 13);
  std::vector<float> inv(hd / 2, 0.01f);
  float* dInv = dalloc<float>(hd / 2);
  CUDA_CHECK(cudaMemcpy(dInv, inv.data(), inv.size() * 4, cudaMemcpyHostToDevice));
  std::vector<int32_t> meta = {ctx, ctx, 0, 0, 1, 2, 3, 4, 5, 6, 7};  // position, slot, tokenRow, block table
  int32_t* dMeta = dalloc<int32_t>(meta.size());
  CUDA_CHECK(cudaMemcpy(dMeta, meta.data(), meta.size() * 4, cudaMemcpyHostToDevice));
  const int32_t *dPos = dMeta, *dSlot = dMeta + 1, *dRow = dMeta + 2, *dTable = dMeta + 3;
  auto sp = [&](int N, int K) { return gemvSplitFor(N, K, numSms); };
  // one layer's launches, by kernel, for the split
  using Step = std::function<void(int)>;
  std::vector<std::pair<const char*, Step>> before = {
      {"addRmsNorm", [&](int l) { launchAddRmsNorm(x, delta, layers[l].n1, normB, nullptr, 1, H, 1e-6f, stream); }},
      {"qkvGemv", [&](int l) { launchSkinnyGemm(normB, layers[l].qkv, layers[l].bias, qkv, 1, qkvDim, H, numSms, stream); }},
      {"ropeKvWrite", [&](int l) { launchQkNormRopeKvWrite(qkv, nullptr, nullptr, dInv, dPos, dSlot, kc + l * cacheN, vc + l * cacheN, 1, nh, nkv, hd, 1e-6f, stream); }},
      {"attention", [&](int l) { launchPagedAttention(qkv, kc + l * cacheN, vc + l * cacheN, nullptr, dRow, dPos, dTable, blocks, blockSize, attn, 1, nh, nkv, hd, stream); }},
      {"oGemv", [&](int l) { launchSkinnyGemm(attn, layers[l].o, nullptr, delta, 1, H, nh * hd, numSms, stream); }},
      {"addRmsNorm2", [&](int l) { launchAddRmsNorm(x, delta, layers[l].n2, normB, nullptr, 1, H, 1e-6f, stream); }},
      {"gateUpGemv", [&](int l) { launchSkinnyGemm(normB, layers[l].gu, nullptr, gu, 1, 2 * I, H, numSms, stream); }},
      {"siluMul", [&](int) { launchSiluMul(gu, actB, 1, I, stream); }},
      {"downGemv", [&](int l) { launchSkinnyGemm(actB, layers[l].down, nullptr, delta, 1, H, I, numSms, stream); }},
  };
  std::vector<std::pair<const char*, Step>> after = {
      {"addRmsNorm", [&](int l) { launchAddRmsNorm(x, delta, layers[l].n1, normF, nullptr, 1, H, 1e-6f, stream); }},
      {"qkvRopeGemv", [&](int l) { launchGemvQkvRopeKv(normF, layers[l].qkv, layers[l].bias, qkv, dInv, dPos, dSlot, kc + l * cacheN, vc + l * cacheN, 1, nh, nkv, hd, H, sp(qkvDim, H), stream); }},
      {"attention", [&](int l) { launchPagedAttention(qkv, kc + l * cacheN, vc + l * cacheN, nullptr, dRow, dPos, dTable, blocks, blockSize, attn, 1, nh, nkv, hd, stream); }},
      {"oGemv", [&](int l) { launchGemvLinear(attn, layers[l].o, nullptr, delta, 1, H, nh * hd, sp(H, nh * hd), stream); }},
      {"addRmsNorm2", [&](int l) { launchAddRmsNorm(x, delta, layers[l].n2, normF, nullptr, 1, H, 1e-6f, stream); }},
      {"gateUpSiluGemv", [&](int l) { launchGemvGateUpSilu(normF, layers[l].gu, actF, 1, I, H, sp(2 * I, H), stream); }},
      {"downGemv", [&](int l) { launchGemvLinear(actF, layers[l].down, nullptr, delta, 1, H, I, sp(H, I), stream); }},
  };
  auto lmBefore = [&]() {
    launchAddRmsNorm(x, delta, fn, normB, nullptr, 1, H, 1e-6f, stream);
    launchSkinnyGemm(normB, lm, nullptr, logits, 1, s.V, H, numSms, stream);
  };
  auto lmAfter = [&]() {
    launchAddRmsNorm(x, delta, fn, normF, nullptr, 1, H, 1e-6f, stream);
    launchGemvLinear(normF, lm, nullptr, logits, 1, s.V, H, sp(s.V, H), stream);
  };
  for (int v = 0; v < 2; ++v) {
    auto& steps = v == 0 ? before : after;
    const double stepMs = timeGraph([&](int) {
      for (int l = 0; l < L; ++l)
        for (auto& st : steps) st.second(l);
      (v == 0 ? std::function<void()>(lmBefore) : std::function<void()>(lmAfter))();
    }, 1, 20);
    // per kernel: the same kernel over all layers (distinct weights), per layer
    std::string split;
    for (auto& st : steps) {
      const double ms = timeGraph([&](int) { for (int l = 0; l < L; ++l) st.second(l); }, 1, 10) / L;
      split += std::string(split.empty() ? "" : ",") + "\"" + st.first + "\":" + std::to_string(ms * 1e3);
    }
    const double lmMs = timeGraph([&](int) { (v == 0 ? std::function<void()>(lmBefore) : std::function<void()>(lmAfter))(); }, 1, 10);
    printf("{\"decodeStep\":\"%s\",\"version\":\"%s\",\"deviceMsPerToken\":%.4f,\"lmHeadUs\":%.2f,\"perLayerUs\":{%s}}\n", s.name,
           v == 0 ? "before" : "after", stepMs, lmMs * 1e3, split.c_str());
  }
  CUDA_CHECK(cudaDeviceSynchronize());
  for (Layer& y : layers)
    for (void* p : std::initializer_list<void*>{y.qkv, y.o, y.gu, y.down, y.n1, y.n2, y.bias}) CUDA_CHECK(cudaFree(p));
  for (void* p : std::initializer_list<void*>{lm, fn, kc, vc, x, delta, qkv, gu, normF, actF, logits, normB, attn, actB, dInv, dMeta})
    CUDA_CHECK(cudaFree(p));
}

}  // namespace

int main(int argc, char** argv) {
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  CUDA_CHECK(cudaDeviceGetAttribute(&numSms, cudaDevAttrMultiProcessorCount, 0));
  cudaDeviceProp prop;
  CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  printf("{\"device\":\"%s\",\"sms\":%d,\"l2MB\":%.1f}\n", prop.name, numSms, prop.l2CacheSize / 1e6);
  const Shape shapes[] = {{"Qwen2.5-7B", 3584, 18944, 28, 4, 128, 152064, 28},
                          {"Qwen2.5-0.5B", 896, 4864, 14, 2, 64, 151936, 24},
                          {"Qwen2.5-14B", 5120, 13824, 40, 8, 128, 152064, 48}};
  const std::string only = argc > 1 ? argv[1] : "";
  bandwidth();
  for (const Shape& s : shapes) {
    if (!only.empty() && only != s.name) continue;
    for (int T : {1, 3, 8}) fusedChecks(s, T);
    matrixTimings(s);
    attentionDecode(s);
    decodeStep(s);
  }
  printf("{\"gemvCheck\":\"%s\"}\n", failed ? "FAILED" : "ok");
  return failed ? 1 : 0;
}
