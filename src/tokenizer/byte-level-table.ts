// The rule that decides whether a tokenizer's decode is a plain byte stream, and the per-id table that lets the
// byte-level detokenizer stream it in O(new tokens).
//
// Tokenizer.decode (the general path) maps ids to token strings; with a ByteLevel decoder each run of vocab tokens
// becomes bytes through the GPT-2 alphabet and is decoded as lossy UTF-8 (U+FFFD per invalid sequence, one for an
// incomplete one at the end of the run); an added token (special or not) ends the run and is written verbatim;
// skipped special tokens are removed before decoding, so they never split a run. That is exactly what the table
// below encodes — but only under the conditions checked here, any of which would make decode do something else:
//   - decoder is exactly {type: "ByteLevel"} (a Sequence could add Strip/Replace/...; no decoder joins with spaces)
//   - model is BPE without end_of_word_suffix (decode would replace the suffix with a space and trim)
//   - clean_up_tokenization_spaces is not true (decode would rewrite " ." → "." etc.)
//   - every id below the tokenizer's size is a vocab or added token (a hole decodes as unk_token)
//   - every vocab string is made of alphabet characters only (decoders disagree on anything else)
//   - no vocab string equals an added token's content (the decoder would treat it as that added token)
// The normalizer plays no part in decoding (it is applied to text being encoded), so it is not a condition.
import { byteLevelCharToByte, writeByteLevelTokenBytes } from './byte-level-alphabet.js';
import type { TokenizerConfig } from './tokenizer-config.js';

/** what one id contributes to a byte-level stream */
export const ByteLevelKind = {
  /** vocab token: bytes from `bytes` */
  Bytes: 0,
  /** added token not marked special: ends the byte run, written verbatim */
  Added: 1,
  /** added token marked special: like Added, or dropped entirely when skipping special tokens */
  Special: 2,
} as const;

export interface ByteLevelTable {
  /** ids at or above size (embedding padding) decode to nothing */
  readonly size: number;
  readonly kind: Uint8Array;
  /** bytes of a vocab token id: bytes[offsets[id] .. offsets[id + 1]) */
  readonly bytes: Uint8Array;
  readonly offsets: Uint32Array;
  /** content of each added token (sparse: only Added / Special ids) */
  readonly addedContent: ReadonlyArray<string | undefined>;
}

interface TokenizerJsonShape {
  decoder?: { type?: string } | null;
  model?: { type?: string; vocab?: unknown; end_of_word_suffix?: string | null };
  added_tokens?: Array<{ id: number; content: string; special?: boolean }>;
}

export type ByteLevelPlan = { table: ByteLevelTable; reason?: undefined } | { table: null; reason: string };

/** builds the table when the fast path is provably equivalent to Tokenizer.decode; otherwise says why not */
export function planByteLevelDecoding(json: unknown, config: TokenizerConfig): ByteLevelPlan {
  const t = json as TokenizerJsonShape;
  const no = (reason: string): ByteLevelPlan => ({ table: null, reason });
  if (t.decoder?.type !== 'ByteLevel') return no(`decoder is ${t.decoder?.type ?? 'absent'}, not ByteLevel`);
  if (t.model?.type !== 'BPE') return no(`model is ${t.model?.type ?? 'absent'}, not BPE`);
  if (t.model.end_of_word_suffix) return no('BPE end_of_word_suffix is set');
  if (config.clean_up_tokenization_spaces === true) return no('clean_up_tokenization_spaces is true');
  const vocab = t.model.vocab;
  if (vocab === null || typeof vocab !== 'object' || Array.isArray(vocab)) return no('BPE vocab is not an object');
  const added = t.added_tokens ?? [];
  const addedContents = new Set(added.map((a) => a.content));
  // one pass over the vocab object (a for-in is much faster than Object.entries on 150k keys)
  const vocabObj = vocab as Record<string, number>;
  const tokenOf: string[] = [];
  for (const token in vocabObj) {
    const id = vocabObj[token]!;
    if (!Number.isInteger(id) || id < 0) return no(`vocab id of ${JSON.stringify(token)} is not a non-negative integer`);
    tokenOf[id] = token;
  }
  let size = tokenOf.length;
  for (const a of added) size = Math.max(size, a.id + 1);

  const charToByte = byteLevelCharToByte();
  const kind = new Uint8Array(size).fill(255);
  const addedContent: Array<string | undefined> = new Array(size);
  for (const a of added) {
    kind[a.id] = a.special ? ByteLevelKind.Special : ByteLevelKind.Added;
    addedContent[a.id] = a.content;
    delete tokenOf[a.id]; // the added token wins, as in the tokenizer
  }
  // every alphabet character is one UTF-16 unit and one byte, so a token's byte length is its string length
  const offsets = new Uint32Array(size + 1);
  for (let id = 0; id < size; id++) {
    const token = tokenOf[id];
    if (token !== undefined) {
      if (addedContents.has(token)) return no(`vocab token ${JSON.stringify(token)} has an added token's content`);
      kind[id] = ByteLevelKind.Bytes;
    }
    offsets[id + 1] = offsets[id]! + (token?.length ?? 0);
  }
  const hole = kind.indexOf(255);
  if (hole >= 0) return no(`id ${hole} has no token`);
  const bytes = new Uint8Array(offsets[size]!);
  for (let id = 0; id < size; id++) {
    const token = tokenOf[id];
    if (token !== undefined && !writeByteLevelTokenBytes(token, charToByte, bytes, offsets[id]!)) {
      return no(`vocab token ${JSON.stringify(token)} is outside the byte-level alphabet`);
    }
  }
  return { table: { size, kind, bytes, offsets, addedContent } };
}
