// Name → bytes of every weight tensor, read in place from memory-mapped safetensors files.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/mapped_file.h"
#include "common/model_spec.h"

namespace serval {

struct TensorView {
  const void* data = nullptr;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t numel = 0;
};

class WeightStore {
 public:
  explicit WeightStore(const std::vector<TensorRef>& refs);
  bool has(const std::string& name) const { return tensors_.count(name) != 0; }
  /** Throws naming the tensor when it is missing or its shape differs from `shape`. */
  const TensorView& get(const std::string& name, const std::vector<int64_t>& shape) const;

 private:
  std::map<std::string, std::shared_ptr<MappedFile>> files_;
  std::map<std::string, TensorView> tensors_;
};

/** Converts `n` elements of any supported dtype to fp32. */
void toFloat(const void* src, DType dtype, float* dst, size_t n);

inline float bf16ToFloat(uint16_t h) {
  uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}
float f16ToFloat(uint16_t h);

}  // namespace serval
