// The flattened step batch a native forward consumes (views into the TypeScript StepBatch arrays).
#pragma once
#include <cstdint>

namespace serval {

struct ForwardBatch {
  int numTokens = 0;
  const int32_t* tokenIds = nullptr;     // [numTokens]
  const int32_t* positions = nullptr;    // [numTokens]
  const int32_t* slotMapping = nullptr;  // [numTokens]
  int numRows = 0;
  const int32_t* queryStartLoc = nullptr;  // [numRows + 1]
  const int32_t* contextLens = nullptr;    // [numRows]
  const int32_t* blockTables = nullptr;    // [numRows, maxBlocksPerRow]
  int maxBlocksPerRow = 0;
  /** flat token indices whose logits are computed, in output order */
  int numLogitTokens = 0;
  const int32_t* logitTokenIndices = nullptr;
};

/** Throws std::invalid_argument naming the field when the batch is inconsistent with the cache geometry. */
void validateBatch(const ForwardBatch& b, int numBlocks, int blockSize, int vocabSize);

}  // namespace serval
