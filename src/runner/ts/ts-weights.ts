// Loads a checkpoint into fp32 typed arrays for the ts backend, checking every tensor's name and shape against
// the architecture's layout. load_format "dummy" fills the same layout with seeded random values instead.
import type { ModelConfig } from '../../loader/model-config-types.js';
import { Checkpoint } from '../../loader/safetensors.js';
import { QWEN_TOKENIZER_VOCAB } from '../../models/make-test-model.js';
import { randomTensor } from '../../models/random-weights.js';
import { layerPrefix, weightLayout } from '../../models/weight-layout.js';

export interface TsLayerWeights {
  inputNorm: Float32Array;
  qProj: Float32Array;
  kProj: Float32Array;
  vProj: Float32Array;
  qBias: Float32Array | null;
  kBias: Float32Array | null;
  vBias: Float32Array | null;
  qNorm: Float32Array | null;
  kNorm: Float32Array | null;
  oProj: Float32Array;
  postNorm: Float32Array;
  gateProj: Float32Array;
  upProj: Float32Array;
  downProj: Float32Array;
}

export interface TsWeights {
  embedTokens: Float32Array;
  layers: TsLayerWeights[];
  finalNorm: Float32Array;
  /** the embedding itself when tied */
  lmHead: Float32Array;
}

export type LoadFormat = 'auto' | 'dummy';

export function loadTsWeights(dir: string, config: ModelConfig, loadFormat: LoadFormat): TsWeights {
  const specs = weightLayout(config);
  const tensors = new Map<string, Float32Array>();
  if (loadFormat === 'dummy') {
    const usedVocab = Math.min(QWEN_TOKENIZER_VOCAB, config.vocabSize);
    const ctx = { seed: 0, modelType: config.modelType, tieWordEmbeddings: config.tieWordEmbeddings, usedVocab };
    for (const spec of specs) tensors.set(spec.name, randomTensor(spec, ctx));
  } else if (loadFormat === 'auto') {
    const checkpoint = Checkpoint.open(dir);
    try {
      for (const spec of specs) tensors.set(spec.name, checkpoint.readFloat32(spec.name, spec.shape));
    } finally {
      checkpoint.close();
    }
  } else {
    throw new Error(`load format "${String(loadFormat)}" is not supported by the ts backend (supported: auto, dummy)`);
  }
  return assemble(config, tensors);
}

function assemble(config: ModelConfig, tensors: Map<string, Float32Array>): TsWeights {
  const get = (name: string): Float32Array => {
    const t = tensors.get(name);
    if (!t) throw new Error(`tensor "${name}" was not loaded`);
    return t;
  };
  const layers: TsLayerWeights[] = [];
  for (let l = 0; l < config.numLayers; l++) {
    const p = layerPrefix(l);
    layers.push({
      inputNorm: get(`${p}.input_layernorm.weight`),
      qProj: get(`${p}.self_attn.q_proj.weight`),
      kProj: get(`${p}.self_attn.k_proj.weight`),
      vProj: get(`${p}.self_attn.v_proj.weight`),
      qBias: config.attentionBias ? get(`${p}.self_attn.q_proj.bias`) : null,
      kBias: config.attentionBias ? get(`${p}.self_attn.k_proj.bias`) : null,
      vBias: config.attentionBias ? get(`${p}.self_attn.v_proj.bias`) : null,
      qNorm: config.qkNorm ? get(`${p}.self_attn.q_norm.weight`) : null,
      kNorm: config.qkNorm ? get(`${p}.self_attn.k_norm.weight`) : null,
      oProj: get(`${p}.self_attn.o_proj.weight`),
      postNorm: get(`${p}.post_attention_layernorm.weight`),
      gateProj: get(`${p}.mlp.gate_proj.weight`),
      upProj: get(`${p}.mlp.up_proj.weight`),
      downProj: get(`${p}.mlp.down_proj.weight`),
    });
  }
  const embedTokens = get('model.embed_tokens.weight');
  return {
    embedTokens,
    layers,
    finalNorm: get('model.norm.weight'),
    lmHead: config.tieWordEmbeddings ? embedTokens : get('lm_head.weight'),
  };
}
