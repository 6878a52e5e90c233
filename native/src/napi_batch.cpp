#include "src/napi_batch.h"

#include <string>

namespace serval {

static Napi::Value field(const Napi::Object& o, const char* name) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) throw Napi::TypeError::New(o.Env(), std::string("missing field '") + name + "'");
  return v;
}

int intField(const Napi::Object& o, const char* name) {
  Napi::Value v = field(o, name);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("field '") + name + "' must be a number");
  return v.As<Napi::Number>().Int32Value();
}

int optionalIntField(const Napi::Object& o, const char* name, int fallback) {
  return o.Get(name).IsUndefined() ? fallback : intField(o, name);
}

static float floatField(const Napi::Object& o, const char* name) {
  Napi::Value v = field(o, name);
  if (!v.IsNumber()) throw Napi::TypeError::New(o.Env(), std::string("field '") + name + "' must be a number");
  return v.As<Napi::Number>().FloatValue();
}

static bool boolField(const Napi::Object& o, const char* name) { return field(o, name).ToBoolean().Value(); }

ModelSpec specFromJs(const Napi::Object& o) {
  ModelSpec s;
  s.hiddenSize = intField(o, "hiddenSize");
  s.intermediateSize = intField(o, "intermediateSize");
  s.numLayers = intField(o, "numLayers");
  s.numHeads = intField(o, "numHeads");
  s.numKvHeads = intField(o, "numKvHeads");
  s.headDim = intField(o, "headDim");
  s.vocabSize = intField(o, "vocabSize");
  s.rmsNormEps = floatField(o, "rmsNormEps");
  s.rope.theta = floatField(o, "ropeTheta");
  s.tieWordEmbeddings = boolField(o, "tieWordEmbeddings");
  s.attentionBias = boolField(o, "attentionBias");
  s.qkNorm = boolField(o, "qkNorm");
  Napi::Object rs = field(o, "ropeScaling").As<Napi::Object>();
  const std::string type = field(rs, "type").ToString().Utf8Value();
  if (type == "llama3") {
    s.rope.llama3 = true;
    s.rope.factor = floatField(rs, "factor");
    s.rope.lowFreqFactor = floatField(rs, "lowFreqFactor");
    s.rope.highFreqFactor = floatField(rs, "highFreqFactor");
    s.rope.originalMaxPositions = intField(rs, "originalMaxPositionEmbeddings");
  } else if (type != "default") {
    throw Napi::TypeError::New(o.Env(), "ropeScaling.type '" + type + "' is not implemented in the native backend");
  }
  return s;
}

std::vector<TensorRef> tensorsFromJs(const Napi::Array& a) {
  std::vector<TensorRef> out;
  for (uint32_t i = 0; i < a.Length(); ++i) {
    Napi::Object t = a.Get(i).As<Napi::Object>();
    TensorRef r;
    r.name = field(t, "name").ToString().Utf8Value();
    r.file = field(t, "file").ToString().Utf8Value();
    r.offset = static_cast<uint64_t>(field(t, "offset").As<Napi::Number>().Int64Value());
    r.dtype = parseDType(field(t, "dtype").ToString().Utf8Value());
    Napi::Array shape = field(t, "shape").As<Napi::Array>();
    for (uint32_t d = 0; d < shape.Length(); ++d) r.shape.push_back(shape.Get(d).As<Napi::Number>().Int64Value());
    out.push_back(std::move(r));
  }
  return out;
}

static const int32_t* int32Array(const Napi::Object& o, const char* name, size_t minLength) {
  Napi::Value v = field(o, name);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(o.Env(), std::string("field '") + name + "' must be an Int32Array");
  Napi::Int32Array a = v.As<Napi::Int32Array>();
  if (a.ElementLength() < minLength)
    throw Napi::RangeError::New(o.Env(), std::string("field '") + name + "' is too short");
  return a.Data();
}

ForwardBatch batchFromJs(const Napi::Object& o) {
  ForwardBatch b;
  b.numTokens = intField(o, "numTokens");
  b.numRows = intField(o, "numRows");
  b.maxBlocksPerRow = intField(o, "maxBlocksPerRow");
  b.tokenIds = int32Array(o, "tokenIds", b.numTokens);
  b.positions = int32Array(o, "positions", b.numTokens);
  b.slotMapping = int32Array(o, "slotMapping", b.numTokens);
  b.queryStartLoc = int32Array(o, "queryStartLoc", b.numRows + 1);
  b.contextLens = int32Array(o, "contextLens", b.numRows);
  b.blockTables = int32Array(o, "blockTables", (size_t)b.numRows * b.maxBlocksPerRow);
  b.logitTokenIndices = int32Array(o, "logitTokenIndices", 0);  // checks the type first
  b.numLogitTokens = static_cast<int>(field(o, "logitTokenIndices").As<Napi::Int32Array>().ElementLength());
  return b;
}

static std::vector<int32_t> copyOf(const int32_t* p, size_t n) { return std::vector<int32_t>(p, p + n); }

OwnedBatch ownBatch(const ForwardBatch& b) {
  OwnedBatch o;
  o.numTokens = b.numTokens;
  o.numRows = b.numRows;
  o.maxBlocksPerRow = b.maxBlocksPerRow;
  o.numLogitTokens = b.numLogitTokens;
  o.tokenIds = copyOf(b.tokenIds, b.numTokens);
  o.positions = copyOf(b.positions, b.numTokens);
  o.slotMapping = copyOf(b.slotMapping, b.numTokens);
  o.queryStartLoc = copyOf(b.queryStartLoc, b.numRows + 1);
  o.contextLens = copyOf(b.contextLens, b.numRows);
  o.blockTables = copyOf(b.blockTables, (size_t)b.numRows * b.maxBlocksPerRow);
  o.logitTokenIndices = copyOf(b.logitTokenIndices, b.numLogitTokens);
  return o;
}

ForwardBatch OwnedBatch::view() const {
  ForwardBatch b;
  b.numTokens = numTokens;
  b.numRows = numRows;
  b.maxBlocksPerRow = maxBlocksPerRow;
  b.numLogitTokens = numLogitTokens;
  b.tokenIds = tokenIds.data();
  b.positions = positions.data();
  b.slotMapping = slotMapping.data();
  b.queryStartLoc = queryStartLoc.data();
  b.contextLens = contextLens.data();
  b.blockTables = blockTables.data();
  b.logitTokenIndices = logitTokenIndices.data();
  return b;
}

}  // namespace serval
