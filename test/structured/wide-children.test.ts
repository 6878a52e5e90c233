// Wide trie nodes (TokenTrie.wideChildren): walks visit only the children whose byte the lexer can take next. The
// index must name every child of a wide node by its byte, and walks and masks over a trie with wide nodes must equal
// those over the same trie without any (every child read).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StructuredConstraint } from '../../src/engine/types.js';
import { compileConstraint } from '../../src/structured/compile.js';
import { CompiledGrammar } from '../../src/structured/compiled-grammar.js';
import { GrammarMatcher } from '../../src/structured/matcher.js';
import { LexerWalkCache, describeState, walkLexer } from '../../src/structured/lexer-walk.js';
import { BYTE_DEPTH, NODE_STRIDE, TokenTrie, WIDE_SHIFT, wideChild } from '../../src/structured/token-trie.js';
import { allowedIds, rng } from './random-walk.js';
import { qwen } from './qwen-fixture.js';

const q = qwen();
const words = Math.ceil(q.vocab.size / 32);
const wide = new TokenTrie(q.vocab);
const plain = new TokenTrie(q.vocab, false);

/** node i's children, from the subtree ends (preorder) */
function children(trie: TokenTrie, i: number): number[] {
  const out: number[] = [];
  for (let c = i + 1; c < trie.endOf(i); c = trie.endOf(c)) out.push(c);
  return out;
}

test('the wide index names every child of a wide node by its byte, and only nodes with 8 or more children are wide', () => {
  let wideNodes = 0;
  for (let i = 0; i < wide.nodeCount; i++) {
    const w = wide.nodes[NODE_STRIDE * i + BYTE_DEPTH]! >>> WIDE_SHIFT;
    const kids = children(wide, i);
    assert.equal(wide.depthOf(i), plain.depthOf(i));
    assert.equal(plain.nodes[NODE_STRIDE * i + BYTE_DEPTH]! >>> WIDE_SHIFT, 0);
    if (w === 0) {
      assert.ok(kids.length < 8, `node ${i} has ${kids.length} children and is not wide`);
      continue;
    }
    wideNodes++;
    const bits = wide.wideChildren.subarray(16 * (w - 1), 16 * (w - 1) + 8);
    let named = 0;
    for (let b = 0; b < 256; b++) if ((bits[b >>> 5]! >>> (b & 31)) & 1) named++;
    assert.equal(named, kids.length, `node ${i}: ${named} bytes for ${kids.length} children`);
    for (const c of kids) assert.equal(wideChild(wide, w - 1, wide.byteOf(c)), c);
  }
  // the root (256 byte tokens) and the spaces, quotes and punctuation that start many tokens
  assert.ok(wideNodes > 1000, `${wideNodes} wide nodes`);
});

const cases: Array<[StructuredConstraint, string]> = [
  [{ kind: 'json', schema: { type: 'object', properties: { cpe: { type: 'array', items: { type: 'string' } } }, required: ['cpe'] } }, '{"cpe": ["cpe:2.3:a:x:y:1.0"]}'],
  [{ kind: 'json', schema: { type: 'object', properties: { id: { type: 'integer' }, tags: { type: 'array', items: { enum: ['a b', 'c'] } }, when: { type: 'string', format: 'date' } } } }, '{"id": 12, "tags": ["a b"], "when": "2024-01-02"}'],
  [{ kind: 'json', schema: { type: 'object', additionalProperties: { type: 'number' } } }, '{"x y": 1.5, "z": -2e3}'],
  [{ kind: 'regex', pattern: '(hello|help)+ [0-9]{2,4}' }, 'hellohelp 123'],
];

test('lexer walks over a trie with wide nodes equal those reading every child, and visit fewer nodes', () => {
  const enc = new TextEncoder();
  let states = 0;
  let visitedWide = 0;
  let visitedPlain = 0;
  let pruned = 0;
  for (const [c, text] of cases) {
    const cg = new CompiledGrammar(compileConstraint(c), new LexerWalkCache(), false);
    const m = new GrammarMatcher(cg, q.vocab, plain);
    const lexOf = () => (m as unknown as { lex: number }).lex;
    for (const b of enc.encode(text)) {
      assert.equal(m.acceptBytes([b]), true);
      const s = lexOf();
      const canon = describeState(cg.dfa, plain, s);
      const a = walkLexer(cg.dfa, wide, s, words, canon);
      const r = walkLexer(cg.dfa, plain, s, words, canon);
      assert.deepEqual(a.inner, r.inner);
      assert.equal(a.boundaryCount, r.boundaryCount);
      assert.deepEqual(Array.from(a.deepNodes), Array.from(r.deepNodes));
      assert.deepEqual(
        a.boundarySlotGroups.map((g) => [Array.from(g.slots), g.nodes]),
        r.boundarySlotGroups.map((g) => [Array.from(g.slots), g.nodes]),
      );
      if (a.visited * 4 <= r.visited) pruned++;
      visitedWide += a.visited;
      visitedPlain += r.visited;
      states++;
    }
  }
  assert.ok(states > 80, `${states} states`);
  // inside a string a walk crosses most of the trie either way; in keys, numbers, literals and after a value it
  // reads a few children where the plain walk reads all of the root's 256
  assert.ok(visitedWide < visitedPlain, `visited ${visitedWide} nodes with wide nodes, ${visitedPlain} without`);
  assert.ok(pruned * 4 > states, `${pruned} of ${states} walks visited at most a quarter of the nodes`);
});

test('masks over a trie with wide nodes equal those reading every child, along random outputs', () => {
  const next = rng(7);
  const mask = new Int32Array(words);
  const ref = new Int32Array(words);
  let masks = 0;
  for (const [c] of cases) {
    for (let run = 0; run < 3; run++) {
      const a = new GrammarMatcher(new CompiledGrammar(compileConstraint(c), new LexerWalkCache(), false), q.vocab, wide);
      const r = new GrammarMatcher(new CompiledGrammar(compileConstraint(c), new LexerWalkCache(), false), q.vocab, plain);
      for (let step = 0; step < 40; step++) {
        a.fillNextTokenBitmask(mask, 0);
        r.fillNextTokenBitmask(ref, 0);
        assert.deepEqual(mask, ref, `mask ${step} of run ${run}`);
        masks++;
        const ids = allowedIds(mask);
        if (ids.length === 0) break;
        const id = ids[Math.floor(next() * ids.length)]!;
        assert.equal(a.acceptToken(id), true);
        assert.equal(r.acceptToken(id), true);
        if (a.isTerminated()) break;
      }
    }
  }
  assert.ok(masks > 100, `${masks} masks compared`);
});
