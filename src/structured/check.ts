// Walk a token sequence through a matcher and explain where it stops: the users' "why did my output stop here".
import type { GrammarMatcher } from './matcher.js';
import type { TokenVocab } from './token-vocab.js';

export interface CheckResult {
  /** every token accepted and EOS allowed after the last one */
  accepted: boolean;
  tokens: number;
  /** the first token the grammar does not allow, with its position; null when all were allowed */
  firstRejected: { index: number; tokenId: number; tokenText: string; byteOffset: number; acceptedBytesOfToken: number } | null;
  eosAllowedAtEnd: boolean;
}

export function checkTokens(m: GrammarMatcher, vocab: TokenVocab, ids: number[]): CheckResult {
  let byteOffset = 0;
  const dec = new TextDecoder();
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    const bytes = vocab.tokenBytes[id];
    if (!m.acceptToken(id)) {
      // how far into the token the grammar still agreed
      let good = 0;
      if (bytes) while (good < bytes.length && m.acceptBytes(bytes.subarray(good, good + 1))) good++;
      return {
        accepted: false,
        tokens: ids.length,
        firstRejected: { index: i, tokenId: id, tokenText: bytes ? dec.decode(bytes) : `<special ${id}>`, byteOffset, acceptedBytesOfToken: good },
        eosAllowedAtEnd: false,
      };
    }
    byteOffset += bytes ? bytes.length : 0;
  }
  const eos = m.eosAllowed();
  return { accepted: eos, tokens: ids.length, firstRejected: null, eosAllowedAtEnd: eos };
}
