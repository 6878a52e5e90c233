// Picks the detokenizer for a tokenizer by an explicit rule: the byte-level stream when the tokenizer carries a
// ByteLevelTable (its decode was proven to be a plain byte stream when it was loaded, see byte-level-table.ts),
// otherwise the general decode-and-compare method that works for any decoder.
import { ByteLevelDetokenizer } from './byte-level-detokenizer.js';
import { IncrementalDetokenizer } from './incremental-detokenizer.js';
import type { DecodeOptions, TextTokenizer } from './types.js';

export type StreamDetokenizer = ByteLevelDetokenizer | IncrementalDetokenizer;

export function createDetokenizer(tokenizer: TextTokenizer, promptTokenIds: ArrayLike<number>, opts: DecodeOptions = {}): StreamDetokenizer {
  const table = tokenizer.byteLevelTable;
  return table ? new ByteLevelDetokenizer(table, promptTokenIds, opts) : new IncrementalDetokenizer(tokenizer, promptTokenIds, opts);
}
