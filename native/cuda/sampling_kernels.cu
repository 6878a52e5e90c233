// The GPU sampler's kernels. They reproduce src/runner/sampler.ts row by row: the masks (grammar bitmask, allowed /
// banned ids) are applied on the fly as -inf, logit bias and penalties are written into the row with the host's
// float/double rounding, probabilities are exp((w - max) / T) in double as on the host, and the min_p / top_k /
// top_p cut is the host's threshold (ties at the cut are kept), found by a radix select over the float logits (the
// probability is monotone in the logit, so order statistics carry over) instead of a sort. The draw uses the host's
// counter-based RNG bit for bit (sampler-rng.ts) and the same inverse CDF in token-id order, but the cumulative sum is
// taken in another order, so a draw that falls within rounding of a boundary may pick the neighbouring token: GPU
// draws are not guaranteed to equal the host's.
#include <cuda_runtime.h>

#include <cfloat>
#include <climits>
#include <cmath>
#include <cstdint>

#include "cuda/cuda_util.h"
#include "cuda/sampling_api.h"
#include "cuda/sampling_kernels.h"

namespace serval {

namespace {

constexpr int kThreads = 1024;
constexpr unsigned kFull = 0xffffffffu;
constexpr double kSamplingEps = 1e-5;  // the host sampler's greedy threshold (vLLM's _SAMPLING_EPS)
constexpr int kCountMask = 0x3fffffff;
constexpr int kInPromptBit = 0x40000000;

// ---- block reductions (blockDim.x a multiple of 32; every thread gets the result) ----

template <typename T, typename Op>
__device__ T blockReduce(T v, Op op, T identity) {
  __shared__ T part[32];
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(kFull, v, o));
  __syncthreads();  // part[] may still be read by the previous reduction
  if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = v;
  __syncthreads();
  v = (threadIdx.x & 31) < (blockDim.x >> 5) ? part[threadIdx.x & 31] : identity;
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(kFull, v, o));
  return v;
}
struct SumOp {
  template <typename T>
  __device__ T operator()(T a, T b) const { return a + b; }
};
struct MaxOp {
  template <typename T>
  __device__ T operator()(T a, T b) const { return a > b ? a : b; }
};
struct MinOp {
  template <typename T>
  __device__ T operator()(T a, T b) const { return a < b ? a : b; }
};

/** (value, id) ordered by value descending then id ascending; NaN never wins; INT_MAX id = nothing */
struct Best {
  float v;
  int id;
};
__device__ __forceinline__ bool beats(float v, int id, const Best& b) { return v > b.v || (v == b.v && id < b.id); }
__device__ Best blockBest(Best b) {
  __shared__ float pv[32];
  __shared__ int pi[32];
  for (int o = 16; o > 0; o >>= 1) {
    const float v = __shfl_xor_sync(kFull, b.v, o);
    const int id = __shfl_xor_sync(kFull, b.id, o);
    if (beats(v, id, b)) b = Best{v, id};
  }
  __syncthreads();
  if ((threadIdx.x & 31) == 0) {
    pv[threadIdx.x >> 5] = b.v;
    pi[threadIdx.x >> 5] = b.id;
  }
  __syncthreads();
  const int lane = threadIdx.x & 31;
  b = lane < (int)(blockDim.x >> 5) ? Best{pv[lane], pi[lane]} : Best{-INFINITY, INT_MAX};
  for (int o = 16; o > 0; o >>= 1) {
    const float v = __shfl_xor_sync(kFull, b.v, o);
    const int id = __shfl_xor_sync(kFull, b.id, o);
    if (beats(v, id, b)) b = Best{v, id};
  }
  return b;
}

/** exclusive prefix sum over the block (thread order) */
__device__ double blockExclusiveSum(double v) {
  __shared__ double warpTotals[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  double incl = v;
  for (int o = 1; o < 32; o <<= 1) {
    const double n = __shfl_up_sync(kFull, incl, o);
    if (lane >= o) incl += n;
  }
  __syncthreads();
  if (lane == 31) warpTotals[warp] = incl;
  __syncthreads();
  if (warp == 0) {
    double w = lane < (int)(blockDim.x >> 5) ? warpTotals[lane] : 0.0;
    for (int o = 1; o < 32; o <<= 1) {
      const double n = __shfl_up_sync(kFull, w, o);
      if (lane >= o) w += n;
    }
    warpTotals[lane] = w;  // inclusive over warps
  }
  __syncthreads();
  return (warp > 0 ? warpTotals[warp - 1] : 0.0) + incl - v;
}

// ---- the row as the host sampler sees it after masking ----

struct RowView {
  const float* row;
  const int32_t* grammar;  // null: no grammar mask
  const int32_t* list;     // null: no allowed/banned mask
  __device__ __forceinline__ float work(int t) const {
    if (grammar && ((grammar[t >> 5] >> (t & 31)) & 1) == 0) return -INFINITY;
    if (list && ((list[t >> 5] >> (t & 31)) & 1) == 0) return -INFINITY;
    return row[t];
  }
};

/** the host's unnormalized probability relative to the row max; 0 for masked (and NaN) tokens */
__device__ __forceinline__ double probOf(float w, float max, double invT) {
  return w > -INFINITY ? exp(((double)w - (double)max) * invT) : 0.0;
}

/** float → uint32 with the same order (finite and infinite values) */
__device__ __forceinline__ uint32_t orderedKey(float w) {
  const uint32_t u = __float_as_uint(w);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
__device__ __forceinline__ float keyToFloat(uint32_t k) {
  return __uint_as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k);
}

/**
 * The largest key K over the candidates (p > 0 and p >= floorP) such that the weight of candidates with key >= K
 * reaches `goal` (weight 1 per token: the goal-th largest; weight p: the top-p cut). Radix select, 8 bits a pass.
 */
__device__ uint32_t selectKey(const RowView& r, int V, float max, double invT, double floorP, bool weightIsProb,
                              double goal) {
  __shared__ double hist[256];
  __shared__ uint32_t chosenDigit;
  __shared__ double chosenAbove;
  uint32_t prefix = 0, prefixMask = 0;
  double above = 0;
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int i = threadIdx.x; i < 256; i += blockDim.x) hist[i] = 0;
    __syncthreads();
    for (int t = threadIdx.x; t < V; t += blockDim.x) {
      const float w = r.work(t);
      const double p = probOf(w, max, invT);
      if (!(p > 0 && p >= floorP)) continue;
      const uint32_t key = orderedKey(w);
      if ((key & prefixMask) != prefix) continue;
      atomicAdd(&hist[(key >> shift) & 255u], weightIsProb ? p : 1.0);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      double cum = above;
      int d = 255;
      for (; d > 0; --d) {
        if (cum + hist[d] >= goal) break;
        cum += hist[d];
      }
      chosenDigit = (uint32_t)d;
      chosenAbove = cum;
    }
    __syncthreads();
    prefix |= chosenDigit << shift;
    prefixMask |= 255u << shift;
    above = chosenAbove;
  }
  return prefix;
}

// the host RNG (src/runner/sampler-rng.ts), in uint32 arithmetic: same bits
__device__ __forceinline__ uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}
__device__ double counterUniform(uint32_t lo, uint32_t hi, uint32_t k) {
  const uint32_t h = mix32(mix32(mix32(lo ^ 0x9e3779b9u) ^ hi) ^ mix32(k + 0x632be5abu));
  const uint32_t a = mix32(h ^ 0x85ebca6bu) >> 5;
  const uint32_t b = mix32(h ^ 0xc2b2ae35u ^ mix32(k ^ lo)) >> 6;
  return ((double)a * 67108864.0 + (double)b) / 9007199254740992.0;
}

__device__ int greedyToken(const RowView& r, int V) {
  Best best{-INFINITY, INT_MAX};
  int any = 0;
  for (int t = threadIdx.x; t < V; t += blockDim.x) {
    const float w = r.work(t);
    if (w != -INFINITY) any = 1;
    if (w > best.v) best = Best{w, t};  // strided ascending ids: strict '>' keeps this thread's lowest id
  }
  any = __syncthreads_or(any);
  best = blockBest(best);
  if (!any) return -1;
  return best.id == INT_MAX ? 0 : best.id;  // allowed tokens that are all NaN: the host's argmax returns 0
}

__device__ int drawToken(const RowView& r, int V, const int32_t* ints, const double* fl) {
  float max = -INFINITY;
  int any = 0;
  for (int t = threadIdx.x; t < V; t += blockDim.x) {
    const float w = r.work(t);
    if (w != -INFINITY) any = 1;
    if (w > max) max = w;
  }
  any = __syncthreads_or(any);
  max = blockReduce(max, MaxOp(), -INFINITY);
  // nothing allowed: -1 as on the host; allowed but all NaN (the host throws for the whole batch): -1 for this row
  if (!any || max == -INFINITY) return -1;
  const double invT = 1.0 / fl[kRowTemperature];
  const double minP = fl[kRowMinP] > 0 ? fl[kRowMinP] : 0.0;
  const double topP = fl[kRowTopP] < 1 ? fl[kRowTopP] : 1.0;
  const int k = ints[kRowTopK] > 0 && ints[kRowTopK] < V ? ints[kRowTopK] : 0;
  double threshold = minP;
  if (k > 0 || topP < 1) {
    double mass = 0;
    int count = 0;
    for (int t = threadIdx.x; t < V; t += blockDim.x) {
      const double p = probOf(r.work(t), max, invT);
      if (p > 0 && p >= minP) {
        mass += p;
        ++count;
      }
    }
    mass = blockReduce(mass, SumOp(), 0.0);
    count = blockReduce(count, SumOp(), 0);
    double pk = 0;  // the top-k cut's probability (0: no cut)
    if (k > 0 && k < count) {
      pk = probOf(keyToFloat(selectKey(r, V, max, invT, minP, false, (double)k)), max, invT);
      // top_p's mass is that of exactly k tokens: those above the cut plus enough ties at it
      double above = 0;
      int nAbove = 0;
      for (int t = threadIdx.x; t < V; t += blockDim.x) {
        const double p = probOf(r.work(t), max, invT);
        if (p > pk && p >= minP) {
          above += p;
          ++nAbove;
        }
      }
      above = blockReduce(above, SumOp(), 0.0);
      nAbove = blockReduce(nAbove, SumOp(), 0);
      mass = above + (double)(k - nAbove) * pk;
      threshold = threshold > pk ? threshold : pk;
    }
    if (topP < 1) {
      const double cut = probOf(keyToFloat(selectKey(r, V, max, invT, threshold, true, topP * mass)), max, invT);
      threshold = threshold > cut ? threshold : cut;
    }
  }
  // inverse CDF in token-id order over the kept probabilities: each thread owns a contiguous chunk
  const int chunk = (V + blockDim.x - 1) / blockDim.x;
  const int begin = min(V, (int)threadIdx.x * chunk), end = min(V, begin + chunk);
  double local = 0;
  int last = -1;
  for (int t = begin; t < end; ++t) {
    const double p = probOf(r.work(t), max, invT);
    if (p > 0 && p >= threshold) {
      local += p;
      last = t;
    }
  }
  const double before = blockExclusiveSum(local);
  const double sum = blockReduce(local, SumOp(), 0.0);
  last = blockReduce(last, MaxOp(), -1);
  const double u = counterUniform((uint32_t)ints[kRowSeedLo], (uint32_t)ints[kRowSeedHi], (uint32_t)ints[kRowCounter]);
  double target = u * sum - before;
  int pick = INT_MAX;
  if (target < local || threadIdx.x == blockDim.x - 1) {
    for (int t = begin; t < end; ++t) {
      const double p = probOf(r.work(t), max, invT);
      if (!(p > 0 && p >= threshold)) continue;
      target -= p;
      if (target < 0) {
        pick = t;
        break;
      }
    }
  }
  pick = blockReduce(pick, MinOp(), INT_MAX);
  return pick != INT_MAX ? pick : last;
}

__device__ RowView rowView(const SampleRowsArgs& a, int r) {
  const int32_t* ints = a.rowInts + (size_t)r * kRowIntFields;
  const int g = ints[kRowGrammarMask], l = ints[kRowListMask];
  return RowView{a.logits + (size_t)r * a.V, g >= 0 ? a.grammarMasks + (size_t)g * a.words : nullptr,
                 l >= 0 ? a.listMasks + (size_t)l * a.words : nullptr};
}

__global__ void __launch_bounds__(kThreads) sampleRowsKernel(SampleRowsArgs a) {
  const int r = blockIdx.x;
  const int32_t* ints = a.rowInts + (size_t)r * kRowIntFields;
  const double* fl = a.rowFloats + (size_t)r * kRowFloatFields;
  const RowView view = rowView(a, r);
  const bool greedy = ints[kRowGreedy] != 0 || fl[kRowTemperature] < kSamplingEps;
  const int token = greedy ? greedyToken(view, a.V) : drawToken(view, a.V, ints, fl);
  if (threadIdx.x == 0) a.tokens[r] = token;
}

__global__ void applyLogitEditsKernel(SampleRowsArgs a) {
  const int r = blockIdx.x;
  const int32_t* ints = a.rowInts + (size_t)r * kRowIntFields;
  const double* fl = a.rowFloats + (size_t)r * kRowFloatFields;
  const int nBias = ints[kRowBiasCount], nPrompt = ints[kRowPromptCount], nOut = ints[kRowOutputCount];
  if (nBias == 0 && nPrompt + nOut == 0) return;
  const int V = a.V;
  float* row = const_cast<float*>(a.logits) + (size_t)r * V;
  const int rawRow = a.rowAux[2 * r + 1];
  if (rawRow >= 0) {  // logprobs are of the raw logits
    float* dst = a.rawCopy + (size_t)rawRow * V;
    for (int t = threadIdx.x; t < V; t += blockDim.x) dst[t] = row[t];
    __syncthreads();
  }
  // the host's order: bias, then repetition (prompt + output, once per distinct token), then presence/frequency
  const int32_t* biasIds = a.biasIds + ints[kRowBiasStart];
  const double* biasValues = a.biasValues + ints[kRowBiasStart];
  for (int j = threadIdx.x; j < nBias; j += blockDim.x) {
    const int t = biasIds[j];
    if (t >= 0 && t < V) row[t] = (float)((double)row[t] + biasValues[j]);
  }
  if (nPrompt + nOut == 0) return;
  __syncthreads();
  // scratch[t]: output count of t, plus a flag for prompt tokens; the one thread that swaps a non-zero entry back to
  // zero applies that token's penalties (exactly once per distinct token) and leaves the scratch clean
  int32_t* scratch = a.penaltyScratch + (size_t)a.rowAux[2 * r] * V;
  const int32_t* ids = a.penaltyIds + ints[kRowPenaltyStart];
  for (int j = threadIdx.x; j < nPrompt + nOut; j += blockDim.x) {
    const int t = ids[j];
    if (t < 0 || t >= V) continue;
    if (j < nPrompt)
      atomicOr(&scratch[t], kInPromptBit);
    else
      atomicAdd(&scratch[t], 1);
  }
  __syncthreads();
  const double rep = fl[kRowRepetition], presence = fl[kRowPresence], frequency = fl[kRowFrequency];
  for (int j = threadIdx.x; j < nPrompt + nOut; j += blockDim.x) {
    const int t = ids[j];
    if (t < 0 || t >= V) continue;
    const int v = atomicExch(&scratch[t], 0);
    if (v == 0) continue;
    float w = row[t];
    if (rep != 1) w = (float)(w > 0 ? (double)w / rep : (double)w * rep);
    const int c = v & kCountMask;
    if (c > 0 && (presence != 0 || frequency != 0)) w = (float)((double)w - (frequency * c + presence));
    row[t] = w;
  }
}

__global__ void __launch_bounds__(kThreads) rowLogprobsKernel(SampleRowsArgs a) {
  const int r = blockIdx.x;
  const int32_t* ints = a.rowInts + (size_t)r * kRowIntFields;
  const int n = ints[kRowNumLogprobs];
  const int token = a.tokens[r];
  if (n < 0 || token < 0) return;
  const int V = a.V;
  const int rawRow = a.rowAux[2 * r + 1];
  const float* row = rawRow >= 0 ? a.rawCopy + (size_t)rawRow * V : a.logits + (size_t)r * V;
  float max = -INFINITY;
  for (int t = threadIdx.x; t < V; t += blockDim.x)
    if (row[t] > max) max = row[t];
  max = blockReduce(max, MaxOp(), -INFINITY);
  double sum = 0;
  if (max != -INFINITY)
    for (int t = threadIdx.x; t < V; t += blockDim.x) sum += exp((double)row[t] - (double)max);
  sum = blockReduce(sum, SumOp(), 0.0);
  const double lse = max == -INFINITY ? -INFINITY : (double)max + log(sum);
  const float v = row[token];
  int above = 0;
  for (int t = threadIdx.x; t < V; t += blockDim.x) above += row[t] > v;
  above = blockReduce(above, SumOp(), 0);
  if (threadIdx.x == 0) {
    a.logprob[r] = (double)v - lse;
    a.ranks[r] = 1 + above;
  }
  // top n: n passes, each the best (value desc, id asc) strictly after the previous pick in that order
  Best prev{INFINITY, -1};
  bool first = true;
  for (int i = 0; i < n; ++i) {
    Best best{-INFINITY, INT_MAX};
    for (int t = threadIdx.x; t < V; t += blockDim.x) {
      const float x = row[t];
      const bool after = first || x < prev.v || (x == prev.v && t > prev.id);
      if (after && beats(x, t, best)) best = Best{x, t};
    }
    best = blockBest(best);
    if (threadIdx.x == 0) {
      a.topIds[(size_t)r * a.topN + i] = best.id == INT_MAX ? -1 : best.id;
      a.topLogprobs[(size_t)r * a.topN + i] = (double)best.v - lse;
    }
    if (best.id == INT_MAX) break;
    prev = best;
    first = false;
  }
}

}  // namespace

void launchApplyLogitEdits(const SampleRowsArgs& a, cudaStream_t s) {
  if (a.rows <= 0) return;
  applyLogitEditsKernel<<<a.rows, 256, 0, s>>>(a);
  CUDA_CHECK(cudaGetLastError());
}

void launchSampleRows(const SampleRowsArgs& a, cudaStream_t s) {
  if (a.rows <= 0) return;
  sampleRowsKernel<<<a.rows, kThreads, 0, s>>>(a);
  CUDA_CHECK(cudaGetLastError());
}

void launchRowLogprobs(const SampleRowsArgs& a, cudaStream_t s) {
  if (a.rows <= 0) return;
  rowLogprobsKernel<<<a.rows, kThreads, 0, s>>>(a);
  CUDA_CHECK(cudaGetLastError());
}

}  // namespace serval
