// The normalized view of a Hugging Face `config.json` that every backend consumes.
// Parsing (both the old top-level rope style and transformers 5 `rope_parameters`) lives in model-config.ts.

export const SUPPORTED_ARCHITECTURES = [
  'Qwen2ForCausalLM',
  'Qwen3ForCausalLM',
  'LlamaForCausalLM',
  'MistralForCausalLM',
] as const;
export type Architecture = (typeof SUPPORTED_ARCHITECTURES)[number];

export type WeightDtype = 'bfloat16' | 'float16' | 'float32';

export type RopeScaling =
  | { type: 'default' }
  | {
      type: 'llama3';
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositionEmbeddings: number;
    };

export interface ModelConfig {
  architecture: Architecture;
  modelType: string;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling;
  maxPositionEmbeddings: number;
  tieWordEmbeddings: boolean;
  /** bias on q/k/v projections (Qwen2) */
  attentionBias: boolean;
  /** per-head RMSNorm on q and k before RoPE (Qwen3) */
  qkNorm: boolean;
  dtype: WeightDtype;
  bosTokenId: number | null;
  eosTokenIds: number[];
}
