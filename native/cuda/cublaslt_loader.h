// cuBLASLt, loaded at run time with dlopen instead of linked.
//
// Why: CI and the development machine have nvcc but no cuBLAS (no headers, no libcublasLt.so), while the GPU machine
// has it. Linking would make the addon fail to build (no library) or fail to load (missing .so) everywhere cuBLAS is
// absent; loading at run time lets one build from one source tree work on both: the CUDA backend asks for cuBLASLt
// only when a model is created on a GPU, and then fails with a message naming the library it looked for.
// The handful of enum values used are declared here; when the real header is present (GPU machine) they are
// checked against it at compile time (see cublaslt_loader.cu).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace serval {
namespace lt {

// cublasStatus_t / cudaDataType / cublasComputeType_t / cublasLt* enum values (stable ABI of CUDA 11-13).
constexpr int STATUS_SUCCESS = 0;
constexpr int R_32F = 0;    // CUDA_R_32F
constexpr int R_16F = 2;    // CUDA_R_16F
constexpr int R_16BF = 14;  // CUDA_R_16BF
constexpr int COMPUTE_32F = 68;  // CUBLAS_COMPUTE_32F
constexpr int OP_N = 0, OP_T = 1;
constexpr int DESC_TRANSA = 3, DESC_TRANSB = 4, DESC_EPILOGUE = 7, DESC_BIAS_POINTER = 8;
constexpr uint32_t EPILOGUE_DEFAULT = 1, EPILOGUE_BIAS = 4;
constexpr int PREF_MAX_WORKSPACE_BYTES = 1;

struct MatmulAlgo {
  uint64_t data[8];
};
struct HeuristicResult {
  MatmulAlgo algo;
  size_t workspaceSize;
  int state;
  float wavesCount;
  int reserved[4];
};

}  // namespace lt

struct CublasLtApi {
  int (*create)(void** handle);
  int (*destroy)(void* handle);
  int (*matmulDescCreate)(void** desc, int computeType, int scaleType);
  int (*matmulDescDestroy)(void* desc);
  int (*matmulDescSetAttribute)(void* desc, int attr, const void* buf, size_t size);
  int (*matrixLayoutCreate)(void** layout, int type, uint64_t rows, uint64_t cols, int64_t ld);
  int (*matrixLayoutDestroy)(void* layout);
  int (*preferenceCreate)(void** pref);
  int (*preferenceDestroy)(void* pref);
  int (*preferenceSetAttribute)(void* pref, int attr, const void* buf, size_t size);
  int (*algoGetHeuristic)(void* handle, void* desc, void* a, void* b, void* c, void* d, void* pref, int requested,
                          lt::HeuristicResult* results, int* returned);
  /** whether `algo` runs this problem (and the workspace it needs): reusing one algorithm for several shapes */
  int (*algoCheck)(void* handle, void* desc, void* a, void* b, void* c, void* d, const lt::MatmulAlgo* algo,
                   lt::HeuristicResult* result);
  int (*matmul)(void* handle, void* desc, const void* alpha, const void* A, void* Adesc, const void* B, void* Bdesc,
                const void* beta, const void* C, void* Cdesc, void* D, void* Ddesc, const lt::MatmulAlgo* algo,
                void* workspace, size_t workspaceSize, void* stream);
  const char* (*statusString)(int status);
  std::string library;  // the file that was loaded
};

/** The loaded API; throws std::runtime_error naming the libraries tried when none loads. */
const CublasLtApi& cublasLt();

/** Throws with the cuBLASLt status text when `status` is not success. */
void checkLt(int status, const char* what);

}  // namespace serval
