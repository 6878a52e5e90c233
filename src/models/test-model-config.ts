// config.json and generation_config.json contents for make-test-model, per architecture, in either rope style.
export type TestArch = 'qwen2' | 'qwen3' | 'llama' | 'mistral';
export const TEST_ARCHS: readonly TestArch[] = ['qwen2', 'qwen3', 'llama', 'mistral'];
export type RopeStyle = 'old' | 'new';

/** the Qwen tokenizer's special ids (test models ship the real Qwen3 tokenizer) */
export const QWEN_ENDOFTEXT_ID = 151643;
export const QWEN_IM_END_ID = 151645;

export interface TestModelShape {
  arch: TestArch;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  vocabSize: number;
  tie: boolean;
  ropeStyle: RopeStyle;
}

const ARCH_INFO: Record<TestArch, { architecture: string; modelType: string; ropeTheta: number; maxPos: number }> = {
  qwen2: { architecture: 'Qwen2ForCausalLM', modelType: 'qwen2', ropeTheta: 1000000, maxPos: 32768 },
  qwen3: { architecture: 'Qwen3ForCausalLM', modelType: 'qwen3', ropeTheta: 1000000, maxPos: 40960 },
  llama: { architecture: 'LlamaForCausalLM', modelType: 'llama', ropeTheta: 500000, maxPos: 131072 },
  mistral: { architecture: 'MistralForCausalLM', modelType: 'mistral', ropeTheta: 1000000, maxPos: 32768 },
};

/** Llama 3.1's scaling: with the default 8192-token original context every branch (low, medium, high) is used */
const LLAMA3_SCALING = {
  factor: 8.0,
  low_freq_factor: 1.0,
  high_freq_factor: 4.0,
  original_max_position_embeddings: 8192,
};

export function testConfigJson(s: TestModelShape): Record<string, unknown> {
  const info = ARCH_INFO[s.arch];
  const scaling = s.arch === 'llama' ? LLAMA3_SCALING : null;
  const rope =
    s.ropeStyle === 'new'
      ? { rope_parameters: { rope_type: scaling ? 'llama3' : 'default', rope_theta: info.ropeTheta, ...(scaling ?? {}) } }
      : { rope_theta: info.ropeTheta, rope_scaling: scaling ? { rope_type: 'llama3', ...scaling } : null };
  const perArch: Record<string, unknown> =
    s.arch === 'qwen2' || s.arch === 'qwen3'
      ? { use_sliding_window: false, sliding_window: null, max_window_layers: s.layers }
      : s.arch === 'mistral'
        ? { sliding_window: null }
        : { mlp_bias: false, pretraining_tp: 1 };
  if (s.arch !== 'qwen2') perArch['attention_bias'] = false;
  return {
    architectures: [info.architecture],
    model_type: info.modelType,
    hidden_size: s.hidden,
    intermediate_size: s.intermediate,
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    num_key_value_heads: s.kvHeads,
    head_dim: s.headDim,
    hidden_act: 'silu',
    vocab_size: s.vocabSize,
    max_position_embeddings: info.maxPos,
    rms_norm_eps: 1e-6,
    initializer_range: 0.02,
    attention_dropout: 0.0,
    tie_word_embeddings: s.tie,
    use_cache: true,
    bos_token_id: QWEN_ENDOFTEXT_ID,
    eos_token_id: QWEN_IM_END_ID,
    ...perArch,
    ...rope,
    [s.ropeStyle === 'new' ? 'dtype' : 'torch_dtype']: 'bfloat16',
  };
}

export function testGenerationConfigJson(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    bos_token_id: QWEN_ENDOFTEXT_ID,
    eos_token_id: [QWEN_IM_END_ID, QWEN_ENDOFTEXT_ID],
    ...extra,
  };
}
