// The Hugging Face tensor names and shapes of the supported decoder-only architectures, derived from ModelConfig.
// One list serves both directions: validating/loading a checkpoint and writing test models.
// Qwen2, Qwen3, Llama and Mistral share the Llama skeleton; they differ in q/k/v bias, q/k norm and tying.
import type { ModelConfig } from '../loader/model-config-types.js';

export type WeightRole = 'embedding' | 'norm' | 'head-norm' | 'final-norm' | 'linear' | 'bias' | 'lm-head';

export interface WeightSpec {
  name: string;
  shape: number[];
  role: WeightRole;
  /** input width of a linear layer (scales its random init) */
  fanIn?: number;
}

export function layerPrefix(layer: number): string {
  return `model.layers.${layer}`;
}

export function layerWeights(config: ModelConfig, layer: number): WeightSpec[] {
  const { hiddenSize: h, numHeads, numKvHeads, headDim, intermediateSize: inter } = config;
  const p = layerPrefix(layer);
  const qOut = numHeads * headDim;
  const kvOut = numKvHeads * headDim;
  const specs: WeightSpec[] = [
    { name: `${p}.input_layernorm.weight`, shape: [h], role: 'norm' },
    { name: `${p}.self_attn.q_proj.weight`, shape: [qOut, h], role: 'linear', fanIn: h },
    { name: `${p}.self_attn.k_proj.weight`, shape: [kvOut, h], role: 'linear', fanIn: h },
    { name: `${p}.self_attn.v_proj.weight`, shape: [kvOut, h], role: 'linear', fanIn: h },
  ];
  if (config.attentionBias) {
    specs.push(
      { name: `${p}.self_attn.q_proj.bias`, shape: [qOut], role: 'bias' },
      { name: `${p}.self_attn.k_proj.bias`, shape: [kvOut], role: 'bias' },
      { name: `${p}.self_attn.v_proj.bias`, shape: [kvOut], role: 'bias' },
    );
  }
  if (config.qkNorm) {
    specs.push(
      { name: `${p}.self_attn.q_norm.weight`, shape: [headDim], role: 'head-norm' },
      { name: `${p}.self_attn.k_norm.weight`, shape: [headDim], role: 'head-norm' },
    );
  }
  specs.push(
    { name: `${p}.self_attn.o_proj.weight`, shape: [h, qOut], role: 'linear', fanIn: qOut },
    { name: `${p}.post_attention_layernorm.weight`, shape: [h], role: 'norm' },
    { name: `${p}.mlp.gate_proj.weight`, shape: [inter, h], role: 'linear', fanIn: h },
    { name: `${p}.mlp.up_proj.weight`, shape: [inter, h], role: 'linear', fanIn: h },
    { name: `${p}.mlp.down_proj.weight`, shape: [h, inter], role: 'linear', fanIn: inter },
  );
  return specs;
}

/** every tensor the checkpoint must hold, in a stable order (lm_head only when embeddings are untied) */
export function weightLayout(config: ModelConfig): WeightSpec[] {
  const specs: WeightSpec[] = [
    { name: 'model.embed_tokens.weight', shape: [config.vocabSize, config.hiddenSize], role: 'embedding' },
  ];
  for (let l = 0; l < config.numLayers; l++) specs.push(...layerWeights(config, l));
  specs.push({ name: 'model.norm.weight', shape: [config.hiddenSize], role: 'final-norm' });
  if (!config.tieWordEmbeddings) {
    specs.push({ name: 'lm_head.weight', shape: [config.vocabSize, config.hiddenSize], role: 'lm-head' });
  }
  return specs;
}
