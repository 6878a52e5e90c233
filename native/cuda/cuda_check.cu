// Device enumeration that degrades to "no CUDA device" (with the runtime's reason) on machines without GPU/driver.
#include <cuda_runtime.h>

#include "cuda/cuda_api.h"
#include "cuda/cuda_util.h"

namespace serval {

CudaStatus queryCuda() {
  CudaStatus s;
  int n = 0;
  cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess) {
    s.error = std::string("no CUDA device: ") + cudaGetErrorString(err);
    cudaGetLastError();  // clear the sticky-free error so later calls start clean
    return s;
  }
  s.deviceCount = n;
  if (n == 0) s.error = "no CUDA device";
  for (int i = 0; i < n; ++i) {
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, i) != cudaSuccess) continue;
    CudaDeviceInfo d;
    d.name = p.name;
    d.totalMemory = p.totalGlobalMem;
    d.major = p.major;
    d.minor = p.minor;
    d.multiprocessors = p.multiProcessorCount;
    size_t freeB = 0, totalB = 0;
    if (cudaSetDevice(i) == cudaSuccess && cudaMemGetInfo(&freeB, &totalB) == cudaSuccess) d.freeMemory = freeB;
    s.devices.push_back(d);
  }
  return s;
}

void cudaMemoryInfo(int device, size_t* freeBytes, size_t* totalBytes) {
  CUDA_CHECK(cudaSetDevice(device));
  CUDA_CHECK(cudaMemGetInfo(freeBytes, totalBytes));
}

double measureCopyBandwidth(int device, size_t bytes, int iterations) {
  CUDA_CHECK(cudaSetDevice(device));
  void *a = nullptr, *b = nullptr;
  CUDA_CHECK(cudaMalloc(&a, bytes));
  CUDA_CHECK(cudaMalloc(&b, bytes));
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  CUDA_CHECK(cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice));  // warm-up
  CUDA_CHECK(cudaEventRecord(start));
  for (int i = 0; i < iterations; ++i) CUDA_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice));
  CUDA_CHECK(cudaEventRecord(stop));
  CUDA_CHECK(cudaEventSynchronize(stop));
  float ms = 0.f;
  CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaFree(a);
  cudaFree(b);
  return 2.0 * (double)bytes * iterations / (ms / 1000.0);
}

}  // namespace serval
