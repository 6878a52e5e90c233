// Y[T, N] (fp32) = X[T, K] · W[N, K]^T (+ bias[N] fp32), X and W of the model's storage type (bf16, fp16 or fp32;
// fp32 accumulate, no TF32): decode-sized steps (T <= kGemvMaxTokens) use
// the GEMV kernel (kernels_gemv.cu), larger ones cuBLASLt with per-shape plans (layouts + heuristic algorithm) cached.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <map>
#include <tuple>

#include "common/model_spec.h"

namespace serval {

class LinearGemm {
 public:
  LinearGemm(cudaStream_t stream, size_t workspaceBytes, DType storage = DType::BF16);
  ~LinearGemm();
  LinearGemm(const LinearGemm&) = delete;
  LinearGemm& operator=(const LinearGemm&) = delete;
  /** S must be the storage type given at construction (bf16, __half or float) */
  template <class S>
  void run(const S* x, const S* w, float* y, const float* bias, int T, int N, int K);
  size_t workspaceBytes() const { return workspaceBytes_; }
  /** false: every GEMM goes through cuBLASLt (for comparisons) */
  void setSkinnyEnabled(bool on) { skinny_ = on; }
  /** whether a T-token GEMM with inner dimension K runs on the GEMV kernel */
  bool usesGemv(int T, int K) const;
  int numSms() const { return numSms_; }

 private:
  struct Plan {
    void* desc = nullptr;
    void *a = nullptr, *b = nullptr, *d = nullptr;
    unsigned char algo[64];
  };
  Plan& plan(int T, int N, int K, bool bias);
  void* handle_ = nullptr;
  int numSms_ = 0;
  bool skinny_ = true;
  DType storage_;
  cudaStream_t stream_;
  void* workspace_ = nullptr;
  size_t workspaceBytes_;
  std::map<std::tuple<int, int, int, bool>, Plan> plans_;
};

}  // namespace serval
