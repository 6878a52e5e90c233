// Y[T, N] (fp32) = X[T, K] · W[N, K]^T (+ bias[N] fp32), X and W of the model's storage type (bf16, fp16 or fp32;
// fp32 accumulate, no TF32): decode-sized steps (T <= kGemvMaxTokens) use
// the GEMV kernel (kernels_gemv.cu), larger ones cuBLASLt with per-shape plans (layouts + heuristic algorithm) cached.
// The heuristic query costs ~2.4 ms of host time per shape (7B, H200), and mixed steps bring a new T nearly every
// step: above kExactAlgoMaxTokens the algorithm is asked once per bucket of kAlgoBucketTokens consecutive T (at the
// bucket's top, so a T's algorithm never depends on the order shapes arrived in) and reused for every T in it once
// cublasLtMatmulAlgoCheck accepts it for that exact shape; when the check refuses, that T gets its own query.
// Buckets are that narrow because the algorithm of a power-of-two bucket's top ran its lower T up to 37 % slower
// (bench/native/README.md); a multiple of 64 rows keeps the tile grid of 64-multiple tiles unchanged. Smaller T (the
// decode graph sizes among them, captured once) keep their own algorithm. SERVAL_GEMM_ALGOS=exact queries every T.
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
  /** heuristic queries made, and bucket algorithms the check refused (each cost a query of its own) */
  int heuristicQueries() const { return heuristicQueries_; }
  int algoCheckRefusals() const { return checkRefusals_; }

  static constexpr int kExactAlgoMaxTokens = 512, kAlgoBucketTokens = 64;
  /** the T whose algorithm a T-row GEMM reuses: T itself up to kExactAlgoMaxTokens, else T rounded up to a
   *  multiple of kAlgoBucketTokens */
  static int algoBucket(int T);

 private:
  struct Plan {
    void* desc = nullptr;
    void *a = nullptr, *b = nullptr, *d = nullptr;
    unsigned char algo[64];
  };
  Plan& plan(int T, int N, int K, bool bias);
  Plan makeProblem(int T, int N, int K, bool bias) const;
  void destroyProblem(Plan& p) const;
  /** the heuristic's best algorithm for p, into p.algo */
  void queryHeuristic(Plan& p, int T, int N, int K);
  /** whether the algorithm `algo` runs problem p within the workspace */
  bool algoFits(const Plan& p, const unsigned char* algo) const;
  bool bucketed_ = true;
  int heuristicQueries_ = 0, checkRefusals_ = 0;
  void* handle_ = nullptr;
  int numSms_ = 0;
  bool skinny_ = true;
  DType storage_;
  cudaStream_t stream_;
  void* workspace_ = nullptr;
  size_t workspaceBytes_;
  std::map<std::tuple<int, int, int, bool>, Plan> plans_;
  struct Algo {
    unsigned char bytes[64];
  };
  std::map<std::tuple<int, int, int, bool>, Algo> bucketAlgos_;  // (bucket, N, K, bias)
};

}  // namespace serval
