// The storage types of the CUDA backend's weights, K/V cache and low-precision activations (--dtype): bfloat16,
// float16 or float32. Kernels are templates over the storage type S, instantiated once per type
// (SERVAL_FOR_EACH_STORAGE); arithmetic is fp32 everywhere, S only says how values are stored.
#pragma once
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "common/model_spec.h"

namespace serval {

template <class S>
struct StorageTraits;
template <>
struct StorageTraits<__nv_bfloat16> {
  static constexpr DType dtype = DType::BF16;
};
template <>
struct StorageTraits<__half> {
  static constexpr DType dtype = DType::F16;
};
template <>
struct StorageTraits<float> {
  static constexpr DType dtype = DType::F32;
};

/** M(S) for each storage type (explicit instantiations) */
#define SERVAL_FOR_EACH_STORAGE(M) M(__nv_bfloat16) M(__half) M(float)
/** M(C, S) for each (K/V cache type, weight/activation storage type) pair a model runs with (--kv-cache-dtype): the
 *  cache in the storage type, or an fp16 cache under bf16 weights (fp16's 3 more mantissa bits in the same bytes: the
 *  bf16 K/V rounding alone kept two test models past issue 6's accuracy bound). Only these pairs are instantiated. */
#define SERVAL_FOR_EACH_KV_PAIR(M) M(__nv_bfloat16, __nv_bfloat16) M(__half, __half) M(float, float) M(__half, __nv_bfloat16)

#ifdef __CUDACC__
__device__ __forceinline__ float toFloat(float v) { return v; }
__device__ __forceinline__ float toFloat(__nv_bfloat16 v) { return __bfloat162float(v); }
__device__ __forceinline__ float toFloat(__half v) { return __half2float(v); }

template <class S>
__device__ __forceinline__ S fromFloat(float v);
template <>
__device__ __forceinline__ float fromFloat<float>(float v) { return v; }
template <>
__device__ __forceinline__ __nv_bfloat16 fromFloat<__nv_bfloat16>(float v) { return __float2bfloat16(v); }
template <>
__device__ __forceinline__ __half fromFloat<__half>(float v) { return __float2half(v); }

/** v as a K/V cache value of type C: fp16 saturates at +-65504 (a K/V value past fp16's range would otherwise be a
 *  silent inf that poisons every later score of its row; NaN stays NaN); bf16/fp32 hold any finite fp32 value */
template <class C>
__device__ __forceinline__ C toKvCache(float v) {
  return fromFloat<C>(v);
}
template <>
__device__ __forceinline__ __half toKvCache<__half>(float v) {
  constexpr float kMax = 65504.f;
  return __float2half(v > kMax ? kMax : (v < -kMax ? -kMax : v));
}

/** elements i and i + 1 of a raw register block of S, as fp32 (16-bit types convert the pair at once) */
__device__ __forceinline__ float2 pairToFloat2(const float* e) { return make_float2(e[0], e[1]); }
__device__ __forceinline__ float2 pairToFloat2(const __nv_bfloat16* e) {
  return __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(e));
}
__device__ __forceinline__ float2 pairToFloat2(const __half* e) {
  return __half22float2(*reinterpret_cast<const __half2*>(e));
}

/** N consecutive elements of S in registers, read with the widest aligned loads (the caller guarantees alignment to
 *  N * sizeof(S) bytes, at most 16) */
template <int N, class S>
struct StorageVec {
  static constexpr int kBytes = N * (int)sizeof(S);
  static_assert(N % 2 == 0 && (kBytes == 4 || kBytes == 8 || kBytes % 16 == 0), "unsupported vector width");
  using Word = typename std::conditional<kBytes == 4, uint32_t, typename std::conditional<kBytes == 8, uint2, uint4>::type>::type;
  static constexpr int kWords = kBytes <= 16 ? 1 : kBytes / 16;
  Word w[kWords];
  __device__ __forceinline__ const S* elems() const { return reinterpret_cast<const S*>(w); }
  /** all N elements as fp32 */
  __device__ __forceinline__ void toFloats(float (&f)[N]) const {
#pragma unroll
    for (int i = 0; i < N / 2; ++i) {
      const float2 p = pairToFloat2(elems() + 2 * i);
      f[2 * i] = p.x;
      f[2 * i + 1] = p.y;
    }
  }
};

template <int N, class S>
__device__ __forceinline__ void loadAsFloat(const S* p, float (&f)[N]) {
  StorageVec<N, S> v;
  using Word = typename StorageVec<N, S>::Word;
#pragma unroll
  for (int i = 0; i < StorageVec<N, S>::kWords; ++i) v.w[i] = reinterpret_cast<const Word*>(p)[i];
  v.toFloats(f);
}
#endif

}  // namespace serval
