// Y[T, N] (fp32) = X[T, K] (bf16) · W[N, K]^T (bf16) (+ bias[N] fp32): decode-sized steps (T <= kGemvMaxTokens) use
// the GEMV kernel (kernels_gemv.cu), larger ones cuBLASLt with per-shape plans (layouts + heuristic algorithm) cached.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <map>
#include <tuple>

namespace serval {

class LinearGemm {
 public:
  LinearGemm(cudaStream_t stream, size_t workspaceBytes);
  ~LinearGemm();
  LinearGemm(const LinearGemm&) = delete;
  LinearGemm& operator=(const LinearGemm&) = delete;
  void run(const __nv_bfloat16* x, const __nv_bfloat16* w, float* y, const float* bias, int T, int N, int K);
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
  cudaStream_t stream_;
  void* workspace_ = nullptr;
  size_t workspaceBytes_;
  std::map<std::tuple<int, int, int, bool>, Plan> plans_;
};

}  // namespace serval
