// bad_words (vLLM semantics): each word is tokenized with and without a leading space; a single-token word is
// always banned, a multi-token word's last token is banned when the output ends with the word's other tokens.
import type { TextTokenizer } from '../tokenizer/types.js';

export function tokenizeBadWords(words: readonly string[], tokenizer: TextTokenizer): number[][] {
  const out: number[][] = [];
  for (const word of words) {
    const variants: number[][] = [];
    for (const prefix of ['', ' ']) {
      const ids = tokenizer.encode(prefix + word.trimStart(), { addSpecialTokens: false });
      if (ids.length === 0) continue;
      const prev = variants[variants.length - 1];
      // the spaced variant counts only when it is a different tokenization of the same length (vLLM's rule)
      if (prev && (ids.length !== prev.length || ids[0] === prev[0])) continue;
      variants.push(ids);
    }
    out.push(...variants);
  }
  return out;
}

export function bannedByBadWords(badWords: readonly number[][], output: readonly number[], into: Set<number>): void {
  for (const w of badWords) {
    const k = w.length - 1;
    if (k > output.length) continue;
    let match = true;
    for (let j = 0; j < k; j++) {
      if (output[output.length - k + j] !== w[j]) {
        match = false;
        break;
      }
    }
    if (match) into.add(w[k]);
  }
}
