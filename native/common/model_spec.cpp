#include "common/model_spec.h"

#include <cmath>
#include <stdexcept>

namespace serval {

size_t dtypeSize(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F16: return 2;
    case DType::BF16: return 2;
  }
  return 0;
}

DType parseDType(const std::string& s) {
  if (s == "F32") return DType::F32;
  if (s == "F16") return DType::F16;
  if (s == "BF16") return DType::BF16;
  throw std::invalid_argument("unsupported tensor dtype '" + s + "' (expected F32, F16 or BF16)");
}

const char* dtypeName(DType t) {
  switch (t) {
    case DType::F32: return "float32";
    case DType::F16: return "float16";
    case DType::BF16: return "bfloat16";
  }
  return "?";
}

DType parseComputeDType(const std::string& s) {
  if (s == "float32") return DType::F32;
  if (s == "float16") return DType::F16;
  if (s == "bfloat16") return DType::BF16;
  throw std::invalid_argument("unsupported compute dtype '" + s + "' (expected bfloat16, float16 or float32)");
}

uint64_t TensorRef::numel() const {
  uint64_t n = 1;
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return n;
}

void ModelSpec::validate() const {
  auto positive = [](int v, const char* name) {
    if (v <= 0) throw std::invalid_argument(std::string("model spec: ") + name + " must be > 0");
  };
  positive(hiddenSize, "hiddenSize");
  positive(intermediateSize, "intermediateSize");
  positive(numLayers, "numLayers");
  positive(numHeads, "numHeads");
  positive(numKvHeads, "numKvHeads");
  positive(headDim, "headDim");
  positive(vocabSize, "vocabSize");
  if (numHeads % numKvHeads != 0) throw std::invalid_argument("model spec: numHeads must be a multiple of numKvHeads");
  if (headDim % 2 != 0) throw std::invalid_argument("model spec: headDim must be even (RoPE)");
}

std::vector<double> ropeInvFreq(const ModelSpec& spec) {
  const int half = spec.headDim / 2;
  std::vector<double> inv(half);
  // Rounded to float32 like transformers (and the TypeScript reference) compute them.
  for (int i = 0; i < half; ++i) inv[i] = (float)(1.0 / std::pow((double)spec.rope.theta, (2.0 * i) / spec.headDim));
  if (!spec.rope.llama3) return inv;
  // Llama 3.1 scaling: long wavelengths are divided by `factor`, short ones kept, the band between interpolated.
  const double lowWavelen = spec.rope.originalMaxPositions / spec.rope.lowFreqFactor;
  const double highWavelen = spec.rope.originalMaxPositions / spec.rope.highFreqFactor;
  for (int i = 0; i < half; ++i) {
    const double wavelen = 2.0 * M_PI / inv[i];
    if (wavelen < highWavelen) continue;
    if (wavelen > lowWavelen) {
      inv[i] = inv[i] / spec.rope.factor;
    } else {
      const double smooth = (spec.rope.originalMaxPositions / wavelen - spec.rope.lowFreqFactor) /
                            (spec.rope.highFreqFactor - spec.rope.lowFreqFactor);
      inv[i] = (1 - smooth) * inv[i] / spec.rope.factor + smooth * inv[i];
    }
    inv[i] = (float)inv[i];
  }
  return inv;
}

}  // namespace serval
