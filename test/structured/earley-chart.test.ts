// The Earley chart's bookkeeping: set keys are interned from numeric (rule, dot, origin key) triples and items are
// deduplicated per set by a stamped hash table (earley.ts). Checked against the definitions they replace: two sets
// get the same key exactly when their items, with origins described recursively, are the same (the string keys the
// parser used before), and no set holds an item twice; along random outputs of schemas whose sets outgrow the first
// capacities of the chart and of the duplicates table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StructuredConstraint } from '../../src/engine/types.js';
import { CompiledGrammar } from '../../src/structured/compiled-grammar.js';
import { compileConstraint } from '../../src/structured/compile.js';
import { SetKeyInterner } from '../../src/structured/earley.js';
import { GrammarMatcher } from '../../src/structured/matcher.js';
import { LexerWalkCache } from '../../src/structured/lexer-walk.js';
import { TokenTrie } from '../../src/structured/token-trie.js';
import { qwen } from './qwen-fixture.js';
import { allowedIds, rng } from './random-walk.js';

const q = qwen();
const words = Math.ceil(q.vocab.size / 32);
const trie = new TokenTrie(q.vocab);
const json = (schema: unknown): StructuredConstraint => ({ kind: 'json', schema }) as StructuredConstraint;

interface Chart {
  iRule: Int32Array;
  iDot: Int32Array;
  iOrigin: Int32Array;
  setStart: Int32Array;
  setCount: number;
  stateKey(): number;
}

/** the key the parser used before: its items as `rule.dot.origin` strings, origins described recursively, sorted */
function stringKey(c: Chart, k: number, memo: Map<number, string>): string {
  const hit = memo.get(k);
  if (hit !== undefined) return hit;
  const parts: string[] = [];
  for (let i = c.setStart[k]!; i < c.setStart[k + 1]!; i++) {
    const o = c.iOrigin[i]!;
    parts.push(`${c.iRule[i]}.${c.iDot[i]}.${o === k ? 's' : `(${stringKey(c, o, memo)})`}`);
  }
  const key = parts.sort().join(' ');
  memo.set(k, key);
  return key;
}

/** random outputs through fresh matchers of one compiled grammar: at every step, keys against string keys */
function checkKeys(constraint: StructuredConstraint, seed: number, walks: number, steps: number): { sets: number; maxSetItems: number; keys: number } {
  const cg = new CompiledGrammar(compileConstraint(constraint), new LexerWalkCache());
  const next = rng(seed);
  const mask = new Int32Array(words);
  const idOf = new Map<string, number>();
  const keyOf = new Map<number, string>();
  let sets = 0;
  let maxSetItems = 0;
  for (let w = 0; w < walks; w++) {
    const m = new GrammarMatcher(cg, q.vocab, trie);
    const chart = (m as unknown as { parser: Chart }).parser;
    for (let i = 0; i < steps; i++) {
      const id = chart.stateKey();
      const top = chart.setCount - 1;
      const key = stringKey(chart, top, new Map());
      assert.equal(idOf.get(key) ?? id, id, `walk ${w} step ${i}: a set met before under another key`);
      assert.equal(keyOf.get(id) ?? key, key, `walk ${w} step ${i}: two different sets share key ${id}`);
      idOf.set(key, id);
      keyOf.set(id, key);
      // no item twice in any set of the chart
      for (let k = 0; k < chart.setCount; k++) {
        const seen = new Set<string>();
        for (let j = chart.setStart[k]!; j < chart.setStart[k + 1]!; j++) {
          const item = `${chart.iRule[j]}.${chart.iDot[j]}.${chart.iOrigin[j]}`;
          assert.ok(!seen.has(item), `walk ${w} step ${i}: set ${k} holds ${item} twice`);
          seen.add(item);
        }
        maxSetItems = Math.max(maxSetItems, chart.setStart[k + 1]! - chart.setStart[k]!);
      }
      sets++;
      m.fillNextTokenBitmask(mask, 0);
      const ids = allowedIds(mask).filter((t) => !q.vocab.eosIds.includes(t));
      if (ids.length === 0) break;
      assert.ok(m.acceptToken(ids[Math.floor(next() * ids.length)]!));
    }
  }
  return { sets, maxSetItems, keys: keyOf.size };
}

test('set keys are equal exactly for equal sets, and no set holds an item twice (nested objects and arrays)', () => {
  const r = checkKeys(
    json({
      type: 'object',
      properties: {
        name: { type: 'string', maxLength: 8 },
        tags: { type: 'array', items: { type: 'string', maxLength: 4 }, maxItems: 3 },
        child: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'boolean' } } },
        kind: { enum: ['x', 'y', 'z'] },
      },
      required: ['name'],
    }),
    7,
    12,
    60,
  );
  // outgrew the first capacities: 8 sets, 32 items, a duplicates table of 8 slots (half full at 4 items)
  assert.ok(r.maxSetItems > 4, `largest set ${r.maxSetItems}`);
  assert.ok(r.keys > 20 && r.keys < r.sets, `${r.keys} keys for ${r.sets} sets: some states must recur`);
});

test('set keys with ambiguity: anyOf alternatives that share prefixes put many items with equal rules in one set', () => {
  const r = checkKeys(
    json({
      anyOf: [
        { type: 'array', items: { type: 'integer' } },
        { type: 'array', items: { anyOf: [{ type: 'integer' }, { type: 'number' }, { type: 'string', maxLength: 3 }] } },
        { type: 'object', additionalProperties: { anyOf: [{ type: 'integer' }, { type: 'array', items: { type: 'number' } }] } },
      ],
    }),
    11,
    12,
    60,
  );
  assert.ok(r.maxSetItems > 16, `largest set ${r.maxSetItems}`);
  assert.ok(r.keys > 10 && r.keys < r.sets, `${r.keys} keys for ${r.sets} sets`);
});

test('the set-key interner: the same triples in any order get one id, other triples another', () => {
  const keys = new SetKeyInterner();
  const a = Int32Array.of(5, 1, -1, 2, 0, 3, 5, 1, 0);
  const permuted = Int32Array.of(2, 0, 3, 5, 1, 0, 5, 1, -1);
  const id = keys.intern(a, 3);
  assert.equal(keys.intern(permuted, 3), id);
  // the caller's scratch may be longer than the triples read
  assert.equal(keys.intern(Int32Array.of(5, 1, 0, 5, 1, -1, 2, 0, 3, 99, 99, 99), 3), id);
  assert.notEqual(keys.intern(Int32Array.of(5, 1, -1, 2, 0, 3), 2), id, 'a subset');
  assert.notEqual(keys.intern(Int32Array.of(5, 1, -1, 2, 0, 4, 5, 1, 0), 3), id, 'one origin differs');
  assert.notEqual(keys.intern(Int32Array.of(5, 1, -1, 5, 1, -1, 2, 0, 3, 5, 1, 0), 4), id, 'a triple twice');
  assert.equal(keys.size, 4);
  // sets up to 24 triples are sorted by insertion, larger ones by comparator: both orders give one id, near the bound
  for (const n of [12, 24, 25]) {
    const sorted = new Int32Array(3 * n);
    for (let j = 0; j < n; j++) sorted.set([j % 4, j % 3, j], 3 * j);
    const shuffled = new Int32Array(3 * n);
    for (let j = 0; j < n; j++) shuffled.set(sorted.subarray(3 * ((j * 7) % n), 3 * ((j * 7) % n) + 3), 3 * j);
    assert.equal(keys.intern(shuffled, n), keys.intern(sorted, n), `${n} triples`);
  }
  // many triples: past the scratch's first capacity
  const big = new Int32Array(3 * 500);
  for (let j = 0; j < 500; j++) big.set([j % 37, j % 5, j], 3 * j);
  const reversed = new Int32Array(3 * 500);
  for (let j = 0; j < 500; j++) reversed.set(big.subarray(3 * (499 - j), 3 * (500 - j)), 3 * j);
  assert.equal(keys.intern(reversed, 500), keys.intern(big, 500));
  // thousands of sets (the flat arrays grow past their first capacities): each keeps its own id, found again in any order
  const many = new SetKeyInterner();
  const set = (i: number) => Int32Array.of(i % 97, 1, -1, Math.floor(i / 97), 0, i % 5);
  const ids = Array.from({ length: 3000 }, (_, i) => many.intern(set(i), 2));
  assert.equal(new Set(ids).size, 3000);
  for (let i = 0; i < 3000; i += 7) {
    const swapped = Int32Array.of(...set(i).subarray(3), ...set(i).subarray(0, 3));
    assert.equal(many.intern(swapped, 2), ids[i], `set ${i}`);
  }
  assert.equal(many.size, 3000, 'no set re-interned as new');
});

test("a parser outgrows every array's first capacity within its first masks (so a provider's warm-up runs the growing code)", () => {
  const cg = new CompiledGrammar(compileConstraint(json({ type: 'object', properties: { a: { type: 'integer' }, b: { type: 'string' }, c: { type: 'array', items: { type: 'boolean' } } } })), new LexerWalkCache());
  const m = new GrammarMatcher(cg, q.vocab, trie);
  const parser = (m as unknown as { parser: Record<string, Int32Array | Uint8Array> }).parser;
  const first = Object.fromEntries(['iRule', 'setStart', 'dedupeSlots', 'keyParts'].map((f) => [f, parser[f]!.length]));
  const mask = new Int32Array(words);
  for (const id of q.encode(JSON.stringify({ a: 1, b: 'x', c: [true, false] }, null, 2))) {
    m.fillNextTokenBitmask(mask, 0);
    assert.ok(m.acceptToken(id));
  }
  for (const [f, n] of Object.entries(first)) assert.ok(parser[f]!.length > n, `${f} still ${n}`);
});
