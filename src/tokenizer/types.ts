// The tokenizer surface the engine, server and structured-output engine use.
import type { ByteLevelTable } from './byte-level-table.js';
export interface DecodeOptions {
  skipSpecialTokens?: boolean;
  spacesBetweenSpecialTokens?: boolean;
}

export interface TextTokenizer {
  /** number of ids the tokenizer knows (vocab + added tokens); may be below the model's vocab_size */
  readonly size: number;
  readonly eosTokenId: number | null;
  readonly bosTokenId: number | null;
  readonly padTokenId: number | null;
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  decode(ids: ArrayLike<number>, opts?: DecodeOptions): string;
  idToToken(id: number): string | undefined;
  tokenToId(token: string): number | undefined;
  /** added tokens marked special (e.g. <|im_end|>) */
  isSpecial(id: number): boolean;
  /** set when decode is provably a plain byte-level stream (byte-level-table.ts): enables the O(1)-per-token detokenizer */
  readonly byteLevelTable?: ByteLevelTable | null;
}

export interface EncodeOptions {
  /** default true, as TextTokenizer.encode */
  addSpecialTokens?: boolean;
}

/**
 * Encodes prompt texts without holding the caller's thread for long (a TokenizerPool), or on it (MainThreadEncoder).
 * Same ids as TextTokenizer.encode; results in input order; a text that fails rejects its own call only.
 */
export interface PromptEncoder {
  /** worker threads encoding (0: the calling thread does) */
  readonly threads: number;
  encode(text: string, opts?: EncodeOptions): Promise<number[]>;
  encodeMany(texts: readonly string[], opts?: EncodeOptions): Promise<number[][]>;
  /** resolves once every worker has loaded the tokenizer; rejects with the reason when they cannot */
  whenReady(): Promise<void>;
  /** stops the workers; calls still waiting reject */
  close(): Promise<void>;
}
