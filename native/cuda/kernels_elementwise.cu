// Row-wise and element-wise kernels: embedding, residual-add + RMSNorm, q/k norm + RoPE + KV write, SiLU-and-mul.
#include <cuda_fp16.h>

#include <algorithm>

#include "cuda/cuda_util.h"
#include "cuda/kernels.h"
#include "cuda/pdl.h"

namespace serval {

template <int BLOCK>
__device__ float blockSum(float v, float* scratch) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float total = 0.f;
  for (int i = 0; i < BLOCK / 32; ++i) total += scratch[i];
  __syncthreads();
  return total;
}

template <class S>
__global__ void embeddingGatherKernel(const S* table, const int32_t* ids, float* x, int H) {
  const int t = blockIdx.x;
  const S* row = table + (size_t)ids[t] * H;
  for (int i = threadIdx.x; i < H; i += blockDim.x) x[(size_t)t * H + i] = toFloat(row[i]);
}

template <class S>
void launchEmbeddingGather(const S* table, const int32_t* ids, float* x, int T, int H, cudaStream_t s) {
  if (T == 0) return;
  embeddingGatherKernel<<<T, 256, 0, s>>>(table, ids, x, H);
  CUDA_CHECK(cudaGetLastError());
}

constexpr int kNormBlock = 256;

template <class OutT>
__device__ __forceinline__ void storeAs(OutT* p, float v) { *p = fromFloat<OutT>(v); }

template <class OutT>
__global__ void addRmsNormKernel(float* x, const float* delta, const float* w, OutT* out, const int32_t* rows, int H,
                                 float eps) {
  __shared__ float scratch[kNormBlock / 32];
  // With a row list (final norm of the logit rows) a row may be listed twice (sampled token + prompt logits), so the
  // residual sum is recomputed instead of written back; without one, every row is visited once and updated in place.
  const bool writeBack = rows == nullptr;
  const int r = rows ? rows[blockIdx.x] : blockIdx.x;
  float* xr = x + (size_t)r * H;
  const float* dr = delta ? delta + (size_t)r * H : nullptr;
  float ss = 0.f;
  for (int i = threadIdx.x; i < H; i += kNormBlock) {
    float v = xr[i];
    if (dr) {
      v += dr[i];
      if (writeBack) xr[i] = v;
    }
    ss += v * v;
  }
  const float inv = rsqrtf(blockSum<kNormBlock>(ss, scratch) / H + eps);
  OutT* o = out + (size_t)blockIdx.x * H;
  for (int i = threadIdx.x; i < H; i += kNormBlock) {
    const float v = (dr && !writeBack) ? xr[i] + dr[i] : xr[i];
    storeAs(o + i, v * inv * w[i]);
  }
}

// The same norm with float4 accesses and the row held in registers: one pass over x and delta, one thread per 4
// elements (up to kVecNormMaxPerThread float4 each). A decode step has one row per token, so the scalar kernel above
// (256 threads striding over H with one-element loads) was latency-bound: ~6 us per norm for H = 3584 on an H200.
constexpr int kVecNormMaxPerThread = 4;
constexpr int kVecNormMaxThreads = 1024;

__device__ float blockSumDynamic(float v, float* scratch) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float total = 0.f;
  for (int i = 0; i < (int)(blockDim.x / 32); ++i) total += scratch[i];  // same order in every thread
  return total;
}

__device__ __forceinline__ void storeAs4(__nv_bfloat16* p, float4 v) {
  __nv_bfloat162* q = reinterpret_cast<__nv_bfloat162*>(p);
  q[0] = __floats2bfloat162_rn(v.x, v.y);
  q[1] = __floats2bfloat162_rn(v.z, v.w);
}
__device__ __forceinline__ void storeAs4(__half* p, float4 v) {
  __half2* q = reinterpret_cast<__half2*>(p);
  q[0] = __floats2half2_rn(v.x, v.y);
  q[1] = __floats2half2_rn(v.z, v.w);
}
__device__ __forceinline__ void storeAs4(float* p, float4 v) { *reinterpret_cast<float4*>(p) = v; }

template <class OutT>
__global__ void addRmsNormVecKernel(float* x, const float* delta, const float* w, OutT* out, const int32_t* rows, int H,
                                    float eps) {
  __shared__ float scratch[kVecNormMaxThreads / 32];
  // Under PDL (decode layers): a few blocks, so the next GEMV may launch at once and prefetch its weights while this
  // norm waits for the previous kernel and runs.
  pdlLaunchDependents();
  pdlWaitForPrevious();
  const bool writeBack = rows == nullptr;  // see addRmsNormKernel
  const int r = rows ? rows[blockIdx.x] : blockIdx.x;
  float4* xr = reinterpret_cast<float4*>(x + (size_t)r * H);
  const float4* dr = delta ? reinterpret_cast<const float4*>(delta + (size_t)r * H) : nullptr;
  const int n4 = H / 4;
  float4 v[kVecNormMaxPerThread];
  float ss = 0.f;
#pragma unroll
  for (int k = 0; k < kVecNormMaxPerThread; ++k) {
    const int i = threadIdx.x + k * blockDim.x;
    if (i >= n4) break;
    float4 a = xr[i];
    if (dr) {
      const float4 b = dr[i];
      a.x += b.x, a.y += b.y, a.z += b.z, a.w += b.w;
      if (writeBack) xr[i] = a;
    }
    v[k] = a;
    ss += a.x * a.x + a.y * a.y + a.z * a.z + a.w * a.w;
  }
  const float inv = rsqrtf(blockSumDynamic(ss, scratch) / H + eps);
  const float4* w4 = reinterpret_cast<const float4*>(w);
  OutT* o = out + (size_t)blockIdx.x * H;
#pragma unroll
  for (int k = 0; k < kVecNormMaxPerThread; ++k) {
    const int i = threadIdx.x + k * blockDim.x;
    if (i >= n4) break;
    const float4 g = w4[i];
    storeAs4(o + 4 * i, make_float4(v[k].x * inv * g.x, v[k].y * inv * g.y, v[k].z * inv * g.z, v[k].w * inv * g.w));
  }
}

template <class OutT>
void launchAddRmsNorm(float* x, const float* delta, const float* w, OutT* out, const int32_t* rows, int numOut, int H,
                       float eps, cudaStream_t s) {
  if (numOut == 0) return;
  const int n4 = H / 4;
  if (H % 4 == 0 && n4 <= kVecNormMaxPerThread * kVecNormMaxThreads) {
    // fewest threads that hold the row in kVecNormMaxPerThread float4 each, in whole warps
    const int perThread = (n4 + kVecNormMaxThreads - 1) / kVecNormMaxThreads;
    const int threads = std::max(32, ((n4 + perThread - 1) / perThread + 31) / 32 * 32);
    launchMaybePdl(addRmsNormVecKernel<OutT>, dim3(numOut), dim3(threads), 0, s, x, delta, w, out, rows, H, eps);
  } else {
    addRmsNormKernel<OutT><<<numOut, kNormBlock, 0, s>>>(x, delta, w, out, rows, H, eps);
  }
  CUDA_CHECK(cudaGetLastError());
}

// grid (T, nh + nkv), block = hd/2 rounded up to whole warps: thread i < hd/2 owns the rotate-half pair
// (i, i + hd/2) of one head; the rest only take part in the reduction.
template <class S>
__global__ void qkNormRopeKvWriteKernel(float* qkv, const float* qNormW, const float* kNormW, const float* invFreq,
                                        const int32_t* positions, const int32_t* slots, S* kCache, S* vCache, int nh,
                                        int nkv, int hd, float eps) {
  __shared__ float scratch[32];
  const int t = blockIdx.x, head = blockIdx.y, half = hd / 2, i = threadIdx.x;
  const bool active = i < half;
  const size_t rowStride = (size_t)(nh + 2 * nkv) * hd;
  const bool isQ = head < nh;
  float* v = qkv + t * rowStride + (size_t)head * hd;  // k heads follow the q heads in the fused projection
  float x1 = active ? v[i] : 0.f, x2 = active ? v[i + half] : 0.f;
  const float* normW = isQ ? qNormW : kNormW;
  if (normW) {
    float ss = x1 * x1 + x2 * x2;
    for (int o = 16; o > 0; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
    if (i % 32 == 0) scratch[i / 32] = ss;
    __syncthreads();
    float total = 0.f;
    for (int k = 0; k < (int)(blockDim.x / 32); ++k) total += scratch[k];
    const float inv = rsqrtf(total / hd + eps);
    if (active) {
      x1 = x1 * inv * normW[i];
      x2 = x2 * inv * normW[i + half];
    }
  }
  if (!active) return;
  float sn, cs;
  sincosf((float)positions[t] * invFreq[i], &sn, &cs);
  const float r1 = x1 * cs - x2 * sn, r2 = x2 * cs + x1 * sn;
  if (isQ) {
    v[i] = r1;
    v[i + half] = r2;
    return;
  }
  const int kvh = head - nh;
  const size_t dst = ((size_t)slots[t] * nkv + kvh) * hd;
  kCache[dst + i] = toKvCache<S>(r1);
  kCache[dst + i + half] = toKvCache<S>(r2);
  const float* vv = qkv + t * rowStride + (size_t)(nh + nkv + kvh) * hd;
  vCache[dst + i] = toKvCache<S>(vv[i]);
  vCache[dst + i + half] = toKvCache<S>(vv[i + half]);
}

template <class S>
void launchQkNormRopeKvWrite(float* qkv, const float* qNormW, const float* kNormW, const float* invFreq,
                             const int32_t* positions, const int32_t* slots, S* kCache, S* vCache, int T, int nh,
                             int nkv, int hd, float eps, cudaStream_t s) {
  if (T == 0) return;
  if (hd % 2 != 0 || hd > 2048) throw std::runtime_error("CUDA backend: headDim must be even and <= 2048");
  const int threads = ((hd / 2 + 31) / 32) * 32;
  dim3 grid(T, nh + nkv);
  qkNormRopeKvWriteKernel<S><<<grid, threads, 0, s>>>(qkv, qNormW, kNormW, invFreq, positions, slots, kCache, vCache, nh,
                                                   nkv, hd, eps);
  CUDA_CHECK(cudaGetLastError());
}

template <class S>
__global__ void siluMulKernel(const float* gu, S* out, int I, size_t n) {
  for (size_t idx = blockIdx.x * (size_t)blockDim.x + threadIdx.x; idx < n; idx += (size_t)gridDim.x * blockDim.x) {
    const size_t t = idx / I, i = idx % I;
    const float g = gu[t * 2 * I + i], u = gu[t * 2 * I + I + i];
    out[idx] = fromFloat<S>(g / (1.f + expf(-g)) * u);
  }
}

template <class S>
void launchSiluMul(const float* gu, S* out, int T, int I, cudaStream_t s) {
  const size_t n = (size_t)T * I;
  if (n == 0) return;
  const int blocks = (int)std::min<size_t>((n + 255) / 256, 65535);
  siluMulKernel<S><<<blocks, 256, 0, s>>>(gu, out, I, n);
  CUDA_CHECK(cudaGetLastError());
}

/** checkpoint values (F32, F16 or BF16 bits) to the storage type */
template <class From, class S>
__global__ void convertKernel(const From* src, S* dst, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    dst[i] = fromFloat<S>(toFloat(src[i]));
}
__global__ void bf16ToF32Kernel(const __nv_bfloat16* src, float* dst, size_t n) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    dst[i] = __bfloat162float(src[i]);
}
__device__ __forceinline__ uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
template <class S>
__global__ void fillUniformKernel(S* dst, size_t n, float scale, uint64_t seed) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x) {
    const float u = (mix64(seed * 0x9e3779b97f4a7c15ull + i) >> 40) * (1.f / 16777216.f);  // [0, 1)
    dst[i] = fromFloat<S>((2.f * u - 1.f) * scale);
  }
}
__global__ void fillF32Kernel(float* dst, size_t n, float value) {
  for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    dst[i] = value;
}

static int gridFor(size_t n) { return (int)std::max<size_t>(1, std::min<size_t>((n + 255) / 256, 65535)); }

template <class S>
void launchConvertToStorage(const void* src, DType from, S* dst, size_t n, cudaStream_t s) {
  switch (from) {
    case DType::F32: convertKernel<<<gridFor(n), 256, 0, s>>>(static_cast<const float*>(src), dst, n); break;
    case DType::F16: convertKernel<<<gridFor(n), 256, 0, s>>>(static_cast<const __half*>(src), dst, n); break;
    case DType::BF16: convertKernel<<<gridFor(n), 256, 0, s>>>(static_cast<const __nv_bfloat16*>(src), dst, n); break;
  }
  CUDA_CHECK(cudaGetLastError());
}
void launchBf16ToF32(const __nv_bfloat16* src, float* dst, size_t n, cudaStream_t s) {
  bf16ToF32Kernel<<<gridFor(n), 256, 0, s>>>(src, dst, n);
  CUDA_CHECK(cudaGetLastError());
}
template <class S>
void launchFillUniform(S* dst, size_t n, float scale, uint64_t seed, cudaStream_t s) {
  fillUniformKernel<S><<<gridFor(n), 256, 0, s>>>(dst, n, scale, seed);
  CUDA_CHECK(cudaGetLastError());
}
void launchFillF32(float* dst, size_t n, float value, cudaStream_t s) {
  fillF32Kernel<<<gridFor(n), 256, 0, s>>>(dst, n, value);
  CUDA_CHECK(cudaGetLastError());
}

#define SERVAL_INSTANTIATE(S)                                                                                       \
  template void launchEmbeddingGather<S>(const S*, const int32_t*, float*, int, int, cudaStream_t);                \
  template void launchAddRmsNorm<S>(float*, const float*, const float*, S*, const int32_t*, int, int, float,       \
                                    cudaStream_t);                                                                 \
  template void launchQkNormRopeKvWrite<S>(float*, const float*, const float*, const float*, const int32_t*,       \
                                           const int32_t*, S*, S*, int, int, int, int, float, cudaStream_t);       \
  template void launchSiluMul<S>(const float*, S*, int, int, cudaStream_t);                                        \
  template void launchConvertToStorage<S>(const void*, DType, S*, size_t, cudaStream_t);                           \
  template void launchFillUniform<S>(S*, size_t, float, uint64_t, cudaStream_t);
SERVAL_FOR_EACH_STORAGE(SERVAL_INSTANTIATE)
#undef SERVAL_INSTANTIATE

}  // namespace serval
