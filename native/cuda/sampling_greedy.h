// Greedy sampling on the GPU: the argmax of each LM-head row, so only a token id (not 151,936 logits) comes back.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace serval {

/** rowMask[r] for launchGreedyArgmax: the row is not sampled here (the host samples it) */
constexpr int32_t kGreedySkipRow = -2;
/** rowMask[r]: greedy with no grammar mask */
constexpr int32_t kGreedyNoMask = -1;

/** For each row r of logits [rows, V] with rowMask[r] != kGreedySkipRow: out[r] = argmax over the tokens the mask
 *  allows (rowMask[r] >= 0: bitmask row masks[rowMask[r] * words ..], bit set = allowed). Mirrors the host sampler
 *  (src/runner/sampler.ts) exactly: strict '>' from -inf so the lowest id wins ties and NaN never wins; a row whose
 *  every token is masked or -inf gives -1; a row with allowed tokens that are all NaN gives 0. */
void launchGreedyArgmax(const float* logits, int rows, int V, const int32_t* rowMask, const int32_t* masks, int words,
                        int32_t* out, cudaStream_t s);

}  // namespace serval
