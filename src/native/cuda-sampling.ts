// StepBatch → the GPU sampler's request (native/cuda/sampling_api.h), and its result → StepResult. Every sample row is
// sampled on the GPU with src/runner/sampler.ts's semantics; only token ids, the requested logprobs and the logit rows
// of prompt-logprob rows come back. The grammar bitmask goes as one row per distinct mask (cuda-sampling-masks.ts:
// rows in the same grammar state share one); allowed/banned ids become one bitmask row per row that has them; logit
// bias entries and penalty token ids are uploaded compactly.
import type { RowSampling, StepBatch, StepResult, TokenLogprobs } from '../runner/batch.js';
import { computePromptLogprobs } from '../runner/ts-backend.js';
import type { NativeSampleRequest, NativeSampleResult } from './addon.js';
import { distinctMasks, type DistinctMasks } from './cuda-sampling-masks.js';
import type { LogitLayout } from './native-forward.js';

/** the host sampler's greedy threshold (vLLM's _SAMPLING_EPS) */
const SAMPLING_EPS = 1e-5;

/** int fields per row, in sampling_api.h's SampleRowInt order */
export const enum RowInt {
  Greedy,
  TopK,
  GrammarMask,
  ListMask,
  BiasStart,
  BiasCount,
  PenaltyStart,
  PromptCount,
  OutputCount,
  NumLogprobs,
  SeedLo,
  SeedHi,
  Counter,
}
export const ROW_INT_FIELDS = 13;
/** double fields per row, in sampling_api.h's SampleRowFloat order */
export const enum RowFloat {
  Temperature,
  TopP,
  MinP,
  Repetition,
  Presence,
  Frequency,
}
export const ROW_FLOAT_FIELDS = 6;
/** the most top logprobs a row may ask for on the GPU (sampling_api.h kMaxGpuTopLogprobs) */
export const MAX_GPU_TOP_LOGPROBS = 128;

/**
 * Rows without a seed draw from one engine-global counter stream, as on the host (Sampler.globalCounter). One
 * difference: the host skips the counter for a row whose masks leave no token, the GPU request assigns it before the
 * masks are looked at. (The engine gives every request a seed, so only direct backend users see this stream.)
 */
export interface GlobalRngStream {
  readonly seed: number;
  counter: number;
}

/** a bitmask row allowing exactly `allowed` (all when null) minus `banned` */
function listMaskRow(allowed: Int32Array | null, banned: Int32Array | null, vocab: number, words: number): Int32Array {
  const m = new Int32Array(words);
  if (allowed) {
    for (const t of allowed) if (t >= 0 && t < vocab) m[t >> 5]! |= 1 << (t & 31);
  } else {
    m.fill(-1);
  }
  if (banned) for (const t of banned) if (t >= 0 && t < vocab) m[t >> 5]! &= ~(1 << (t & 31));
  return m;
}

function checkRow(s: RowSampling, i: number): void {
  const bad = (what: string) => {
    throw new Error(`cuda sampling: sample row ${i}: ${what}`);
  };
  if (!(s.temperature >= 0)) bad(`temperature ${s.temperature} is not >= 0`);
  if (!(s.repetitionPenalty > 0)) bad(`repetition_penalty ${s.repetitionPenalty} is not > 0`);
  if (!Number.isInteger(s.topK) || s.topK < -1) bad(`top_k ${s.topK} is not an integer >= -1`);
  if (s.logprobs > MAX_GPU_TOP_LOGPROBS) bad(`logprobs ${s.logprobs} is more than the GPU sampler supports (${MAX_GPU_TOP_LOGPROBS})`);
}

/**
 * The request for one step. `rng` advances by one for every non-greedy row without a seed. Rows are the step's
 * sample rows, in order (they are the forward's first logit rows); prompt-logit rows are copied back.
 */
export function buildSampleRequest(batch: StepBatch, layout: LogitLayout, vocabSize: number, rng: GlobalRngStream): NativeSampleRequest {
  const n = batch.sampleRows.length;
  const words = Math.ceil(vocabSize / 32);
  const rowInts = new Int32Array(n * ROW_INT_FIELDS);
  const rowFloats = new Float64Array(n * ROW_FLOAT_FIELDS);
  const grammar = batch.grammarBitmask;
  if (grammar && grammar.length !== n * words) {
    throw new Error(`cuda sampling: grammarBitmask holds ${grammar.length} words, expected ${n} rows × ${words}`);
  }
  const masks: DistinctMasks | null = grammar ? distinctMasks(grammar, batch.grammarRows ?? new Uint8Array(n), words, batch.grammarSameAs) : null;
  const listRows: Int32Array[] = [];
  const biasIds: number[] = [];
  const biasValues: number[] = [];
  const penaltyParts: ArrayLike<number>[] = [];
  let penaltyLen = 0;
  for (let i = 0; i < n; i++) {
    const s = batch.sampling[i]!;
    checkRow(s, i);
    const I = i * ROW_INT_FIELDS;
    const F = i * ROW_FLOAT_FIELDS;
    const greedy = s.temperature < SAMPLING_EPS;
    rowInts[I + RowInt.Greedy] = greedy ? 1 : 0;
    rowInts[I + RowInt.TopK] = s.topK;
    rowInts[I + RowInt.GrammarMask] = masks ? masks.index[i]! : -1;
    if (s.allowedTokenIds || (s.bannedTokenIds && s.bannedTokenIds.length > 0)) {
      rowInts[I + RowInt.ListMask] = listRows.length;
      listRows.push(listMaskRow(s.allowedTokenIds, s.bannedTokenIds, vocabSize, words));
    } else {
      rowInts[I + RowInt.ListMask] = -1;
    }
    rowInts[I + RowInt.BiasStart] = biasIds.length;
    if (s.logitBias) {
      for (const [t, b] of s.logitBias) {
        biasIds.push(t);
        biasValues.push(b);
      }
    }
    rowInts[I + RowInt.BiasCount] = biasIds.length - rowInts[I + RowInt.BiasStart]!;
    // repetition reads prompt + output ids; presence/frequency only output ids
    const rep = s.repetitionPenalty !== 1;
    const outPenalty = rep || s.presencePenalty !== 0 || s.frequencyPenalty !== 0;
    rowInts[I + RowInt.PenaltyStart] = penaltyLen;
    rowInts[I + RowInt.PromptCount] = rep ? s.promptTokenIds.length : 0;
    rowInts[I + RowInt.OutputCount] = outPenalty ? s.outputTokenIds.length : 0;
    if (rep) penaltyParts.push(s.promptTokenIds);
    if (outPenalty) penaltyParts.push(s.outputTokenIds);
    penaltyLen += rowInts[I + RowInt.PromptCount]! + rowInts[I + RowInt.OutputCount]!;
    rowInts[I + RowInt.NumLogprobs] = s.logprobs >= 0 ? s.logprobs : -1;
    const seed = s.seed ?? rng.seed;
    rowInts[I + RowInt.SeedLo] = seed >>> 0;
    rowInts[I + RowInt.SeedHi] = Math.floor(seed / 4294967296) >>> 0;
    rowInts[I + RowInt.Counter] = s.seed !== null ? s.outputIndex : greedy ? 0 : rng.counter++;
    rowFloats[F + RowFloat.Temperature] = s.temperature;
    rowFloats[F + RowFloat.TopP] = s.topP;
    rowFloats[F + RowFloat.MinP] = s.minP;
    rowFloats[F + RowFloat.Repetition] = s.repetitionPenalty;
    rowFloats[F + RowFloat.Presence] = s.presencePenalty;
    rowFloats[F + RowFloat.Frequency] = s.frequencyPenalty;
  }
  const listMasks = new Int32Array(listRows.length * words);
  listRows.forEach((m, k) => listMasks.set(m, k * words));
  const penaltyIds = new Int32Array(penaltyLen);
  let at = 0;
  for (const part of penaltyParts) {
    if (part instanceof Int32Array) penaltyIds.set(part, at);
    else for (let j = 0; j < part.length; j++) penaltyIds[at + j] = part[j]!;
    at += part.length;
  }
  const nLogit = layout.tokenIndices.length;
  return {
    numRows: n,
    rowInts,
    rowFloats,
    grammarMasks: masks?.masks ?? new Int32Array(0),
    listMasks,
    biasIds: Int32Array.from(biasIds),
    biasValues: Float64Array.from(biasValues),
    penaltyIds,
    copyRows: Int32Array.from({ length: nLogit - n }, (_, j) => n + j),
  };
}

/** The step's result from the sampler's: tokens, logprobs of the rows that asked, prompt logprobs (host). */
export function sampleResultToStep(batch: StepBatch, layout: LogitLayout, vocabSize: number, r: NativeSampleResult): StepResult {
  const n = batch.sampleRows.length;
  const sampledTokenIds = r.tokens.slice(0, n);
  const logprobs: Array<TokenLogprobs | null> = new Array(n).fill(null);
  for (let i = 0; i < n; i++) {
    const want = batch.sampling[i]!.logprobs;
    if (want < 0 || sampledTokenIds[i]! < 0) continue;
    const top: TokenLogprobs['top'] = [];
    for (let j = 0; j < want; j++) {
      const id = r.topIds[i * r.topN + j]!;
      if (id < 0) break;
      top.push({ tokenId: id, logprob: r.topLogprobs[i * r.topN + j]! });
    }
    logprobs[i] = { logprob: r.logprob[i]!, rank: r.rank[i]!, top };
  }
  // prompt-logit rows came back in layout order right after the sample rows
  const promptLogits: Array<Float32Array | null> = [];
  for (let row = 0; row < batch.numRows; row++) {
    const start = layout.promptStart[row]!;
    if (start < 0) {
      promptLogits.push(null);
      continue;
    }
    const at = start - n;
    const len = batch.queryStartLoc[row + 1]! - batch.queryStartLoc[row]!;
    promptLogits.push(r.logits.subarray(at * vocabSize, (at + len) * vocabSize));
  }
  return { sampledTokenIds, logprobs, promptLogprobs: computePromptLogprobs(batch, promptLogits, vocabSize) };
}
