// A model folder for `--load-format dummy` runs in real shapes: the HF config.json of a Qwen2.5 shape (from
// bench/native/model-shapes.ts) plus the tokenizer files; no weights (the CUDA backend fills them on the GPU).
// HF transformers reads the same config.json for the side-by-side peer (bench/gpu/hf_generate.py).
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { QWEN25_SHAPES } from '../native/model-shapes.js';

export function writeDummyModelDir(shape: string, out: string, tokenizerDir: string): string {
  const c = QWEN25_SHAPES[shape];
  if (!c) throw new Error(`unknown shape "${shape}" (known: ${Object.keys(QWEN25_SHAPES).join(', ')})`);
  mkdirSync(out, { recursive: true });
  const config = {
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    num_key_value_heads: c.numKvHeads,
    hidden_act: 'silu',
    vocab_size: c.vocabSize,
    max_position_embeddings: c.maxPositionEmbeddings,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    tie_word_embeddings: c.tieWordEmbeddings,
    use_sliding_window: false,
    sliding_window: null,
    max_window_layers: c.numLayers,
    attention_dropout: 0.0,
    bos_token_id: 151643,
    eos_token_id: c.eosTokenIds[0],
    torch_dtype: 'bfloat16',
  };
  writeFileSync(join(out, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(tokenizerDir, f), join(out, f));
  return out;
}
