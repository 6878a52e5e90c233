#include "cpu/cpu_ops.h"

#include <algorithm>
#include <cmath>

#include "common/weight_store.h"

namespace serval {

float dot(const float* a, const float* b, int n) {
  // 8 independent accumulators: vectorizable without -ffast-math and a little more accurate than one chain.
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; ++k) acc[k] += a[i + k] * b[i + k];
  float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

void linear(ThreadPool& pool, const float* x, int numTokens, const LinearWeight& w, float* y) {
  const int in = w.inFeatures, out = w.outFeatures;
  const size_t rowBytes = (size_t)in * dtypeSize(w.dtype);
  // Parallel over output features: each weight row is widened once and reused for every token of the step.
  pool.parallelFor(out, [&](size_t begin, size_t end) {
    std::vector<float> row(w.dtype == DType::F32 ? 0 : in);
    for (size_t o = begin; o < end; ++o) {
      const void* src = static_cast<const unsigned char*>(w.data) + o * rowBytes;
      const float* r;
      if (w.dtype == DType::F32) {
        r = static_cast<const float*>(src);
      } else {
        toFloat(src, w.dtype, row.data(), in);
        r = row.data();
      }
      const float b = w.bias.empty() ? 0.f : w.bias[o];
      for (int t = 0; t < numTokens; ++t) y[(size_t)t * out + o] = dot(x + (size_t)t * in, r, in) + b;
    }
  });
}

void rmsNormRows(const float* x, const float* weight, float* out, int rows, int dim, float eps) {
  for (int r = 0; r < rows; ++r) {
    const float* xr = x + (size_t)r * dim;
    double ss = 0;
    for (int i = 0; i < dim; ++i) ss += (double)xr[i] * xr[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / dim + eps));
    float* o = out + (size_t)r * dim;
    for (int i = 0; i < dim; ++i) o[i] = xr[i] * inv * weight[i];
  }
}

void applyRope(float* v, const float* cosv, const float* sinv, int headDim) {
  const int half = headDim / 2;
  for (int i = 0; i < half; ++i) {
    const float x1 = v[i], x2 = v[i + half];
    v[i] = x1 * cosv[i] - x2 * sinv[i];
    v[i + half] = x2 * cosv[i] + x1 * sinv[i];
  }
}

}  // namespace serval
