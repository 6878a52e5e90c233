// What bf16 activations alone cost: the reference forward (fp32, TypeScript) run twice over whole prompts — exact,
// and with values rounded to bf16 exactly where the CUDA backend stores bf16 (GEMM inputs after the norms, the K/V
// cache, the attention output, the SiLU output). The top-5 logprob differences between the two are the floor the
// CUDA backend can reach on these models without changing those precisions (see README.md).
// Usage: node --import tsx bench/native/bf16-emulation.ts [points]   points: comma list of norm,kv,attn,act,final
// (default all) — which of the bf16 stores to emulate, to see which one costs most.
import { loadModelConfig } from '../../src/loader/model-config.js';
import { floatToBf16Bits } from '../../src/loader/dtype-convert.js';
import type { ModelConfig } from '../../src/loader/model-config-types.js';
import { TEST_ARCHS } from '../../src/models/test-model-config.js';
import { addInPlace, linear, rmsNorm, swiGlu } from '../../src/runner/ts/math.js';
import { applyRope, ropeInverseFrequencies } from '../../src/runner/ts/rope.js';
import { loadTsWeights, type TsWeights } from '../../src/runner/ts/ts-weights.js';
import { compareRow, failures } from '../../test/native/logprob-compare.js';
import { makeNativeTestModel } from '../../test/native/native-test-helpers.js';

type Point = 'norm' | 'kv' | 'attn' | 'act' | 'final';
const points = new Set<Point>((process.argv[2] ?? 'norm,kv,attn,act,final').split(',') as Point[]);
const bits = new Uint32Array(1);
const asFloat = new Float32Array(bits.buffer);
function toBf16(a: Float32Array, on: boolean, point: Point): Float32Array {
  if (!on || !points.has(point)) return a;
  for (let i = 0; i < a.length; i++) {
    bits[0] = floatToBf16Bits(a[i]!) << 16;
    a[i] = asFloat[0]!;
  }
  return a;
}

/** logits after the last token of `tokens` (one contiguous causal sequence) */
function lastLogits(c: ModelConfig, w: TsWeights, tokens: number[], bf16: boolean): Float32Array {
  const T = tokens.length, H = c.hiddenSize, hd = c.headDim, I = c.intermediateSize;
  const qW = c.numHeads * hd, kvW = c.numKvHeads * hd, group = c.numHeads / c.numKvHeads;
  const invFreq = ropeInverseFrequencies(hd, c.ropeTheta, c.ropeScaling);
  const cos = new Float64Array(hd / 2), sin = new Float64Array(hd / 2);
  const x = new Float32Array(T * H);
  tokens.forEach((id, t) => x.set(w.embedTokens.subarray(id * H, (id + 1) * H), t * H));
  for (const L of w.layers) {
    const normed = toBf16(rmsNorm(x, T, H, L.inputNorm, c.rmsNormEps), bf16, 'norm');
    const q = linear(normed, T, L.qProj, L.qBias, H, qW);
    const k = linear(normed, T, L.kProj, L.kBias, H, kvW);
    const v = linear(normed, T, L.vProj, L.vBias, H, kvW);
    if (L.qNorm && L.kNorm) {
      rmsNorm(q, T * c.numHeads, hd, L.qNorm, c.rmsNormEps, q);
      rmsNorm(k, T * c.numKvHeads, hd, L.kNorm, c.rmsNormEps, k);
    }
    for (let t = 0; t < T; t++) {
      applyRope(q, t * qW, c.numHeads, hd, t, invFreq, cos, sin);
      applyRope(k, t * kvW, c.numKvHeads, hd, t, invFreq, cos, sin);
    }
    toBf16(k, bf16, 'kv');
    toBf16(v, bf16, 'kv');
    const attn = new Float32Array(T * qW);
    const scores = new Float64Array(T);
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < c.numHeads; h++) {
        const kvOff = Math.floor(h / group) * hd;
        let max = -Infinity;
        for (let j = 0; j <= t; j++) {
          let dot = 0;
          for (let d = 0; d < hd; d++) dot += q[t * qW + h * hd + d]! * k[j * kvW + kvOff + d]!;
          scores[j] = dot / Math.sqrt(hd);
          max = Math.max(max, scores[j]!);
        }
        let sum = 0;
        for (let j = 0; j <= t; j++) sum += scores[j] = Math.exp(scores[j]! - max);
        for (let j = 0; j <= t; j++)
          for (let d = 0; d < hd; d++) attn[t * qW + h * hd + d] += (scores[j]! / sum) * v[j * kvW + kvOff + d]!;
      }
    }
    addInPlace(x, linear(toBf16(attn, bf16, 'attn'), T, L.oProj, null, qW, H));
    const normed2 = toBf16(rmsNorm(x, T, H, L.postNorm, c.rmsNormEps), bf16, 'norm');
    const act = swiGlu(linear(normed2, T, L.gateProj, null, H, I), linear(normed2, T, L.upProj, null, H, I));
    addInPlace(x, linear(toBf16(act, bf16, 'act'), T, L.downProj, null, I, H));
  }
  const last = toBf16(rmsNorm(x.subarray((T - 1) * H), 1, H, w.finalNorm, c.rmsNormEps), bf16, 'final');
  return linear(last, 1, w.lmHead, null, H, c.vocabSize);
}

for (const arch of TEST_ARCHS) {
  const dir = makeNativeTestModel(arch, 151936);
  const config = loadModelConfig(dir);
  const weights = loadTsWeights(dir, config, 'auto');
  const rows = [];
  for (let p = 0; p < 24; p++) {
    const tokens = Array.from({ length: 4 + p }, (_, i) => (p * 7919 + i * 104729) % 150000);
    rows.push(compareRow(lastLogits(config, weights, tokens, false), lastLogits(config, weights, tokens, true)));
  }
  const maxDiff = Math.max(...rows.map((r) => r.maxTop5Diff));
  console.log(`${arch}: fp32 vs bf16 at [${[...points].join(',')}], 24 prompts: max top-5 logprob diff ${maxDiff.toFixed(4)}, ` +
    `rows over 5e-2 or flipped past a 1e-2 gap: ${failures(rows).length}`);
}
