// Model shape and weight descriptors handed over from TypeScript (ModelConfig + safetensors index).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace serval {

enum class DType { F32, F16, BF16 };

size_t dtypeSize(DType t);
DType parseDType(const std::string& s);  // safetensors names: F32, F16, BF16
/** --dtype names of a compute/storage dtype: float32, float16, bfloat16 */
const char* dtypeName(DType t);
DType parseComputeDType(const std::string& s);  // throws std::invalid_argument naming s

struct RopeSpec {
  float theta = 10000.f;
  bool llama3 = false;
  float factor = 1.f, lowFreqFactor = 1.f, highFreqFactor = 4.f;
  int originalMaxPositions = 8192;
};

struct ModelSpec {
  int hiddenSize = 0, intermediateSize = 0, numLayers = 0, numHeads = 0, numKvHeads = 0, headDim = 0, vocabSize = 0;
  float rmsNormEps = 1e-6f;
  RopeSpec rope;
  bool tieWordEmbeddings = false, attentionBias = false, qkNorm = false;
  void validate() const;  // throws std::invalid_argument naming the field
};

/** One tensor inside a safetensors file: where its raw bytes live. */
struct TensorRef {
  std::string name, file;
  uint64_t offset = 0;  // absolute byte offset in the file
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t numel() const;
};

/** Per-dimension inverse RoPE frequencies (HF semantics, including llama3 scaling), rounded to float32. */
std::vector<double> ropeInvFreq(const ModelSpec& spec);

}  // namespace serval
