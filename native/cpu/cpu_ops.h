// fp32 compute kernels of the CPU backend; weights stay in their file dtype and are widened row by row.
#pragma once
#include <vector>

#include "common/model_spec.h"
#include "cpu/thread_pool.h"

namespace serval {

/** y = x W^T (+ bias): W is [outFeatures, inFeatures] in its stored dtype. */
struct LinearWeight {
  const void* data = nullptr;
  DType dtype = DType::F32;
  int outFeatures = 0, inFeatures = 0;
  std::vector<float> bias;  // empty = no bias
};

void linear(ThreadPool& pool, const float* x, int numTokens, const LinearWeight& w, float* y);

/** out[t] = x[t] / rms(x[t]) * weight, per row of `dim` elements. */
void rmsNormRows(const float* x, const float* weight, float* out, int rows, int dim, float eps);

/** In-place rotate-half RoPE on one head vector with precomputed cos/sin of [headDim/2]. */
void applyRope(float* v, const float* cosv, const float* sinv, int headDim);

float dot(const float* a, const float* b, int n);

}  // namespace serval
