// Opt-in to more than 48 KiB of dynamic shared memory for a kernel, once per kernel and device (the attribute is
// per device context: with several GPUs each one needs it). Safe to call during CUDA-graph capture.
#pragma once
#include <cuda_runtime.h>

#include <atomic>
#include <cstdint>

#include "cuda/cuda_util.h"

namespace serval {

/** `doneDevices` is the caller's per-kernel bitmask of devices already configured (devices >= 64 always set it). */
template <typename Kernel>
void ensureDynamicSmem(Kernel kernel, size_t bytes, std::atomic<uint64_t>& doneDevices) {
  int dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  const uint64_t bit = dev < 64 ? (uint64_t{1} << dev) : 0;
  if (bit && (doneDevices.load(std::memory_order_acquire) & bit)) return;
  CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes));
  doneDevices.fetch_or(bit, std::memory_order_release);
}

}  // namespace serval
