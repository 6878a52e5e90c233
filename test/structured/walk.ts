// Walk a text through a matcher: accepted only if every token is accepted and EOS is allowed at the end.
// The Qwen tokenizer normalizes to NFC, so a text it would change is fed as its UTF-8 bytes instead.
import type { GrammarMatcher } from '../../src/structured/matcher.js';

export function accepts(m: GrammarMatcher, ids: number[]): boolean {
  for (const id of ids) if (!m.acceptToken(id)) return false;
  return m.eosAllowed();
}

export function acceptsText(m: GrammarMatcher, text: string, encode: (t: string) => number[]): boolean {
  if (text.normalize('NFC') !== text) return m.acceptBytes(new TextEncoder().encode(text)) && m.eosAllowed();
  return accepts(m, encode(text));
}
