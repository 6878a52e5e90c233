// The reference forward (fp32 math of src/runner/ts) of one sequence, step by step over its own K/V cache, with
// values rounded to a 16-bit storage type exactly where a chosen set of stores says: what the CUDA backend's kernels
// keep in bf16/fp16 (see cuda-stores.ts for which stores each kind of CUDA step has). With no store rounded it is the
// ts reference itself (bf16-emulation.ts checks that against ReferenceModel before it measures anything).
import { f16BitsToFloat, floatToBf16Bits, floatToF16Bits } from '../../src/loader/dtype-convert.js';
import type { ModelConfig } from '../../src/loader/model-config-types.js';
import { addInPlace, linear, rmsNorm, swiGlu } from '../../src/runner/ts/math.js';
import { applyRope, ropeInverseFrequencies } from '../../src/runner/ts/rope.js';
import type { TsWeights } from '../../src/runner/ts/ts-weights.js';

/** The places a CUDA step may store an activation in 16 bits (true = rounded to the storage type there). */
export interface Stores {
  /** RMSNorm outputs feeding the QKV and gate/up projections */
  norm: boolean;
  /** the K/V cache */
  kv: boolean;
  /** P (softmax numerators) entering P·V (flash prefill's MMA), the row sums staying fp32 */
  attnP: boolean;
  /** the attention output feeding the o projection */
  attnOut: boolean;
  /** the SiLU-and-mul output feeding the down projection */
  act: boolean;
  /** the final norm's output feeding the LM head */
  final: boolean;
}

export const NO_STORES: Stores = { norm: false, kv: false, attnP: false, attnOut: false, act: false, final: false };

export type Storage16 = 'bf16' | 'fp16';

const bits = new Uint32Array(1);
const asFloat = new Float32Array(bits.buffer);

/** value rounded to nearest-even in the storage type, back as a float (what a store + load does) */
export function round16(x: number, storage: Storage16): number {
  if (storage === 'fp16') return f16BitsToFloat(floatToF16Bits(x));
  bits[0] = floatToBf16Bits(x) << 16;
  return asFloat[0]!;
}

function roundAll(a: Float32Array, on: boolean, storage: Storage16): Float32Array {
  if (on) for (let i = 0; i < a.length; i++) a[i] = round16(a[i]!, storage);
  return a;
}

/** One sequence's forward, one step at a time (tokens at consecutive positions from where the last step ended). */
export class EmulatedSequence {
  private readonly kCache: Float32Array[];
  private readonly vCache: Float32Array[];
  private readonly invFreq: Float64Array;
  private length = 0;

  constructor(
    private readonly c: ModelConfig,
    private readonly w: TsWeights,
    maxLength: number,
    private readonly storage: Storage16 = 'bf16',
    /** the K/V cache's type (a what-if: the CUDA cache is in the storage type) */
    private readonly kvStorage: Storage16 = storage,
  ) {
    const kvW = c.numKvHeads * c.headDim;
    this.kCache = w.layers.map(() => new Float32Array(maxLength * kvW));
    this.vCache = w.layers.map(() => new Float32Array(maxLength * kvW));
    this.invFreq = ropeInverseFrequencies(c.headDim, c.ropeTheta, c.ropeScaling);
  }

  /** positions this sequence holds (the next step's first position) */
  get position(): number {
    return this.length;
  }

  /** runs `tokens` with the given stores rounded; returns the logits after each token in `logitTokens` (indices into
   *  `tokens`), row after row */
  step(tokens: readonly number[], s: Stores, logitTokens: readonly number[] = [tokens.length - 1]): Float32Array {
    const c = this.c, w = this.w, st = this.storage;
    const T = tokens.length, H = c.hiddenSize, hd = c.headDim, I = c.intermediateSize;
    const qW = c.numHeads * hd, kvW = c.numKvHeads * hd;
    const start = this.length;
    if ((start + T) * kvW > this.kCache[0]!.length) throw new Error(`EmulatedSequence: more than its ${this.kCache[0]!.length / kvW} positions`);
    const cos = new Float64Array(hd / 2), sin = new Float64Array(hd / 2);
    const x = new Float32Array(T * H);
    tokens.forEach((id, t) => x.set(w.embedTokens.subarray(id * H, (id + 1) * H), t * H));
    w.layers.forEach((L, l) => {
      const normed = roundAll(rmsNorm(x, T, H, L.inputNorm, c.rmsNormEps), s.norm, st);
      const q = linear(normed, T, L.qProj, L.qBias, H, qW);
      const k = linear(normed, T, L.kProj, L.kBias, H, kvW);
      const v = linear(normed, T, L.vProj, L.vBias, H, kvW);
      if (L.qNorm && L.kNorm) {
        rmsNorm(q, T * c.numHeads, hd, L.qNorm, c.rmsNormEps, q);
        rmsNorm(k, T * c.numKvHeads, hd, L.kNorm, c.rmsNormEps, k);
      }
      for (let t = 0; t < T; t++) {
        applyRope(q, t * qW, c.numHeads, hd, start + t, this.invFreq, cos, sin);
        applyRope(k, t * kvW, c.numKvHeads, hd, start + t, this.invFreq, cos, sin);
      }
      this.kCache[l]!.set(roundAll(k, s.kv, this.kvStorage), start * kvW);
      this.vCache[l]!.set(roundAll(v, s.kv, this.kvStorage), start * kvW);
      const attn = this.attend(l, q, start, T, s.attnP);
      addInPlace(x, linear(roundAll(attn, s.attnOut, st), T, L.oProj, null, qW, H));
      const normed2 = roundAll(rmsNorm(x, T, H, L.postNorm, c.rmsNormEps), s.norm, st);
      const act = swiGlu(linear(normed2, T, L.gateProj, null, H, I), linear(normed2, T, L.upProj, null, H, I));
      addInPlace(x, linear(roundAll(act, s.act, st), T, L.downProj, null, I, H));
    });
    this.length += T;
    const R = logitTokens.length;
    const rows = new Float32Array(R * H);
    logitTokens.forEach((t, i) => rows.set(x.subarray(t * H, (t + 1) * H), i * H));
    return linear(roundAll(rmsNorm(rows, R, H, w.finalNorm, c.rmsNormEps), s.final, st), R, w.lmHead, null, H, c.vocabSize);
  }

  /** causal GQA attention of the step's T queries over the cache (positions 0..start+t); P optionally rounded
   *  before P·V while the softmax denominator sums the unrounded values (flash prefill's MMA) */
  private attend(l: number, q: Float32Array, start: number, T: number, roundP: boolean): Float32Array {
    const c = this.c, hd = c.headDim, qW = c.numHeads * hd, kvW = c.numKvHeads * hd, group = c.numHeads / c.numKvHeads;
    const keys = this.kCache[l]!, values = this.vCache[l]!;
    const out = new Float32Array(T * qW);
    const scores = new Float64Array(start + T);
    for (let t = 0; t < T; t++) {
      const n = start + t + 1;
      for (let h = 0; h < c.numHeads; h++) {
        const kvOff = Math.floor(h / group) * hd, qOff = t * qW + h * hd;
        let max = -Infinity;
        for (let j = 0; j < n; j++) {
          let dot = 0;
          for (let d = 0; d < hd; d++) dot += q[qOff + d]! * keys[j * kvW + kvOff + d]!;
          scores[j] = dot / Math.sqrt(hd);
          if (scores[j]! > max) max = scores[j]!;
        }
        let sum = 0;
        for (let j = 0; j < n; j++) sum += scores[j] = Math.exp(scores[j]! - max);
        for (let j = 0; j < n; j++) {
          const p = (roundP ? round16(scores[j]!, this.storage) : scores[j]!) / sum;
          for (let d = 0; d < hd; d++) out[qOff + d] += p * values[j * kvW + kvOff + d]!;
        }
      }
    }
    return out;
  }
}
