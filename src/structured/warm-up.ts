// Provider start-up: one sample request through a built-in schema, with a mask at every token, so that V8 has
// compiled the mask path (trie walks, lexer DFA construction, the Earley parser) with the type feedback of real
// masks before the first request arrives. Unwarmed, a process's first masks run in the interpreter: the first
// format-string walk of a benchmark process took 25-50 ms where the same walk takes under 1 ms later on. The
// sample gets a compiled grammar and walk cache of its own, so the provider's caches and counters start empty; only the
// process-wide lexeme automata it built stay interned. The provider keeps the sample's matchers (not used again): once
// they died, V8 dropped the code optimized on their objects at the next full collection, and the first ~200 masks
// after it ran partly unoptimized (bench/structured/results/README.md, round 7).
import { COMPILE_LEXEME_STATES, CompiledGrammar } from './compiled-grammar.js';
import { compileConstraint } from './compile.js';
import { LexerWalkCache } from './lexer-walk.js';
import { GrammarMatcher } from './matcher.js';
import type { TokenTrie } from './token-trie.js';
import type { TokenVocab } from './token-vocab.js';

/** the kinds of value whose masks differ in the code they run: formats, patterns, counted strings, numbers, keys */
const SAMPLE_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'integer', minimum: 1, maximum: 1000000 },
    email: { type: 'string', format: 'email' },
    homepage: { type: 'string', format: 'uri' },
    updated: { type: 'string', format: 'date-time' },
    code: { type: 'string', pattern: '^[A-Z]{2,4}-[0-9]{1,6}$' },
    ref: { type: 'string', pattern: '^[a-z0-9-]{1,120}$' },
    nick: { type: 'string', minLength: 2 },
    key: { type: 'string', format: 'uuid' },
    day: { type: 'string', format: 'date' },
    host: { type: 'string', format: 'hostname' },
    title: { type: 'string', maxLength: 40 },
    summary: { type: 'string', minLength: 1, maxLength: 100 },
    note: { type: 'string' },
    score: { type: 'number', minimum: 0, maximum: 100 },
    ratio: { type: 'number' },
    active: { type: 'boolean' },
    parent: { type: 'null' },
    status: { enum: ['draft', 'published', 'archived'] },
    tags: { type: 'array', items: { type: 'string', maxLength: 20 }, maxItems: 8 },
    meta: { type: 'object', additionalProperties: { anyOf: [{ type: 'string' }, { type: 'integer' }] } },
    points: { type: 'array', items: { type: 'object', properties: { x: { type: 'number' }, y: { type: 'number' } }, required: ['x', 'y'] } },
  },
  required: ['id', 'email', 'title'],
  additionalProperties: false,
};

const SAMPLE = {
  id: 4711,
  email: 'grace.hopper@navy.example.mil',
  homepage: 'http://www.example.org/people/grace?tab=bio#early-life',
  updated: '1985-12-06T09:30:00.250+01:00',
  code: 'FLOW-1959',
  ref: 'univac-i-and-the-a-0-system',
  nick: 'amazing grace',
  key: '3f2b8c1e-9d4a-4b7e-8f21-0c6d5e4a3b2f',
  day: '1952-05-01',
  host: 'harvard.example.edu',
  title: 'Compilers, "bugs" and nanoseconds',
  summary: 'Zürich → Tōkyō: naïve café 😀, tab\tand newline\n escapes \\ /',
  note: 'A longer note with punctuation; numbers 1, 2.5 and -3e8; quotes “like these”.',
  score: 97.25,
  ratio: -0.000125,
  active: true,
  parent: null,
  status: 'published',
  tags: ['navy', 'cobol', 'flow-matic'],
  meta: { born: 'New York', year: 1906, children: 0 },
  points: [
    { x: 1, y: -2.5 },
    { x: 3e2, y: 0 },
  ],
};

/**
 * Walks the sample through a matcher, computing each mask and taking, at each step, the longest token that spells
 * the next bytes of the text (so the sample needs no tokenizer). The sample is valid, so the mask must allow that
 * token: if it does not, the engine has a bug and this throws rather than start a provider that hides it. A
 * vocabulary that cannot spell the rest of the sample (no byte fallback) ends the warm-up there.
 */
export function warmUpMaskPath(vocab: TokenVocab, trie: TokenTrie, splitAtQuote: boolean): GrammarMatcher[] {
  const grammar = compileConstraint({ kind: 'json', schema: SAMPLE_SCHEMA });
  const matchers: GrammarMatcher[] = [];
  const mask = new Int32Array(Math.ceil(vocab.size / 32));
  // pretty-printed and compact, so both whitespace paths are met; each through a compiled grammar of its own: code
  // optimized on one grammar's lexer DFA alone was thrown away again at the next grammar's first masks
  for (const text of [JSON.stringify(SAMPLE, null, 2), JSON.stringify(SAMPLE)]) {
    const cg = new CompiledGrammar(grammar, new LexerWalkCache(), splitAtQuote);
    // as provider.compile does, so that its automaton builder is compiled code by the first request too
    cg.buildLexemeAutomata(COMPILE_LEXEME_STATES);
    const m = new GrammarMatcher(cg, vocab, trie);
    matchers.push(m);
    const bytes = new TextEncoder().encode(text);
    for (let at = 0; at < bytes.length; ) {
      m.fillNextTokenBitmask(mask, 0);
      const id = longestSpellingToken(trie, bytes, at);
      if (id < 0) return matchers;
      if (!((mask[id >>> 5]! >>> (id & 31)) & 1) || !m.acceptToken(id)) {
        throw new Error(`internal: the structured-output warm-up sample was rejected at byte ${at} (token ${id})`);
      }
      at += vocab.tokenBytes[id]!.length;
    }
    if (!m.eosAllowed()) throw new Error('internal: the structured-output warm-up sample did not complete');
  }
  return matchers;
}

/** the longest token whose bytes are a prefix of bytes[at ..], or -1 */
function longestSpellingToken(trie: TokenTrie, bytes: Uint8Array, at: number): number {
  let best = -1;
  let node = 0;
  for (let k = at; k < bytes.length; k++) {
    // the child of `node` with the next byte (children are in byte order, each followed by its subtree)
    let child = node + 1;
    const end = trie.endOf(node);
    while (child < end && trie.byteOf(child) !== bytes[k]) child = trie.endOf(child);
    if (child >= end) break;
    node = child;
    if (trie.tokenOf(node) >= 0) best = trie.tokenOf(node);
  }
  return best;
}
