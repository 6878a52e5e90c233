// CUDA error checking that throws (the Node-API layer turns it into a JavaScript Error).
#pragma once
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#define CUDA_CHECK(expr)                                                                                   \
  do {                                                                                                     \
    cudaError_t err__ = (expr);                                                                            \
    if (err__ != cudaSuccess)                                                                              \
      throw std::runtime_error(std::string("CUDA error in " #expr ": ") + cudaGetErrorString(err__) + " (" + \
                               __FILE__ + ":" + std::to_string(__LINE__) + ")");                           \
  } while (0)
