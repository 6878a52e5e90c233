// Provider start-up, after the warm-up sample: the lexer walks of the built-in string formats' first bytes. A walk
// depends only on the lexer state's description (lexer-walk.ts), which for a format string is the same in every
// schema, yet each character position inside an email or URI is a state of its own whose first walk crosses ~10k
// trie nodes (0.5-3 ms inside the first mask that meets it: most of the cold masks over 250 µs that are not parser
// work). Every state a format string reaches within PREWALK_BYTES bytes after its opening quote is walked here
// once per provider (about 1,200 walks, kept for the provider's life); later positions are walked on first use.
import { CompiledGrammar } from './compiled-grammar.js';
import { compileConstraint } from './compile.js';
import { SUPPORTED_FORMATS } from './json-schema/formats.js';
import type { LexerWalkCache } from './lexer-walk.js';
import { GrammarMatcher } from './matcher.js';
import type { TokenTrie } from './token-trie.js';
import type { TokenVocab } from './token-vocab.js';

/** bytes after the opening quote whose states are walked up front (most emails, dates and short URIs fit) */
export const PREWALK_BYTES = 32;
/** a bound on the states walked per format, whatever its automaton (the built-in ones reach at most ~300) */
const MAX_STATES_PER_FORMAT = 1024;

/** walks every state of each built-in format within PREWALK_BYTES, pinned in `walks`; returns the states walked */
export function prewalkFormats(vocab: TokenVocab, trie: TokenTrie, walks: LexerWalkCache, splitAtQuote: boolean): number {
  const words = Math.ceil(vocab.size / 32);
  let walked = 0;
  walks.pinning = true;
  try {
    for (const format of SUPPORTED_FORMATS) {
      const cg = new CompiledGrammar(compileConstraint({ kind: 'json', schema: { type: 'string', format } }), walks, splitAtQuote);
      const m = new GrammarMatcher(cg, vocab, trie);
      if (!m.acceptBytes([0x22])) throw new Error(`internal: a ${format} string does not start with a quote`);
      // breadth first over the DFA states, by bytes from the quote (dfa.next builds the states it meets)
      const depth = new Map<number, number>([[m.lexerState, 0]]);
      const queue = [m.lexerState];
      for (let q = 0; q < queue.length && depth.size <= MAX_STATES_PER_FORMAT; q++) {
        const s = queue[q]!;
        cg.lexerWalk(s, trie, words);
        walked++;
        const d = depth.get(s)!;
        if (d === PREWALK_BYTES) continue;
        for (let b = 0; b < 256; b++) {
          const t = cg.dfa.next(s, b);
          if (t >= 0 && !depth.has(t)) {
            depth.set(t, d + 1);
            queue.push(t);
          }
        }
      }
    }
  } finally {
    walks.pinning = false;
  }
  return walked;
}
