// Kernels of the GPU sampler (sampling_kernels.cu), launched by GpuSampler (sampling_gpu.cu). Every row is one
// block, so a row's result never depends on the other rows of the batch.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace serval {

/** device pointers into one step's uploaded request (layouts: sampling_api.h) */
struct SampleRowsArgs {
  const float* logits;  // [rows, V]: LM-head output; edited in place by launchApplyLogitEdits
  int rows, V, words;
  const int32_t* rowInts;   // [rows, kRowIntFields]
  const double* rowFloats;  // [rows, kRowFloatFields]
  const int32_t* rowAux;    // [rows, 2]: penalty scratch slot (-1: none), raw-copy row (-1: logits hold raw values)
  const int32_t* grammarMasks;
  const int32_t* listMasks;
  const int32_t* biasIds;
  const double* biasValues;
  const int32_t* penaltyIds;
  int32_t* penaltyScratch;  // [slots, V], all zero between steps (the edit kernel clears what it used)
  float* rawCopy;           // [raw rows, V]
  int32_t* tokens;          // [rows]
  int topN;                 // stride of the top-logprob outputs
  int32_t* ranks;           // [rows]
  int32_t* topIds;          // [rows, topN]
  double* logprob;          // [rows]
  double* topLogprobs;      // [rows, topN]
};

/** logit bias, then repetition / presence / frequency penalties, in place (raw rows copied first where the row
 *  also wants logprobs); rows without any edit return at once */
void launchApplyLogitEdits(const SampleRowsArgs& a, cudaStream_t s);
/** one token per row: greedy argmax or temperature → min_p → top_k → top_p → a counter-based draw */
void launchSampleRows(const SampleRowsArgs& a, cudaStream_t s);
/** the sampled token's logprob and rank under the raw logits, and the top N, for rows that ask */
void launchRowLogprobs(const SampleRowsArgs& a, cudaStream_t s);

}  // namespace serval
