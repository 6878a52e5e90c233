// Picks how an engine encodes its prompt texts: a TokenizerPool of worker threads, or the calling thread.
import { availableParallelism } from 'node:os';
import { TokenizerPool } from './encode-pool.js';
import { Tokenizer } from './tokenizer.js';
import type { EncodeOptions, PromptEncoder, TextTokenizer } from './types.js';

/** default pool size: a worker per core but one (the engine's thread), at most 8 */
export function defaultTokenizerPoolSize(cores = availableParallelism()): number {
  return Math.max(0, Math.min(8, cores - 1));
}

/** encodes on the calling thread (pool size 0, or a tokenizer that workers cannot load, e.g. a test's fake) */
export class MainThreadEncoder implements PromptEncoder {
  readonly threads = 0;
  constructor(private readonly tokenizer: TextTokenizer) {}

  async encode(text: string, opts: EncodeOptions = {}): Promise<number[]> {
    if (typeof text !== 'string') throw new TypeError(`encode: the prompt must be a string, got ${typeof text}`);
    return this.tokenizer.encode(text, { addSpecialTokens: opts.addSpecialTokens ?? true });
  }

  encodeMany(texts: readonly string[], opts: EncodeOptions = {}): Promise<number[][]> {
    if (!Array.isArray(texts)) return Promise.reject(new TypeError('encodeMany: texts must be an array of strings'));
    return Promise.all(texts.map((t) => this.encode(t, opts)));
  }

  async whenReady(): Promise<void> {}

  async close(): Promise<void> {}
}

/**
 * `size`: worker threads; null = defaultTokenizerPoolSize(); 0 = off. Only a tokenizer loaded from a folder
 * (loadTokenizer) can be rebuilt in a worker; any other TextTokenizer encodes on the calling thread.
 */
export function createPromptEncoder(tokenizer: TextTokenizer, size: number | null = null): PromptEncoder {
  const n = size ?? defaultTokenizerPoolSize();
  if (!Number.isInteger(n) || n < 0) throw new Error(`tokenizerPoolSize must be a non-negative integer (0 = off), got ${size}`);
  if (n === 0 || !(tokenizer instanceof Tokenizer)) return new MainThreadEncoder(tokenizer);
  return new TokenizerPool(tokenizer, { size: n });
}

/**
 * The engine's PromptEncoder (AsyncEngine has one, `promptEncoder`); an engine without one (a test's fake) encodes
 * with its tokenizer on the calling thread.
 */
export function promptEncoderOf(engine: { readonly tokenizer: TextTokenizer; readonly promptEncoder?: PromptEncoder | null }): PromptEncoder {
  return engine.promptEncoder ?? new MainThreadEncoder(engine.tokenizer);
}
