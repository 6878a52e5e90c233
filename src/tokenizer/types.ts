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
