// config.json → ModelConfig for the supported decoder-only architectures.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  SUPPORTED_ARCHITECTURES,
  type Architecture,
  type ModelConfig,
  type WeightDtype,
} from './model-config-types.js';
import { ConfigFieldReader, asJsonObject } from './config-fields.js';
import { parseRopeSettings } from './rope-config.js';

const DTYPE_NAMES: Record<string, WeightDtype> = {
  bfloat16: 'bfloat16',
  float16: 'float16',
  half: 'float16',
  float32: 'float32',
  float: 'float32',
};

/** transformers' class defaults for fields that config.json may omit */
const ARCH_DEFAULTS: Record<Architecture, { maxPositionEmbeddings: number; ropeTheta: number }> = {
  Qwen2ForCausalLM: { maxPositionEmbeddings: 32768, ropeTheta: 10000 },
  Qwen3ForCausalLM: { maxPositionEmbeddings: 32768, ropeTheta: 10000 },
  LlamaForCausalLM: { maxPositionEmbeddings: 2048, ropeTheta: 10000 },
  MistralForCausalLM: { maxPositionEmbeddings: 131072, ropeTheta: 10000 },
};

export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${path} is not valid JSON: ${(e as Error).message}`);
  }
}

export function loadModelConfig(dir: string): ModelConfig {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new Error(`model directory ${dir} has no config.json`);
  return parseModelConfig(asJsonObject(readJsonFile(path), path), path);
}

export function parseModelConfig(json: Record<string, unknown>, source = 'config.json'): ModelConfig {
  const cfg = new ConfigFieldReader(json, source);
  const architecture = parseArchitecture(json, source);
  const defaults = ARCH_DEFAULTS[architecture];

  const hiddenSize = cfg.requiredInt('hidden_size');
  const numHeads = cfg.requiredInt('num_attention_heads');
  const numKvHeads = cfg.optionalInt('num_key_value_heads') ?? numHeads;
  if (numHeads % numKvHeads !== 0) {
    throw new Error(`${source}: num_attention_heads (${numHeads}) must be a multiple of num_key_value_heads (${numKvHeads})`);
  }
  // Qwen3 always states head_dim (it differs from hidden_size / heads); the others derive it when absent.
  const headDim =
    architecture === 'Qwen3ForCausalLM' ? cfg.requiredInt('head_dim') : (cfg.optionalInt('head_dim') ?? hiddenSize / numHeads);
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) {
    throw new Error(`${source}: head dimension ${headDim} must be an even integer (hidden_size / num_attention_heads or head_dim)`);
  }

  if (cfg.optionalBool('mlp_bias')) throw new Error(`${source}: mlp_bias = true is not supported`);
  rejectSlidingWindow(cfg, architecture, source);
  const rope = parseRopeSettings(cfg, source, defaults.ropeTheta);
  const attentionBias = architecture === 'Qwen2ForCausalLM' ? true : (cfg.optionalBool('attention_bias') ?? false);

  return {
    architecture,
    modelType: cfg.optionalString('model_type') ?? architecture.replace('ForCausalLM', '').toLowerCase(),
    hiddenSize,
    intermediateSize: cfg.requiredInt('intermediate_size'),
    numLayers: cfg.requiredInt('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    vocabSize: cfg.requiredInt('vocab_size'),
    rmsNormEps: cfg.optionalNumber('rms_norm_eps') ?? 1e-6,
    ropeTheta: rope.theta,
    ropeScaling: rope.scaling,
    maxPositionEmbeddings: cfg.optionalInt('max_position_embeddings') ?? defaults.maxPositionEmbeddings,
    tieWordEmbeddings: cfg.optionalBool('tie_word_embeddings') ?? false,
    attentionBias,
    qkNorm: architecture === 'Qwen3ForCausalLM',
    dtype: parseDtype(cfg, source),
    bosTokenId: cfg.tokenIdList('bos_token_id')[0] ?? null,
    eosTokenIds: cfg.tokenIdList('eos_token_id'),
  };
}

function parseArchitecture(json: Record<string, unknown>, source: string): Architecture {
  const list = json['architectures'];
  const supported = SUPPORTED_ARCHITECTURES.join(', ');
  if (!Array.isArray(list) || list.length === 0) {
    throw new Error(`${source}: missing required field "architectures" (supported: ${supported})`);
  }
  const found = list.find((a): a is Architecture => (SUPPORTED_ARCHITECTURES as readonly unknown[]).includes(a));
  if (!found) throw new Error(`${source}: unsupported architecture ${list.map(String).join(', ')} (supported: ${supported})`);
  return found;
}

function parseDtype(cfg: ConfigFieldReader, source: string): WeightDtype {
  const name = cfg.optionalString('dtype') ?? cfg.optionalString('torch_dtype');
  // transformers loads weights as float32 when the config names no dtype.
  if (name === undefined) return 'float32';
  const dtype = DTYPE_NAMES[name.replace(/^torch\./, '')];
  if (!dtype) throw new Error(`${source}: unsupported dtype "${name}" (supported: bfloat16, float16, float32)`);
  return dtype;
}

function rejectSlidingWindow(cfg: ConfigFieldReader, architecture: Architecture, source: string): void {
  if (architecture === 'MistralForCausalLM') {
    // Mistral applies its window whenever it is set; a window at least as long as the context changes nothing.
    const window = cfg.optionalInt('sliding_window');
    const maxPos = cfg.optionalInt('max_position_embeddings') ?? ARCH_DEFAULTS.MistralForCausalLM.maxPositionEmbeddings;
    if (window !== undefined && window < maxPos) {
      throw new Error(`${source}: sliding_window attention (${window} tokens) is not supported`);
    }
  } else if (cfg.optionalBool('use_sliding_window')) {
    throw new Error(`${source}: use_sliding_window = true is not supported`);
  }
}
