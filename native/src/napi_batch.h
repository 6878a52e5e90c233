// Conversions from JavaScript objects (built by src/native/*.ts) to the C++ model spec, tensor list and batch.
#pragma once
#include <napi.h>

#include <vector>

#include "common/forward_batch.h"
#include "common/model_spec.h"

namespace serval {

ModelSpec specFromJs(const Napi::Object& o);
std::vector<TensorRef> tensorsFromJs(const Napi::Array& a);
/** The returned batch points into the JS typed arrays: use it before returning to JavaScript. */
ForwardBatch batchFromJs(const Napi::Object& o);
/** A batch with its own copies of the arrays (for work that outlives the JavaScript call). */
struct OwnedBatch {
  int numTokens = 0, numRows = 0, maxBlocksPerRow = 0, numLogitTokens = 0;
  std::vector<int32_t> tokenIds, positions, slotMapping, queryStartLoc, contextLens, blockTables, logitTokenIndices;
  ForwardBatch view() const;
};
OwnedBatch ownBatch(const ForwardBatch& b);
int intField(const Napi::Object& o, const char* name);
int optionalIntField(const Napi::Object& o, const char* name, int fallback);

}  // namespace serval
