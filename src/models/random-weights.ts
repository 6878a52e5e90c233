// Seeded random values for one tensor of a test model (also used by load_format "dummy").
// Scales keep activations near unit RMS through the layers and make logits spread widely, so the best and
// second-best tokens are usually far apart (greedy decoding then agrees across fp32 implementations).
import { fillUniform, tensorRandom } from './seeded-random.js';
import type { WeightSpec } from './weight-layout.js';

export const INIT_SCALES = {
  // Small input embeddings keep a token's own embedding from dominating the residual stream: with tied
  // embeddings it would otherwise win the LM head (e·e) and the model would repeat its input forever.
  embeddingStd: 0.1,
  lmHeadStd: 0.5,
  /** linear layers: std = linearGain / sqrt(fan_in) */
  linearGain: 1.0,
  normSpread: 0.2,
  biasStd: 0.2,
};

export interface RandomTensorContext {
  seed: number;
  /** separates architectures that share tensor names, so a llama and a mistral of one seed differ */
  modelType: string;
  tieWordEmbeddings: boolean;
  /** rows of the embedding / LM head at or beyond this id (padding past the tokenizer's ids) stay zero, so those
   *  ids never win: their logit is exactly 0 while real ids spread far above it */
  usedVocab: number;
}

export function randomTensor(spec: WeightSpec, ctx: RandomTensorContext): Float32Array {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(count);
  const rand = tensorRandom(ctx.seed, `${ctx.modelType}:${spec.name}`);
  const usedVocab = ctx.usedVocab;
  switch (spec.role) {
    case 'embedding':
    case 'lm-head': {
      const width = spec.shape[1]!;
      const rows = Math.min(usedVocab, spec.shape[0]!);
      const std = spec.role === 'embedding' ? INIT_SCALES.embeddingStd : INIT_SCALES.lmHeadStd;
      fillUniform(out.subarray(0, rows * width), rand, std);
      return out;
    }
    case 'norm':
    case 'head-norm':
      return fillUniform(out, rand, INIT_SCALES.normSpread / Math.sqrt(3), 1);
    case 'linear':
      return fillUniform(out, rand, INIT_SCALES.linearGain / Math.sqrt(spec.fanIn ?? spec.shape[1]!));
    case 'final-norm': {
      // Tied heads reuse the small embedding; the final norm's gain restores a wide logit spread.
      const gain = ctx.tieWordEmbeddings ? INIT_SCALES.lmHeadStd / INIT_SCALES.embeddingStd : 1;
      return fillUniform(out, rand, (gain * INIT_SCALES.normSpread) / Math.sqrt(3), gain);
    }
    case 'bias':
      return fillUniform(out, rand, INIT_SCALES.biasStd);
  }
}
