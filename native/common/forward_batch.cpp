#include "common/forward_batch.h"

#include <stdexcept>
#include <string>

namespace serval {

static void fail(const std::string& msg) { throw std::invalid_argument("forward batch: " + msg); }

void validateBatch(const ForwardBatch& b, int numBlocks, int blockSize, int vocabSize) {
  if (b.numTokens < 0 || b.numRows < 0) fail("numTokens/numRows must be >= 0");
  if (b.queryStartLoc[0] != 0 || b.queryStartLoc[b.numRows] != b.numTokens)
    fail("queryStartLoc must start at 0 and end at numTokens");
  const long long numSlots = (long long)numBlocks * blockSize;
  for (int r = 0; r < b.numRows; ++r) {
    const int qs = b.queryStartLoc[r], qe = b.queryStartLoc[r + 1];
    if (qe < qs) fail("queryStartLoc must be non-decreasing");
    const int ctx = b.contextLens[r];
    if (ctx < qe - qs) fail("contextLens[" + std::to_string(r) + "] is smaller than its query length");
    if ((ctx + blockSize - 1) / blockSize > b.maxBlocksPerRow)
      fail("contextLens[" + std::to_string(r) + "] needs more blocks than maxBlocksPerRow");
    for (int j = 0; j < (ctx + blockSize - 1) / blockSize; ++j) {
      const int blk = b.blockTables[(size_t)r * b.maxBlocksPerRow + j];
      if (blk < 0 || blk >= numBlocks) fail("blockTables row " + std::to_string(r) + " has an invalid block id");
    }
  }
  for (int r = 0; r < b.numRows; ++r)
    for (int t = b.queryStartLoc[r]; t < b.queryStartLoc[r + 1]; ++t)
      if (b.positions[t] < 0 || b.positions[t] >= b.contextLens[r])
        fail("positions[" + std::to_string(t) + "] is outside row " + std::to_string(r) + "'s context length");
  for (int t = 0; t < b.numTokens; ++t) {
    if (b.tokenIds[t] < 0 || b.tokenIds[t] >= vocabSize) fail("tokenIds[" + std::to_string(t) + "] out of vocab");
    if (b.slotMapping[t] < 0 || b.slotMapping[t] >= numSlots) fail("slotMapping[" + std::to_string(t) + "] out of cache");
  }
  for (int i = 0; i < b.numLogitTokens; ++i)
    if (b.logitTokenIndices[i] < 0 || b.logitTokenIndices[i] >= b.numTokens) fail("logit token index out of range");
}

}  // namespace serval
