// GPU check and timing of the attention kernels in isolation (no Node needed). Built and run on the GPU machine by
// device-run.sh:  nvcc -std=c++17 -O3 -arch=sm_90 -I native bench/native/attention-check.cu native/cuda/attention_*.cu
//                 native/cuda/kernels_attention.cu -o /tmp/attention-check && /tmp/attention-check
// (1) Equality: on random variable-length paged batches (shuffled block tables, cached context, prefill chunks and
//     decode rows mixed, several head shapes) the dispatched kernels (flash prefill, tensor-core GQA decode, split-KV
//     decode, each decode kernel also forced) must equal the legacy CUDA-core kernel run on every token, within bf16
//     tolerance. (2) Timing on the Qwen2.5-7B attention shape, including the decode grid: rows {1..256} x contexts
//     {128..4096}, legacy vs CUDA-core split-KV vs tensor-core GQA decode.
// Prints one JSON object per line; exits 1 when a check fails.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "cuda/attention_dispatch.h"
#include "cuda/cuda_util.h"
#include "cuda/kernels.h"

using namespace serval;
using bf16 = __nv_bfloat16;

namespace {

struct RowSpec {
  int cached;   // KV positions already in the cache before this step
  int queries;  // tokens of this step (1 = decode)
};

/** One step's inputs on the device, built from row specs with random Q, K/V and a shuffled block table. */
struct Case {
  AttentionShape shape;
  int T = 0, rows = 0, tableStride = 0;
  std::vector<int32_t> positions, queryStart, blockTables;
  float* qkv = nullptr;
  bf16 *kc = nullptr, *vc = nullptr, *outRef = nullptr, *outNew = nullptr;
  int32_t *dPositions = nullptr, *dTokenRow = nullptr, *dTables = nullptr, *dLists = nullptr;
  float* ws = nullptr;

  Case(const AttentionShape& s, const std::vector<RowSpec>& specs, uint32_t seed) : shape(s) {
    std::mt19937 rng(seed);
    rows = (int)specs.size();
    int maxBlocks = 0, totalBlocks = 0;
    queryStart.push_back(0);
    std::vector<int32_t> tokenRow;
    for (int r = 0; r < rows; ++r) {
      const int len = specs[r].cached + specs[r].queries;
      const int nb = (len + s.blockSize - 1) / s.blockSize;
      maxBlocks = std::max(maxBlocks, nb);
      totalBlocks += nb;
      for (int i = 0; i < specs[r].queries; ++i) {
        positions.push_back(specs[r].cached + i);
        tokenRow.push_back(r);
      }
      queryStart.push_back((int)positions.size());
    }
    T = (int)positions.size();
    tableStride = maxBlocks;
    std::vector<int32_t> perm(totalBlocks);
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    blockTables.assign((size_t)rows * tableStride, -1);
    int next = 0;
    for (int r = 0; r < rows; ++r) {
      const int nb = (specs[r].cached + specs[r].queries + s.blockSize - 1) / s.blockSize;
      for (int i = 0; i < nb; ++i) blockTables[(size_t)r * tableStride + i] = perm[next++];
    }
    const int nh = s.numHeads, nkv = s.numKvHeads, hd = s.headDim;
    const size_t qkvN = (size_t)T * (nh + 2 * nkv) * hd, cacheN = (size_t)totalBlocks * s.blockSize * nkv * hd;
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    std::vector<float> hq(qkvN);
    for (auto& v : hq) v = 2.f * u(rng);  // scores of a few units: peaked but not one-hot softmax
    // K/V: uniform in [-1, 1) from xorshift (the timing cases hold ~1e9 values: mt19937 took seconds)
    std::vector<bf16> hk(cacheN), hv(cacheN);
    uint32_t x = seed * 2654435761u + 1;
    auto uniform = [&x] {
      x ^= x << 13, x ^= x >> 17, x ^= x << 5;
      return (float)(x >> 8) * (2.f / 16777216.f) - 1.f;
    };
    for (size_t i = 0; i < cacheN; ++i) hk[i] = __float2bfloat16(uniform()), hv[i] = __float2bfloat16(uniform());
    CUDA_CHECK(cudaMalloc(&qkv, qkvN * 4));
    CUDA_CHECK(cudaMalloc(&kc, cacheN * 2));
    CUDA_CHECK(cudaMalloc(&vc, cacheN * 2));
    CUDA_CHECK(cudaMalloc(&outRef, (size_t)T * nh * hd * 2));
    CUDA_CHECK(cudaMalloc(&outNew, (size_t)T * nh * hd * 2));
    CUDA_CHECK(cudaMalloc(&dPositions, T * 4));
    CUDA_CHECK(cudaMalloc(&dTokenRow, T * 4));
    CUDA_CHECK(cudaMalloc(&dTables, blockTables.size() * 4));
    CUDA_CHECK(cudaMalloc(&dLists, (size_t)(3 * T + 16) * 4));
    CUDA_CHECK(cudaMalloc(&ws, splitKvWorkspaceFloats(s) * 4));
    CUDA_CHECK(cudaMemcpy(qkv, hq.data(), qkvN * 4, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(kc, hk.data(), cacheN * 2, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(vc, hv.data(), cacheN * 2, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(dPositions, positions.data(), T * 4, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(dTokenRow, tokenRow.data(), T * 4, cudaMemcpyHostToDevice));
    CUDA_CHECK(cudaMemcpy(dTables, blockTables.data(), blockTables.size() * 4, cudaMemcpyHostToDevice));
  }
  ~Case() {
    for (void* p : {(void*)qkv, (void*)kc, (void*)vc, (void*)outRef, (void*)outNew, (void*)dPositions,
                    (void*)dTokenRow, (void*)dTables, (void*)dLists, (void*)ws})
      cudaFree(p);
  }

  ForwardBatch batch() const {
    ForwardBatch b;
    b.numTokens = T;
    b.positions = positions.data();
    b.numRows = rows;
    b.queryStartLoc = queryStart.data();
    b.blockTables = blockTables.data();
    b.maxBlocksPerRow = tableStride;
    return b;
  }

  /** uploads the plan's lists and returns the launch arguments writing to `out` (the first `tokens` tokens: all when
   *  -1; a decode-only case's prefix is a smaller batch of the same rows) */
  AttentionArgs args(const AttentionPlan& p, bf16* out, int tokens = -1) {
    std::vector<int32_t> lists(p.tiles);
    lists.insert(lists.end(), p.decodeTokens.begin(), p.decodeTokens.end());
    if (!lists.empty()) CUDA_CHECK(cudaMemcpy(dLists, lists.data(), lists.size() * 4, cudaMemcpyHostToDevice));
    return AttentionArgs{qkv, kc, vc, dTokenRow, dPositions, dTables, tableStride, dLists, dLists + p.tiles.size(),
                         ws, out, tokens < 0 ? T : tokens};
  }

  void runLegacy(bf16* out) {
    launchPagedAttention(qkv, kc, vc, nullptr, dTokenRow, dPositions, dTables, tableStride, shape.blockSize, out, T,
                         shape.numHeads, shape.numKvHeads, shape.headDim, 0);
  }
};

std::string planName(const AttentionPlan& p) {
  if (p.legacyAll) return "legacy";
  std::string s;
  if (p.numTiles()) s += "flash(" + std::to_string(p.numTiles()) + " tiles)";
  if (p.numDecode) {
    s += s.empty() ? "" : "+";
    if (!p.decodeSplitKernel)
      s += "legacy-decode";
    else
      s += std::string(p.decodeTensorCore ? "gqa-tc" : "splitkv") + "(" + std::to_string(p.decodeSplits) + "x" +
           (p.decodeSplits > 1 ? std::to_string(p.decodePartition) : std::string("all")) + ")";
    if (!p.decodeIsAllTokens) s += "[list]";
  }
  return s;
}

int failures = 0;

/** legacy kernel on all tokens vs the given plan; max |diff| over all outputs must stay within tol */
void compare(const char* name, Case& c, const AttentionPlan& plan, float tol) {
  c.runLegacy(c.outRef);
  CUDA_CHECK(cudaMemset(c.outNew, 0xff, (size_t)c.T * c.shape.numHeads * c.shape.headDim * 2));  // NaN: catches gaps
  launchAttention(plan, c.shape, c.args(plan, c.outNew), 0);
  CUDA_CHECK(cudaDeviceSynchronize());
  const size_t n = (size_t)c.T * c.shape.numHeads * c.shape.headDim;
  std::vector<bf16> a(n), b(n);
  CUDA_CHECK(cudaMemcpy(a.data(), c.outRef, n * 2, cudaMemcpyDeviceToHost));
  CUDA_CHECK(cudaMemcpy(b.data(), c.outNew, n * 2, cudaMemcpyDeviceToHost));
  double maxDiff = 0, sumDiff = 0, maxRef = 0;
  for (size_t i = 0; i < n; ++i) {
    const double x = __bfloat162float(a[i]), y = __bfloat162float(b[i]);
    const double d = std::isfinite(y) ? std::fabs(x - y) : INFINITY;
    maxDiff = std::max(maxDiff, d);
    sumDiff += std::isfinite(d) ? d : 0;
    maxRef = std::max(maxRef, std::fabs(x));
  }
  const bool ok = maxDiff <= tol;
  if (!ok) ++failures;
  printf("{\"check\":\"%s\",\"hd\":%d,\"nh\":%d,\"nkv\":%d,\"T\":%d,\"plan\":\"%s\",\"maxAbsDiff\":%.5f,"
         "\"meanAbsDiff\":%.6f,\"maxAbsRef\":%.4f,\"tol\":%.3f,\"ok\":%s}\n",
         name, c.shape.headDim, c.shape.numHeads, c.shape.numKvHeads, c.T, planName(plan).c_str(), maxDiff,
         sumDiff / n, maxRef, tol, ok ? "true" : "false");
  fflush(stdout);
}

float timeMs(const std::function<void()>& f, int iters) {
  f();
  CUDA_CHECK(cudaDeviceSynchronize());
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  cudaEventRecord(a);
  for (int i = 0; i < iters; ++i) f();
  cudaEventRecord(b);
  CUDA_CHECK(cudaEventSynchronize(b));
  float ms = 0;
  cudaEventElapsedTime(&ms, a, b);
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return ms / iters;
}

void timing(const char* name, const AttentionShape& s, const std::vector<RowSpec>& specs) {
  Case c(s, specs, 7);
  const AttentionPlan plan = planAttention(c.batch(), s);
  const AttentionArgs args = c.args(plan, c.outNew);
  const float legacy = timeMs([&] { c.runLegacy(c.outRef); }, 5);
  const float fresh = timeMs([&] { launchAttention(plan, s, args, 0); }, 20);
  printf("{\"timing\":\"%s\",\"T\":%d,\"plan\":\"%s\",\"legacyMsPerLayer\":%.4f,\"newMsPerLayer\":%.4f,"
         "\"speedup\":%.2f}\n",
         name, c.T, planName(plan).c_str(), legacy, fresh, legacy / fresh);
  fflush(stdout);
}

/** decode attention per layer at R rows x ctx keys each (graph plans at maxContext = ctx, as a decode graph of a
 *  power-of-two block-table stride has): the legacy kernel, the CUDA-core split-KV plan (main's plan before the GQA
 *  kernel) and the tensor-core GQA plan; bandwidth counts the K/V bytes read once per (token, KV head). */
void decodeGrid(const AttentionShape& s, int ctx, const std::vector<int>& rowCounts) {
  const int maxRows = *std::max_element(rowCounts.begin(), rowCounts.end());
  Case c(s, std::vector<RowSpec>(maxRows, RowSpec{ctx - 1, 1}), 11 + ctx);
  for (int R : rowCounts) {
    const AttentionPlan core = planDecodeGraph(R, ctx, s, DecodeKernel::SplitKvCudaCore);
    const AttentionPlan gqa = planDecodeGraph(R, ctx, s, DecodeKernel::GqaTensorCore);
    const AttentionPlan autoPlan = planDecodeGraph(R, ctx, s);
    const AttentionArgs coreArgs = c.args(core, c.outRef, R), gqaArgs = c.args(gqa, c.outNew, R);
    const int iters = R * ctx > 200000 ? 10 : 40;
    const float legacy = timeMs([&] {
      launchPagedAttention(c.qkv, c.kc, c.vc, nullptr, c.dTokenRow, c.dPositions, c.dTables, c.tableStride,
                           s.blockSize, c.outRef, R, s.numHeads, s.numKvHeads, s.headDim, 0);
    }, iters);
    const float coreMs = timeMs([&] { launchAttention(core, s, coreArgs, 0); }, iters);
    const float gqaMs = timeMs([&] { launchAttention(gqa, s, gqaArgs, 0); }, iters);
    const double kvGB = (double)R * ctx * s.numKvHeads * s.headDim * 2 * sizeof(bf16) / 1e9;
    printf("{\"decodeGrid\":\"7B\",\"rows\":%d,\"ctx\":%d,\"legacyMs\":%.4f,\"splitKvMs\":%.4f,\"splitKvPlan\":\"%s\","
           "\"gqaMs\":%.4f,\"gqaPlan\":\"%s\",\"autoPlan\":\"%s\",\"splitKvGBs\":%.0f,\"gqaGBs\":%.0f,"
           "\"speedupVsSplitKv\":%.2f}\n",
           R, ctx, legacy, coreMs, planName(core).c_str(), gqaMs, planName(gqa).c_str(), planName(autoPlan).c_str(),
           kvGB / (coreMs * 1e-3), kvGB / (gqaMs * 1e-3), coreMs / gqaMs);
    fflush(stdout);
  }
}

}  // namespace

int main() {
  int numSms = 0;
  CUDA_CHECK(cudaDeviceGetAttribute(&numSms, cudaDevAttrMultiProcessorCount, 0));
  cudaDeviceProp prop;
  CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  printf("{\"device\":\"%s\",\"sms\":%d}\n", prop.name, numSms);
  const float tol = 2e-2f;  // bf16 output (one ulp at 1.0 is 7.8e-3) plus bf16 rounding of q and of P in the new kernels

  struct Geo {
    int nh, nkv, hd;
  };
  for (Geo g : {Geo{28, 4, 128}, Geo{8, 8, 64}, Geo{4, 2, 16}, Geo{4, 2, 32}, Geo{14, 2, 64}, Geo{16, 2, 256}}) {
    const AttentionShape s{g.nh, g.nkv, g.hd, 16, numSms, false};
    // prefill: fresh rows, cached prefixes, chunk lengths around the 64-token tile, plus decode rows (mixed step)
    std::vector<RowSpec> mixed = {{0, 1}, {0, 7}, {5, 64}, {100, 65}, {0, 200}, {37, 1}, {700, 130}, {1500, 1}, {3, 2}};
    {
      Case c(s, mixed, 1 + g.hd);
      compare("mixed-prefill-decode", c, planAttention(c.batch(), s), tol);
    }
    // one long prompt, and a chunk continuing a long prefix
    {
      Case c(s, {{0, 1000}, {2000, 300}}, 2 + g.hd);
      compare("long-prefill", c, planAttention(c.batch(), s), tol);
    }
    // decode only, long contexts: split-KV (batch 1 and 8), and the graph plan sized for a larger context
    for (int batch : {1, 8}) {
      std::vector<RowSpec> rows;
      for (int r = 0; r < batch; ++r) rows.push_back({600 + 1371 * r, 1});
      Case c(s, rows, 3 + batch);
      compare("decode-long", c, planAttention(c.batch(), s), tol);
      compare("decode-graph-plan", c, planDecodeGraph(c.T, 16384 * 2, s), tol);
    }
    // decode only at the batch sizes of the wave cliffs, each decode kernel forced (the GQA one where supported)
    for (int batch : {1, 3, 64, 66, 133}) {
      std::vector<RowSpec> rows;
      for (int r = 0; r < batch; ++r) rows.push_back({(37 * r * r + 11 * r) % 1500, 1});  // contexts 1..1500
      Case c(s, rows, 5 + batch);
      compare("decode-mixed-ctx", c, planAttention(c.batch(), s), tol);
      for (int ctx : {1536, 4096}) compare("decode-mixed-ctx-graph-plan", c, planDecodeGraph(c.T, ctx, s), tol);
      if (splitKvDecodeSupported(g.hd, g.nh / g.nkv))
        compare("decode-splitkv-forced", c, planDecodeGraph(c.T, 2048, s, DecodeKernel::SplitKvCudaCore), tol);
      if (gqaDecodeSupported(g.hd, g.nh / g.nkv, s.storage))
        compare("decode-gqa-forced", c, planDecodeGraph(c.T, 2048, s, DecodeKernel::GqaTensorCore), tol);
    }
    // decode rows next to a prefill chunk: split-KV through a token list
    {
      Case c(s, {{3000, 1}, {0, 90}, {5000, 1}}, 4);
      compare("decode-list-with-prefill", c, planAttention(c.batch(), s), tol);
    }
  }

  // timing on the Qwen2.5-7B attention shape (per layer; the model has 28 layers)
  const AttentionShape s7{28, 4, 128, 16, numSms, false};
  timing("prefill-1x512", s7, {{0, 512}});
  timing("prefill-1x2048", s7, {{0, 2048}});
  timing("prefill-4x512", s7, {{0, 512}, {0, 512}, {0, 512}, {0, 512}});
  timing("prefill-chunk-512-after-3584", s7, {{3584, 512}});
  for (int ctx : {1024, 4096, 16384, 32768}) timing(("decode-b1-ctx" + std::to_string(ctx)).c_str(), s7, {{ctx - 1, 1}});
  {
    std::vector<RowSpec> rows(16, RowSpec{4095, 1});
    timing("decode-b16-ctx4096", s7, rows);
  }
  for (int ctx : {128, 512, 2048, 4096}) decodeGrid(s7, ctx, {1, 8, 64, 66, 128, 133, 256});
  printf("{\"failures\":%d}\n", failures);
  return failures ? 1 : 0;
}
