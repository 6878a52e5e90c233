#include <dlfcn.h>

#include <mutex>
#include <stdexcept>
#include <string>

#include "cuda/cublaslt_loader.h"

#if __has_include(<cublasLt.h>)
// Where the real header exists, the hand-declared constants and struct layout are verified against it.
#include <cublasLt.h>
static_assert(serval::lt::R_16BF == CUDA_R_16BF && serval::lt::R_32F == CUDA_R_32F && serval::lt::R_16F == CUDA_R_16F);
static_assert(serval::lt::COMPUTE_32F == CUBLAS_COMPUTE_32F);
static_assert(serval::lt::OP_N == CUBLAS_OP_N && serval::lt::OP_T == CUBLAS_OP_T);
static_assert(serval::lt::DESC_TRANSA == CUBLASLT_MATMUL_DESC_TRANSA && serval::lt::DESC_TRANSB == CUBLASLT_MATMUL_DESC_TRANSB);
static_assert(serval::lt::DESC_EPILOGUE == CUBLASLT_MATMUL_DESC_EPILOGUE &&
              serval::lt::DESC_BIAS_POINTER == CUBLASLT_MATMUL_DESC_BIAS_POINTER);
static_assert(serval::lt::EPILOGUE_DEFAULT == CUBLASLT_EPILOGUE_DEFAULT && serval::lt::EPILOGUE_BIAS == CUBLASLT_EPILOGUE_BIAS);
static_assert(serval::lt::PREF_MAX_WORKSPACE_BYTES == CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES);
static_assert(sizeof(serval::lt::HeuristicResult) == sizeof(cublasLtMatmulHeuristicResult_t));
static_assert(sizeof(serval::lt::MatmulAlgo) == sizeof(cublasLtMatmulAlgo_t));
#endif

namespace serval {

static const char* kCandidates[] = {"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so",
                                    "/usr/local/cuda/lib64/libcublasLt.so.13", "/usr/local/cuda/lib64/libcublasLt.so.12",
                                    "/usr/local/cuda/lib64/libcublasLt.so"};

template <typename F>
static void bind(void* lib, F& fn, const char* name, const std::string& file) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  if (!fn) throw std::runtime_error(std::string("cuBLASLt: symbol ") + name + " missing from " + file);
}

static CublasLtApi load() {
  void* lib = nullptr;
  std::string file, tried;
  for (const char* c : kCandidates) {
    lib = dlopen(c, RTLD_NOW | RTLD_LOCAL);
    if (lib) {
      file = c;
      break;
    }
    tried += std::string(tried.empty() ? "" : ", ") + c;
  }
  if (!lib)
    throw std::runtime_error("cuBLASLt is not installed (tried " + tried +
                             "); the CUDA backend needs it at run time (install CUDA's libcublas or add it to LD_LIBRARY_PATH)");
  CublasLtApi api{};
  api.library = file;
  bind(lib, api.create, "cublasLtCreate", file);
  bind(lib, api.destroy, "cublasLtDestroy", file);
  bind(lib, api.matmulDescCreate, "cublasLtMatmulDescCreate", file);
  bind(lib, api.matmulDescDestroy, "cublasLtMatmulDescDestroy", file);
  bind(lib, api.matmulDescSetAttribute, "cublasLtMatmulDescSetAttribute", file);
  bind(lib, api.matrixLayoutCreate, "cublasLtMatrixLayoutCreate", file);
  bind(lib, api.matrixLayoutDestroy, "cublasLtMatrixLayoutDestroy", file);
  bind(lib, api.preferenceCreate, "cublasLtMatmulPreferenceCreate", file);
  bind(lib, api.preferenceDestroy, "cublasLtMatmulPreferenceDestroy", file);
  bind(lib, api.preferenceSetAttribute, "cublasLtMatmulPreferenceSetAttribute", file);
  bind(lib, api.algoGetHeuristic, "cublasLtMatmulAlgoGetHeuristic", file);
  bind(lib, api.algoCheck, "cublasLtMatmulAlgoCheck", file);
  bind(lib, api.matmul, "cublasLtMatmul", file);
  bind(lib, api.statusString, "cublasLtGetStatusString", file);
  return api;
}

const CublasLtApi& cublasLt() {
  static std::once_flag once;
  static CublasLtApi api;
  static std::string error;
  std::call_once(once, [] {
    try {
      api = load();
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  if (!error.empty()) throw std::runtime_error(error);
  return api;
}

void checkLt(int status, const char* what) {
  if (status == lt::STATUS_SUCCESS) return;
  const char* text = cublasLt().statusString ? cublasLt().statusString(status) : "?";
  throw std::runtime_error(std::string("cuBLASLt ") + what + " failed: " + text + " (" + std::to_string(status) + ")");
}

}  // namespace serval
