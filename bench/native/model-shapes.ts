// Real model shapes (from the Hugging Face config.json files) for dummy-weight benchmarks.
import type { ModelConfig } from '../../src/loader/model-config-types.js';

function qwen2(name: string, s: { hidden: number; inter: number; layers: number; heads: number; kv: number; vocab: number; tie: boolean }): [string, ModelConfig] {
  return [
    name,
    {
      architecture: 'Qwen2ForCausalLM',
      modelType: 'qwen2',
      hiddenSize: s.hidden,
      intermediateSize: s.inter,
      numLayers: s.layers,
      numHeads: s.heads,
      numKvHeads: s.kv,
      headDim: s.hidden / s.heads,
      vocabSize: s.vocab,
      rmsNormEps: 1e-6,
      ropeTheta: 1000000,
      ropeScaling: { type: 'default' },
      maxPositionEmbeddings: 32768,
      tieWordEmbeddings: s.tie,
      attentionBias: true,
      qkNorm: false,
      dtype: 'bfloat16',
      bosTokenId: null,
      eosTokenIds: [151643],
    },
  ];
}

export const QWEN25_SHAPES: Record<string, ModelConfig> = Object.fromEntries([
  qwen2('Qwen2.5-0.5B', { hidden: 896, inter: 4864, layers: 24, heads: 14, kv: 2, vocab: 151936, tie: true }),
  qwen2('Qwen2.5-1.5B', { hidden: 1536, inter: 8960, layers: 28, heads: 12, kv: 2, vocab: 151936, tie: true }),
  qwen2('Qwen2.5-7B', { hidden: 3584, inter: 18944, layers: 28, heads: 28, kv: 4, vocab: 152064, tie: false }),
  qwen2('Qwen2.5-14B', { hidden: 5120, inter: 13824, layers: 48, heads: 40, kv: 8, vocab: 152064, tie: false }),
]);

function layerParams(c: ModelConfig): number {
  const H = c.hiddenSize;
  const qkv = (c.numHeads + 2 * c.numKvHeads) * c.headDim;
  return H * qkv + c.numHeads * c.headDim * H + 3 * H * c.intermediateSize;
}

/** bf16 bytes of all weights */
export function weightBytes(c: ModelConfig): number {
  const embed = c.vocabSize * c.hiddenSize * (c.tieWordEmbeddings ? 1 : 2);
  return 2 * (c.numLayers * layerParams(c) + embed);
}

/** bf16 weight bytes one decode step must read: every layer and the LM head (the embedding only for one row) */
export function decodeReadBytes(c: ModelConfig): number {
  return 2 * (c.numLayers * layerParams(c) + c.vocabSize * c.hiddenSize);
}
