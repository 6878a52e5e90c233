// What the engine needs to turn a sequence's new token ids into text. IncrementalDetokenizer
// (src/tokenizer/incremental-detokenizer.ts) satisfies it; tests may pass any equivalent.
import type { DecodeOptions } from '../tokenizer/types.js';

export interface SequenceDetokenizer {
  /** text newly completed by these tokens (may hold back an incomplete character) */
  push(ids: number[]): string;
  /** whatever was held back */
  flush(): string;
}

export type DetokenizerFactory = (promptTokenIds: number[], opts: Required<DecodeOptions>) => SequenceDetokenizer;
