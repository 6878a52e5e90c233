// Lexer walks accept a whole trie subtree at once where all its bytes keep the lexer in a loop (LexerDfa.selfLoops,
// TokenTrie.subtreeBytes): inside format, pattern and maxLength strings. The walk's tokens must be exactly those
// whose bytes the lexer DFA accepts one by one, and the masks exactly the tokens the matcher accepts one by one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StructuredConstraint } from '../../src/engine/types.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { DEAD } from '../../src/structured/lexer-dfa.js';
import { describeState, walkLexer } from '../../src/structured/lexer-walk.js';
import { WALK_DEPTH } from '../../src/structured/token-trie.js';
import type { CompiledGrammar } from '../../src/structured/compiled-grammar.js';
import { qwen } from './qwen-fixture.js';

const q = qwen();
const words = Math.ceil(q.vocab.size / 32);
const enc = new TextEncoder();
const one = (schema: unknown): StructuredConstraint => ({ kind: 'json', schema: { type: 'object', properties: { v: schema }, required: ['v'] } });
const cases: Array<[StructuredConstraint, string]> = [
  [one({ type: 'string', format: 'email' }), '{"v": "ada.lovelace@mail.example.org"}'],
  [one({ type: 'string', format: 'uri' }), '{"v": "https://example.com/a/b?x=1#top"}'],
  [one({ type: 'string', pattern: '^[a-z]{3,40}-[0-9]+$' }), '{"v": "abcdefgh-123"}'],
  [one({ type: 'string', maxLength: 30 }), '{"v": "The quick brown fox"}'],
  [one({ type: 'string', minLength: 5, maxLength: 200 }), '{"v": "abc def"}'],
];

test('loop-subtree walks accept exactly the tokens the lexer DFA accepts byte by byte', () => {
  const provider = createGrammarProvider(q.vocab, { splitWalksAtQuote: false });
  const trie = provider.trie;
  let states = 0;
  let visited = 0;
  let trieNodes = 0;
  for (const [c, text] of cases) {
    const m = provider.create(c);
    const internals = m as unknown as { cg: CompiledGrammar; lex: number };
    const bytes = enc.encode(text);
    for (let j = 0; j < bytes.length; j++) {
      assert.equal(m.acceptBytes([bytes[j]!]), true);
      const { dfa } = internals.cg;
      const s = internals.lex;
      if (dfa.selfLoops(s) === null) continue;
      const canon = describeState(dfa, trie, s);
      const walk = walkLexer(dfa, trie, s, words, canon);
      const limit = canon.clamped ? WALK_DEPTH : Infinity;
      for (let id = 0; id < q.vocab.size; id++) {
        const b = q.vocab.tokenBytes[id];
        let alive = !!b && b.length > 0 && b.length <= limit;
        for (let k = 0; alive && k < b!.length; k++) {
          let t = s;
          for (let i = 0; i <= k && t !== DEAD; i++) t = dfa.next(t, b![i]!);
          alive = t !== DEAD;
        }
        const bit = ((walk.inner[id >>> 5]! >>> (id & 31)) & 1) === 1;
        if (bit !== alive) assert.fail(`${text.slice(0, j + 1)}: token ${id} ${JSON.stringify(new TextDecoder().decode(b ?? new Uint8Array(0)))}: walk ${bit}, byte by byte ${alive}`);
      }
      states++;
      visited += walk.visited;
      trieNodes += trie.nodeCount;
    }
  }
  assert.ok(states > 40, `${states} looping states compared`);
  // the point of it: most of the trie is accepted in bulk rather than walked
  assert.ok(visited * 5 < trieNodes, `${visited} of ${trieNodes} trie nodes visited`);
});

test('masks inside format, pattern and maxLength strings equal token-by-token acceptance', () => {
  const provider = createGrammarProvider(q.vocab); // fresh: every walk below is computed here
  const mask = new Int32Array(words);
  for (const [c, text] of cases) {
    const m = provider.create(c);
    const bytes = enc.encode(text);
    // a handful of positions inside the string value (each checked for every token)
    const start = text.indexOf(': "') + 3;
    for (const j of [start, start + 1, start + 4, Math.floor((start + bytes.length) / 2), bytes.length - 2]) {
      const probe = provider.create(c);
      assert.equal(probe.acceptBytes(bytes.subarray(0, j)), true);
      probe.fillNextTokenBitmask(mask, 0);
      for (let id = 0; id < q.vocab.size; id++) {
        const bit = ((mask[id >>> 5]! >>> (id & 31)) & 1) === 1;
        if (bit !== probe.canAcceptToken(id)) assert.fail(`${text.slice(0, j)}: token ${id}: mask ${bit}`);
      }
    }
    assert.equal(m.acceptBytes(bytes), true);
  }
});
