// The GPU sampler's request and result, free of CUDA headers so the Node-API bindings compile with g++.
// Semantics are those of the host sampler (src/runner/sampler.ts); the layout is built by src/native/cuda-sampling.ts.
#pragma once
#include <cstdint>
#include <vector>

namespace serval {

/** int fields per sample row in SampleRequest::rowInts */
enum SampleRowInt : int {
  kRowGreedy = 0,      // 1: argmax (temperature < 1e-5)
  kRowTopK,            // 0: off
  kRowGrammarMask,     // row of grammarMasks, or -1
  kRowListMask,        // row of listMasks (allowed/banned ids), or -1
  kRowBiasStart,       // logit bias entries [start, start + count) of biasIds/biasValues
  kRowBiasCount,
  kRowPenaltyStart,    // penaltyIds[start ..]: promptCount prompt ids, then outputCount output ids
  kRowPromptCount,
  kRowOutputCount,
  kRowNumLogprobs,     // -1: none; N >= 0: the sampled token's logprob + top N
  kRowSeedLo,          // the counter-based RNG's key (seed as two 32-bit words) and counter
  kRowSeedHi,
  kRowCounter,
  kRowIntFields
};
/** double fields per sample row in SampleRequest::rowFloats */
enum SampleRowFloat : int {
  kRowTemperature = 0,
  kRowTopP,
  kRowMinP,
  kRowRepetition,
  kRowPresence,
  kRowFrequency,
  kRowFloatFields
};

/** the most top logprobs one row may ask for on the GPU (each costs one pass over the vocabulary) */
constexpr int kMaxGpuTopLogprobs = 128;

/** One step's sampling: sample row i is logit row i of the forward that ran before (rows [0, numRows)). */
struct SampleRequest {
  int numRows = 0;
  const int32_t* rowInts = nullptr;   // [numRows, kRowIntFields]
  const double* rowFloats = nullptr;  // [numRows, kRowFloatFields]
  const int32_t* grammarMasks = nullptr;
  int numGrammarMasks = 0;  // rows of ceil(vocab / 32) words; bit set = allowed
  const int32_t* listMasks = nullptr;
  int numListMasks = 0;
  const int32_t* biasIds = nullptr;
  const double* biasValues = nullptr;
  int numBias = 0;
  const int32_t* penaltyIds = nullptr;
  int numPenaltyIds = 0;
  /** logit rows copied back as fp32 (prompt logprobs), in this order */
  const int32_t* copyRows = nullptr;
  int numCopyRows = 0;
};

/** what sampling gives back; logprob fields are filled for rows with kRowNumLogprobs >= 0 */
struct SampleResult {
  std::vector<int32_t> tokens;   // [numRows]; -1: the row's masks left no token
  std::vector<double> logprob;   // [numRows]: the sampled token's logprob under the raw logits
  std::vector<int32_t> rank;     // [numRows]: 1 + tokens with a larger raw logit
  int topN = 0;                  // the largest N asked in this step
  std::vector<int32_t> topIds;   // [numRows, topN], best first (ties: lower id first)
  std::vector<double> topLogprobs;
  std::vector<float> logits;     // [numCopyRows, vocab]
  /** timings: GPU time of the forward (cudaEvents), GPU idle between it and sampling, sampling's GPU time, and the
   *  host time spent in sample() preparing the upload and waiting for the stream */
  float forwardGpuMs = 0, gpuGapMs = 0, sampleGpuMs = 0;
  double hostPrepMs = 0, hostWaitMs = 0;
};

/** The sampler alone on given logits [rows, V] (tests and tools): uploads them to `device`, samples like a step. */
void sampleGivenLogits(int device, const float* logits, int rows, int V, const SampleRequest& req, SampleResult& out);

}  // namespace serval
