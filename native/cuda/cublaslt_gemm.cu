#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

#include "cuda/cublaslt_gemm.h"
#include "cuda/cublaslt_loader.h"
#include "cuda/cuda_util.h"
#include "cuda/kernels.h"

namespace serval {

/** SERVAL_GEMM_ALGOS: unset/"bucketed" -> true, "exact" -> false; anything else throws naming the values */
static bool gemmAlgosBucketedFromEnv() {
  const char* v = std::getenv("SERVAL_GEMM_ALGOS");
  if (!v || !*v || std::string(v) == "bucketed") return true;
  if (std::string(v) == "exact") return false;
  throw std::invalid_argument(std::string("SERVAL_GEMM_ALGOS=") + v + " is not one of: bucketed, exact");
}

LinearGemm::LinearGemm(cudaStream_t stream, size_t workspaceBytes, DType storage)
    : storage_(storage), stream_(stream), workspaceBytes_(workspaceBytes) {
  bucketed_ = gemmAlgosBucketedFromEnv();
  checkLt(cublasLt().create(&handle_), "create");
  int device = 0;
  CUDA_CHECK(cudaGetDevice(&device));
  CUDA_CHECK(cudaDeviceGetAttribute(&numSms_, cudaDevAttrMultiProcessorCount, device));
  CUDA_CHECK(cudaMalloc(&workspace_, workspaceBytes_));
}

LinearGemm::~LinearGemm() {
  for (auto& kv : plans_) destroyProblem(kv.second);
  if (workspace_) cudaFree(workspace_);
  if (handle_) cublasLt().destroy(handle_);
}

int LinearGemm::algoBucket(int T) {
  if (T <= kExactAlgoMaxTokens) return T;
  return (T + kAlgoBucketTokens - 1) / kAlgoBucketTokens * kAlgoBucketTokens;
}

LinearGemm::Plan LinearGemm::makeProblem(int T, int N, int K, bool bias) const {
  const CublasLtApi& api = cublasLt();
  Plan p;
  // Column-major view: D (N×T) = op(A)ᵀ with A = W stored K×N (ld K), times B = X stored K×T (ld K).
  // COMPUTE_32F: fp32 accumulate; for fp32 inputs it is true fp32 (TF32 would be COMPUTE_32F_FAST_TF32).
  checkLt(api.matmulDescCreate(&p.desc, lt::COMPUTE_32F, lt::R_32F), "matmulDescCreate");
  const int32_t opT = lt::OP_T, opN = lt::OP_N;
  checkLt(api.matmulDescSetAttribute(p.desc, lt::DESC_TRANSA, &opT, sizeof(opT)), "set TRANSA");
  checkLt(api.matmulDescSetAttribute(p.desc, lt::DESC_TRANSB, &opN, sizeof(opN)), "set TRANSB");
  const uint32_t epilogue = bias ? lt::EPILOGUE_BIAS : lt::EPILOGUE_DEFAULT;
  checkLt(api.matmulDescSetAttribute(p.desc, lt::DESC_EPILOGUE, &epilogue, sizeof(epilogue)), "set EPILOGUE");
  if (bias) {
    // The heuristic looks at the bias pointer's alignment: a 256-byte-aligned stand-in matches cudaMalloc'd biases.
    const void* fake = reinterpret_cast<const void*>(uintptr_t(256));
    checkLt(api.matmulDescSetAttribute(p.desc, lt::DESC_BIAS_POINTER, &fake, sizeof(fake)), "set BIAS_POINTER");
  }
  const int inType = storage_ == DType::BF16 ? lt::R_16BF : storage_ == DType::F16 ? lt::R_16F : lt::R_32F;
  checkLt(api.matrixLayoutCreate(&p.a, inType, K, N, K), "layout A");
  checkLt(api.matrixLayoutCreate(&p.b, inType, K, T, K), "layout B");
  checkLt(api.matrixLayoutCreate(&p.d, lt::R_32F, N, T, N), "layout D");
  return p;
}

void LinearGemm::destroyProblem(Plan& p) const {
  const CublasLtApi& api = cublasLt();
  if (p.a) api.matrixLayoutDestroy(p.a);
  if (p.b) api.matrixLayoutDestroy(p.b);
  if (p.d) api.matrixLayoutDestroy(p.d);
  if (p.desc) api.matmulDescDestroy(p.desc);
  p = Plan();
}

void LinearGemm::queryHeuristic(Plan& p, int T, int N, int K) {
  const CublasLtApi& api = cublasLt();
  void* pref = nullptr;
  checkLt(api.preferenceCreate(&pref), "preferenceCreate");
  const uint64_t ws = workspaceBytes_;
  const int wsSt = api.preferenceSetAttribute(pref, lt::PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws));
  lt::HeuristicResult result{};
  int returned = 0;
  const int st = wsSt != lt::STATUS_SUCCESS
                     ? wsSt
                     : api.algoGetHeuristic(handle_, p.desc, p.a, p.b, p.d, p.d, pref, 1, &result, &returned);
  api.preferenceDestroy(pref);
  ++heuristicQueries_;
  checkLt(st, "algoGetHeuristic");
  if (returned == 0)
    throw std::runtime_error("cuBLASLt has no algorithm for " + std::string(dtypeName(storage_)) + " GEMM T=" + std::to_string(T) + " N=" +
                             std::to_string(N) + " K=" + std::to_string(K));
  std::memcpy(p.algo, &result.algo, sizeof(p.algo));
}

bool LinearGemm::algoFits(const Plan& p, const unsigned char* algo) const {
  lt::HeuristicResult result{};
  const int st = cublasLt().algoCheck(handle_, p.desc, p.a, p.b, p.d, p.d,
                                      reinterpret_cast<const lt::MatmulAlgo*>(algo), &result);
  return st == lt::STATUS_SUCCESS && result.workspaceSize <= workspaceBytes_;
}

LinearGemm::Plan& LinearGemm::plan(int T, int N, int K, bool bias) {
  auto key = std::make_tuple(T, N, K, bias);
  auto it = plans_.find(key);
  if (it != plans_.end()) return it->second;
  Plan p = makeProblem(T, N, K, bias);
  try {
    if (!bucketed_) {
      queryHeuristic(p, T, N, K);
    } else {
      const int bucket = algoBucket(T);
      const auto bucketKey = std::make_tuple(bucket, N, K, bias);
      auto found = bucketAlgos_.find(bucketKey);
      if (found == bucketAlgos_.end()) {
        Plan top = bucket == T ? Plan() : makeProblem(bucket, N, K, bias);
        try {
          queryHeuristic(bucket == T ? p : top, bucket, N, K);
        } catch (...) {
          destroyProblem(top);
          throw;
        }
        Algo a;
        std::memcpy(a.bytes, bucket == T ? p.algo : top.algo, sizeof(a.bytes));
        destroyProblem(top);
        found = bucketAlgos_.emplace(bucketKey, a).first;
      }
      if (algoFits(p, found->second.bytes)) {
        std::memcpy(p.algo, found->second.bytes, sizeof(p.algo));
      } else {
        ++checkRefusals_;
        queryHeuristic(p, T, N, K);
      }
    }
  } catch (...) {
    destroyProblem(p);
    throw;
  }
  return plans_.emplace(key, p).first->second;
}

bool LinearGemm::usesGemv(int T, int K) const { return skinny_ && gemvSupported(T, K); }

template <class S>
void LinearGemm::run(const S* x, const S* w, float* y, const float* bias, int T, int N, int K) {
  if (StorageTraits<S>::dtype != storage_)
    throw std::logic_error("LinearGemm::run: input type differs from the storage type it was made for");
  if (T == 0) return;
  if (usesGemv(T, K)) {
    launchGemvLinear(x, w, bias, y, T, N, K, gemvSplitFor(N, K, numSms_), stream_);
    return;
  }
  Plan& p = plan(T, N, K, bias != nullptr);
  const CublasLtApi& api = cublasLt();
  if (bias) checkLt(api.matmulDescSetAttribute(p.desc, lt::DESC_BIAS_POINTER, &bias, sizeof(bias)), "set BIAS_POINTER");
  const float alpha = 1.f, beta = 0.f;
  checkLt(api.matmul(handle_, p.desc, &alpha, w, p.a, x, p.b, &beta, y, p.d, y, p.d,
                     reinterpret_cast<const lt::MatmulAlgo*>(p.algo), workspace_, workspaceBytes_, stream_),
          "matmul");
}

#define SERVAL_INSTANTIATE(S) \
  template void LinearGemm::run<S>(const S*, const S*, float*, const float*, int, int, int);
SERVAL_FOR_EACH_STORAGE(SERVAL_INSTANTIATE)
#undef SERVAL_INSTANTIATE

}  // namespace serval
