// The reference sampler (host side, used by the ts backend; the CUDA backend mirrors it on the GPU).
// Per row, in vLLM v1's order: raw logprobs → allowed/banned tokens and grammar mask → logit bias → penalties
// (repetition over prompt+output, HF semantics; presence/frequency over output, OpenAI semantics) → greedy argmax,
// or temperature → min_p → top_k → top_p → a draw from the counter-based RNG of (seed, output index).
import type { RowSampling, StepBatch, TokenLogprobs } from './batch.js';
import { counterUniform } from './sampler-rng.js';
import { tokenLogprobs } from './sampler-logprobs.js';

/** vLLM's _SAMPLING_EPS: temperatures below it mean greedy */
const SAMPLING_EPS = 1e-5;

export interface SampleResult {
  sampledTokenIds: Int32Array;
  logprobs: Array<TokenLogprobs | null>;
}

export class Sampler {
  /** counter of the engine-global stream used by rows without a seed */
  private globalCounter = 0;
  constructor(private readonly engineSeed: number) {}

  /** logits: [batch.sampleRows.length, vocabSize] */
  sample(logits: Float32Array, vocabSize: number, batch: StepBatch): SampleResult {
    const n = batch.sampleRows.length;
    if (logits.length < n * vocabSize) throw new Error(`sampler: logits hold ${logits.length} values, expected ${n} rows × ${vocabSize}`);
    const sampledTokenIds = new Int32Array(n);
    const logprobs: Array<TokenLogprobs | null> = new Array(n).fill(null);
    const words = Math.ceil(vocabSize / 32);
    for (let i = 0; i < n; i++) {
      const raw = logits.subarray(i * vocabSize, (i + 1) * vocabSize);
      const s = batch.sampling[i];
      const work = new Float32Array(raw);
      const m = maskRowOf(batch, i);
      const mask = m >= 0 ? batch.grammarBitmask!.subarray(m * words, (m + 1) * words) : null;
      processLogits(work, s, mask);
      // a row whose every token is masked (e.g. a grammar allowing only a banned EOS) samples -1: the engine fails
      // that request alone instead of the whole batch failing
      const token = !hasAllowedToken(work) ? -1 : s.temperature < SAMPLING_EPS ? argmax(work) : this.draw(work, s);
      sampledTokenIds[i] = token;
      if (s.logprobs >= 0 && token >= 0) logprobs[i] = tokenLogprobs(raw, token, s.logprobs);
    }
    return { sampledTokenIds, logprobs };
  }

  private draw(work: Float32Array, s: RowSampling): number {
    const u = s.seed !== null ? counterUniform(s.seed, s.outputIndex) : counterUniform(this.engineSeed, this.globalCounter++);
    return sampleFiltered(work, s, u);
  }
}

/** applies masks, bias and penalties in place */
export function processLogits(work: Float32Array, s: RowSampling, grammarMask: Int32Array | null): void {
  const V = work.length;
  if (s.allowedTokenIds) {
    const keep = new Float32Array(s.allowedTokenIds.length);
    s.allowedTokenIds.forEach((t, j) => (keep[j] = t >= 0 && t < V ? work[t] : -Infinity));
    work.fill(-Infinity);
    s.allowedTokenIds.forEach((t, j) => {
      if (t >= 0 && t < V) work[t] = keep[j];
    });
  }
  if (s.bannedTokenIds) for (const t of s.bannedTokenIds) if (t >= 0 && t < V) work[t] = -Infinity;
  if (grammarMask) {
    for (let t = 0; t < V; t++) if (((grammarMask[t >> 5] >>> (t & 31)) & 1) === 0) work[t] = -Infinity;
  }
  if (s.logitBias) for (const [t, b] of s.logitBias) if (t >= 0 && t < V) work[t] += b;
  if (s.repetitionPenalty !== 1) {
    const p = s.repetitionPenalty;
    const seen = new Set<number>();
    const apply = (ids: ArrayLike<number>) => {
      for (let j = 0; j < ids.length; j++) {
        const t = ids[j];
        if (seen.has(t) || t < 0 || t >= V) continue;
        seen.add(t);
        work[t] = work[t] > 0 ? work[t] / p : work[t] * p;
      }
    };
    apply(s.promptTokenIds);
    apply(s.outputTokenIds);
  }
  if (s.presencePenalty !== 0 || s.frequencyPenalty !== 0) {
    const counts = new Map<number, number>();
    const out = s.outputTokenIds;
    for (let j = 0; j < out.length; j++) counts.set(out[j], (counts.get(out[j]) ?? 0) + 1);
    for (const [t, c] of counts) if (t >= 0 && t < V) work[t] -= s.frequencyPenalty * c + s.presencePenalty;
  }
}

function hasAllowedToken(work: Float32Array): boolean {
  for (let i = 0; i < work.length; i++) if (work[i] !== -Infinity) return true;
  return false;
}

export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  let bv = -Infinity;
  for (let i = 0; i < row.length; i++) {
    if (row[i] > bv) {
      bv = row[i];
      best = i;
    }
  }
  return best;
}

/** temperature, min_p, top_k, top_p, then inverse-CDF sampling with the uniform u (in token-id order) */
export function sampleFiltered(work: Float32Array, s: RowSampling, u: number): number {
  const probs = filteredProbs(work, s);
  let sum = 0;
  for (let i = 0; i < probs.length; i++) sum += probs[i];
  let target = u * sum;
  let last = -1;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] === 0) continue;
    last = i;
    target -= probs[i];
    if (target < 0) return i;
  }
  return last;
}

/** unnormalized probabilities after temperature, min_p, top_k and top_p (0 = filtered out) */
export function filteredProbs(work: Float32Array, s: RowSampling): Float64Array {
  const V = work.length;
  const probs = new Float64Array(V);
  let max = -Infinity;
  for (let i = 0; i < V; i++) if (work[i] > max) max = work[i];
  if (max === -Infinity) throw new Error('sampler: every token is masked out for this row');
  const invT = 1 / s.temperature;
  // probabilities relative to the max (the max has p = 1), so min_p (p >= min_p * pmax) is simply p >= min_p
  for (let i = 0; i < V; i++) probs[i] = work[i] === -Infinity ? 0 : Math.exp((work[i] - max) * invT);
  let threshold = s.minP > 0 ? s.minP : 0;
  const k = s.topK > 0 && s.topK < V ? s.topK : 0;
  const topP = s.topP < 1 ? s.topP : 1;
  if (k > 0 || topP < 1) {
    // Only the largest tokens can survive top-k/top-p, so sort just those above a cut, when the tokens above it
    // already number k (top-k) or hold top_p of the mass (top-p alone); else lower the cut. Exact, and it avoids
    // sorting a 150k vocabulary for every row.
    let massAll = 0;
    for (let i = 0; i < V; i++) if (probs[i] >= threshold) massAll += probs[i];
    let floor = threshold;
    for (const cut of [1e-4, 1e-8, 1e-12, 0]) {
      floor = Math.max(threshold, cut);
      let count = 0;
      let mass = 0;
      for (let i = 0; i < V; i++) {
        if (probs[i] > 0 && probs[i] >= floor) {
          count++;
          mass += probs[i];
        }
      }
      if (k > 0 ? count >= k : mass >= topP * massAll) break;
    }
    let cands = 0;
    for (let i = 0; i < V; i++) if (probs[i] > 0 && probs[i] >= floor) cands++;
    const sorted = new Float64Array(cands);
    for (let i = 0, j = 0; i < V; i++) if (probs[i] > 0 && probs[i] >= floor) sorted[j++] = probs[i];
    sorted.sort(); // ascending
    let keepFrom = 0;
    if (k > 0 && k < cands) keepFrom = cands - k;
    if (topP < 1) {
      // top_p's mass is that of the top-k survivors, or of everything min_p kept
      let mass = massAll;
      if (keepFrom > 0) {
        mass = 0;
        for (let j = keepFrom; j < cands; j++) mass += sorted[j];
      }
      // the smallest set of largest tokens whose mass reaches top_p (at least one token)
      let cum = 0;
      let j = cands - 1;
      for (; j > keepFrom; j--) {
        cum += sorted[j];
        if (cum >= topP * mass) break;
      }
      keepFrom = j;
    }
    threshold = Math.max(threshold, sorted[keepFrom]);
  }
  for (let i = 0; i < V; i++) if (probs[i] < threshold) probs[i] = 0;
  return probs;
}


/** neutral settings: greedy, no filters, no penalties, no logprobs */
export function defaultRowSampling(): RowSampling {
  return {
    temperature: 0,
    topP: 1,
    topK: 0,
    minP: 0,
    repetitionPenalty: 1,
    presencePenalty: 0,
    frequencyPenalty: 0,
    logitBias: null,
    allowedTokenIds: null,
    bannedTokenIds: null,
    seed: null,
    outputIndex: 0,
    logprobs: -1,
    promptLogprobs: -1,
    promptTokenIds: [],
    outputTokenIds: [],
  };
}

/** the bitmask row holding sample row i's grammar mask (its own, or the row it shares: grammarSameAs), -1 for none */
export function maskRowOf(batch: StepBatch, i: number): number {
  if (!batch.grammarBitmask || !batch.grammarRows?.[i]) return -1;
  const same = batch.grammarSameAs?.[i] ?? -1;
  return same >= 0 ? same : i;
}
