#include "common/weight_store.h"

#include <cstring>
#include <stdexcept>

namespace serval {

static std::string shapeStr(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

WeightStore::WeightStore(const std::vector<TensorRef>& refs) {
  for (const TensorRef& r : refs) {
    auto& file = files_[r.file];
    if (!file) file = std::make_shared<MappedFile>(r.file);
    const uint64_t bytes = r.numel() * dtypeSize(r.dtype);
    if (r.offset + bytes > file->size())
      throw std::runtime_error("tensor " + r.name + " runs past the end of " + r.file);
    TensorView v;
    v.data = file->data() + r.offset;
    v.dtype = r.dtype;
    v.shape = r.shape;
    v.numel = r.numel();
    tensors_[r.name] = v;
  }
}

const TensorView& WeightStore::get(const std::string& name, const std::vector<int64_t>& shape) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw std::runtime_error("missing weight tensor " + name);
  if (it->second.shape != shape)
    throw std::runtime_error("weight " + name + " has shape " + shapeStr(it->second.shape) + ", expected " +
                             shapeStr(shape));
  return it->second;
}

float f16ToFloat(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalize
      exp = 127 - 15 + 1;
      while ((mant & 0x400u) == 0) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ffu;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

void toFloat(const void* src, DType dtype, float* dst, size_t n) {
  switch (dtype) {
    case DType::F32:
      std::memcpy(dst, src, n * 4);
      return;
    case DType::BF16: {
      const uint16_t* s = static_cast<const uint16_t*>(src);
      for (size_t i = 0; i < n; ++i) dst[i] = bf16ToFloat(s[i]);
      return;
    }
    case DType::F16: {
      const uint16_t* s = static_cast<const uint16_t*>(src);
      for (size_t i = 0; i < n; ++i) dst[i] = f16ToFloat(s[i]);
      return;
    }
  }
}

}  // namespace serval
