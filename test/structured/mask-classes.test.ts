// The mask cache is keyed by (parser state, mask class of the lexer state): lexer states that differ only by a count
// no token can reach (the body of a string without maxLength, whose room is counted down from 1,000) share one cached
// mask. Every cached mask handed out must equal the mask computed from scratch for the exact state, and a long string
// must not fill the cache with one mask per character.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StructuredConstraint } from '../../src/engine/types.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import type { GrammarMatcher } from '../../src/structured/matcher.js';
import { maskScratch } from '../../src/structured/mask-store.js';
import { qwen } from './qwen-fixture.js';
import { allowedIds, rng } from './random-walk.js';

const q = qwen();
const words = Math.ceil(q.vocab.size / 32);

interface Internals {
  /** into the scratch buffer (maskScratch), read back through store() */
  computeMask(): void;
  cg: { masks: Map<number, Int32Array> };
}

/** random outputs (tokens drawn from the mask, rarely a quote so strings grow long): cached == computed, each step */
function walk(c: StructuredConstraint, seed: number, walks: number, steps: number): { compared: number; cached: number } {
  const provider = createGrammarProvider(q.vocab);
  const next = rng(seed);
  const got = new Int32Array(words);
  let compared = 0;
  let m: GrammarMatcher | null = null;
  for (let w = 0; w < walks; w++) {
    m = provider.create(c);
    for (let i = 0; i < steps; i++) {
      m.fillNextTokenBitmask(got, 0);
      (m as unknown as Internals).computeMask();
      const exact = new Int32Array(words);
      maskScratch(words).store().writeTo(exact, 0);
      assert.deepEqual(got, exact, `cached mask differs from the computed one at step ${i} of walk ${w}`);
      compared++;
      const ids = allowedIds(got).filter((id) => !q.vocab.eosIds.includes(id));
      if (ids.length === 0) break;
      const plain = ids.filter((id) => !q.vocab.tokenBytes[id]!.includes(0x22));
      const pool = plain.length > 0 && next() < 0.9 ? plain : ids;
      assert.equal(m.acceptToken(pool[Math.floor(next() * pool.length)]!), true);
    }
  }
  return { compared, cached: (m as unknown as Internals).cg.masks.size };
}

test('string bodies without maxLength share one cached mask per parser state; cached masks equal computed ones', () => {
  const cpe = { kind: 'json', schema: { type: 'object', properties: { cpe: { type: 'array', items: { type: 'string' } } }, required: ['cpe'] } } as StructuredConstraint;
  const { compared, cached } = walk(cpe, 7, 3, 150);
  assert.ok(compared >= 300, `compared ${compared} masks`);
  // one mask per character of each string before (450 steps of string content); now a few dozen states in all
  assert.ok(cached < 100, `${cached} masks cached`);
});

test('bounded strings keep exact masks near their bound', () => {
  const bounded = { kind: 'json', schema: { type: 'object', properties: { a: { type: 'string', maxLength: 150 }, b: { type: 'string', maxLength: 20 } }, required: ['a', 'b'] } } as StructuredConstraint;
  const { compared } = walk(bounded, 11, 3, 120);
  assert.ok(compared >= 120, `compared ${compared} masks`);
});

test('a lexer state no token can leave (inside a property name) has one cached mask for every parser state', () => {
  const inner = { type: 'object', properties: { description: { type: 'string' } }, required: ['description'] };
  const nested = {
    kind: 'json',
    schema: { type: 'object', properties: { description: { type: 'string' }, child: inner, other: { type: 'array', items: inner } }, required: ['description', 'child', 'other'] },
  } as StructuredConstraint;
  const provider = createGrammarProvider(q.vocab);
  const at = (text: string) => {
    const m = provider.create(nested);
    assert.equal(m.acceptBytes(new TextEncoder().encode(text)), true, text);
    return m;
  };
  const outer = at('{"descri');
  const first = outer.nextStoredMask();
  const deeper = [at('{"description": "x", "child": {"descri'), at('{"description": "x", "child": {"description": "y"}, "other": [{"descri')];
  const parserKey = (m: GrammarMatcher) => (m as unknown as { parser: { stateKey(): number } }).parser.stateKey();
  for (const m of deeper) {
    assert.notEqual(parserKey(m), parserKey(outer), 'the parser states differ');
    // cached before this state's mask was ever asked for: the outer object's computed mask serves it
    assert.equal(m.cachedMaskIdentity(), first);
    const got = new Int32Array(words);
    m.fillNextTokenBitmask(got, 0);
    (m as unknown as Internals).computeMask();
    const exact = new Int32Array(words);
    maskScratch(words).store().writeTo(exact, 0);
    assert.deepEqual(got, exact);
    assert.ok(allowedIds(got).some((id) => new TextDecoder().decode(q.vocab.tokenBytes[id]!).startsWith('ption')));
  }
  // random walks through such states under many parser states: every cached mask equals the computed one
  assert.ok(walk(nested, 5, 4, 120).compared >= 200);
});
