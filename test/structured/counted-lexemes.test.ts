// Counted regions (a repetition of one character class kept as a loop plus a counter), the count-relative lexer
// DFA, the process-wide lexeme cache and lexer walks shared by canonical description: each must give exactly the
// answers of the plain construction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LexemeTable, clearInternedLexemes } from '../../src/structured/lexeme-table.js';
import { DEAD, LexerDfa } from '../../src/structured/lexer-dfa.js';
import { ANY_CHAR, RNode, alt, ch, cls, jsonSpelled, rep, seq } from '../../src/structured/regex-ast.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { WALK_DEPTH } from '../../src/structured/token-trie.js';
import { compileConstraint } from '../../src/structured/compile.js';
import type { StructuredConstraint } from '../../src/engine/types.js';
import { qwen } from './qwen-fixture.js';
import { accepts } from './walk.js';

const enc = new TextEncoder();

function lexer(node: RNode, spelling: 'raw' | 'json' = 'raw') {
  const table = new LexemeTable();
  table.add(node, spelling, false);
  const dfa = new LexerDfa(table);
  return {
    table,
    dfa,
    matches(text: string): boolean {
      let s = dfa.initial([0]);
      for (const b of enc.encode(text)) if ((s = dfa.next(s, b)) < 0) return false;
      return dfa.accepting[s]!.length > 0;
    },
  };
}

/** a JSON string literal whose body is `body` */
const jsonString = (body: RNode): RNode => seq([ch(0x22), jsonSpelled(body), ch(0x22)]);

test('counted region: maxLength 3 accepts exactly 0..3 characters, multi-byte and escaped characters count once', () => {
  const { matches } = lexer(jsonString(rep(ANY_CHAR, 0, 3)));
  for (const body of ['', 'a', 'ab', 'abc', 'é😀x', '\\n\\"z', '\\u0001ab', '😀😀😀']) assert.equal(matches(`"${body}"`), true, body);
  for (const body of ['abcd', 'é😀xy', '\\n\\"za', '😀😀😀😀', '\\u0001abc']) assert.equal(matches(`"${body}"`), false, body);
  assert.equal(matches('"ab'), false, 'unterminated');
});

test('counted region: minLength..maxLength bounds agree with RegExp on every length', () => {
  for (const [min, max] of [[0, 5], [2, 6], [3, 200], [7, Infinity], [1000, 1000 + 4]] as Array<[number, number]>) {
    const { matches } = lexer(rep(cls([0x61, 0x7a]), min, max));
    for (let n = 0; n <= Math.min(1100, (max === Infinity ? min : max) + 3); n++) {
      if (n > 20 && n < min - 3) continue;
      const want = n >= Math.max(min, 1) && n <= max;
      assert.equal(matches('q'.repeat(n)), want, `${n} in {${min},${max}}`);
    }
    assert.equal(matches('ab1'), false);
  }
  // a counted region inside a larger pattern, re-entered by an outer repetition
  const { matches } = lexer(rep(seq([rep(cls([0x30, 0x39]), 2, 6), ch(0x2c)]), 1, Infinity));
  const re = /^(?:[0-9]{2,6},)+$/;
  for (const t of ['12,', '1,', '123456,99,', '1234567,', '12,3,', '12,345,678901,', '']) assert.equal(matches(t), re.test(t), t);
});

test('counted region: a string under maxLength 1000 is a loop, not 1000 copies', () => {
  const { table, matches } = lexer(jsonString(rep(ANY_CHAR, 0, 1000)));
  assert.ok(table.automaton(0).nfa.stateCount < 40, `${table.automaton(0).nfa.stateCount} NFA states`);
  assert.equal(matches(`"${'ab'.repeat(500)}"`), true);
  assert.equal(matches(`"${'ab'.repeat(500)}c"`), false);
});

test('count-relative DFA: states of a long string share their transitions but keep exact counts', () => {
  const { dfa, matches } = lexer(jsonString(rep(ANY_CHAR, 0, 300)));
  assert.equal(matches(`"${'x'.repeat(300)}"`), true);
  const states = dfa.stateCount;
  // another 300 characters of other text through fresh counts: states grow with counts only
  assert.equal(matches(`"${'y'.repeat(299)}"`), true);
  assert.equal(matches(`"${'y'.repeat(301)}"`), false);
  assert.ok(dfa.stateCount - states <= 5, `${dfa.stateCount - states} new states for text of known counts`);
});

test('interned lexemes and shared walks give the masks of an unshared compile', () => {
  const q = qwen();
  const words = Math.ceil(q.vocab.size / 32);
  const sample: number[] = [];
  for (let id = 0; id < q.vocab.size; id++) {
    const b = q.vocab.tokenBytes[id];
    if (id % 53 === 0 || (b && b.length >= 12)) sample.push(id);
  }
  const schemas = [
    { type: 'object', properties: { a: { type: 'string', maxLength: 150 }, b: { type: 'string' } } },
    { type: 'object', properties: { a: { type: 'string', maxLength: 400 }, c: { type: 'string', minLength: 3, maxLength: 12 } } },
    { type: 'array', items: { type: 'string', maxLength: 140 } },
  ];
  const texts = [
    JSON.stringify({ a: 'x'.repeat(120), b: 'é' }),
    JSON.stringify({ a: 'y'.repeat(139), c: 'abcd' }),
    JSON.stringify(['z'.repeat(135), 'w']),
  ];
  // (no start-up format walks: the count below is of this test's walks)
  const shared = createGrammarProvider(q.vocab, { prewalkFormats: false });
  const masks = (provider: ReturnType<typeof createGrammarProvider>, i: number): Int32Array[] => {
    const m = provider.create({ kind: 'json', schema: schemas[i] } as StructuredConstraint);
    const out: Int32Array[] = [];
    for (const id of q.encode(texts[i]!)) {
      const mask = new Int32Array(words);
      m.fillNextTokenBitmask(mask, 0);
      out.push(mask);
      // the mask is exact: sampled tokens (all long ones included) agree with stepping the token through
      for (const t of sample) assert.equal(((mask[t >>> 5]! >>> (t & 31)) & 1) === 1, m.canAcceptToken(t), `schema ${i} token ${t}`);
      assert.equal(m.acceptToken(id), true);
    }
    assert.equal(m.eosAllowed(), true);
    return out;
  };
  const viaShared = schemas.map((_, i) => masks(shared, i));
  // walks were reused across schemas: string bodies with more room than a token has characters are one walk
  assert.ok(shared.walks.size < viaShared.flat().length, `${shared.walks.size} walks for ${viaShared.flat().length} masks`);
  for (let i = 0; i < schemas.length; i++) {
    clearInternedLexemes();
    const fresh = masks(createGrammarProvider(q.vocab, { prewalkFormats: false }), i);
    assert.equal(fresh.length, viaShared[i]!.length);
    fresh.forEach((mask, k) => assert.deepEqual(mask, viaShared[i]![k], `schema ${i} step ${k}`));
  }
});

test('schema level: maxLength/minLength strings through the token masks', () => {
  const q = qwen();
  const provider = createGrammarProvider(q.vocab);
  const check = (schema: object, text: string) => accepts(provider.create({ kind: 'json', schema }), q.encode(text));
  assert.equal(check({ type: 'string', maxLength: 3 }, '"abc"'), true);
  assert.equal(check({ type: 'string', maxLength: 3 }, '"é😀x"'), true);
  assert.equal(check({ type: 'string', maxLength: 3 }, '"abcd"'), false);
  assert.equal(check({ type: 'string', maxLength: 3 }, '"é😀xy"'), false);
  assert.equal(check({ type: 'string', minLength: 2, maxLength: 5 }, '"a"'), false);
  assert.equal(check({ type: 'string', minLength: 2, maxLength: 5 }, '"ab"'), true);
  assert.equal(check({ type: 'string', minLength: 2, maxLength: 5 }, '"abcde"'), true);
  assert.equal(check({ type: 'string', minLength: 2, maxLength: 5 }, '"abcdef"'), false);
  assert.equal(check({ type: 'string', pattern: '^[a-z]+$', maxLength: 500 }, `"${'k'.repeat(500)}"`), true);
  assert.equal(check({ type: 'string', pattern: '^[a-z]+$', maxLength: 500 }, `"${'k'.repeat(501)}"`), false);
});

test('tokens longer than the trie walks go are still masked exactly (checked one by one)', () => {
  const q = qwen();
  const provider = createGrammarProvider(q.vocab);
  const words = Math.ceil(q.vocab.size / 32);
  // the longest token made only of plain ASCII letters, digits, spaces or dashes: it fits a string body
  let long = -1;
  for (let id = 0; id < q.vocab.size; id++) {
    const b = q.vocab.tokenBytes[id];
    if (b && b.length > WALK_DEPTH && b.every((x) => x === 0x20 || x === 0x2d || (x >= 0x30 && x <= 0x39) || (x >= 0x61 && x <= 0x7a)) && (long < 0 || b.length > q.vocab.tokenBytes[long]!.length)) long = id;
  }
  assert.ok(long >= 0, 'the vocabulary has a long plain token');
  const n = q.vocab.tokenBytes[long]!.length;
  const bit = (mask: Int32Array, t: number) => ((mask[t >>> 5]! >>> (t & 31)) & 1) === 1;
  // an unbounded string first (any JSON value's strings have no maxLength): its walk must not stand in for
  // a bounded string whose room is clamped alike
  const open = provider.create({ kind: 'json_object' });
  assert.equal(open.acceptBytes(enc.encode('{"k": "')), true);
  const openMask = new Int32Array(words);
  open.fillNextTokenBitmask(openMask, 0);
  assert.equal(bit(openMask, long), true);
  for (const [maxLength, prefix, want] of [[n - 1, 0, false], [n + 5, 0, true], [n + 5, 5, true], [n + 5, 6, false]] as Array<[number, number, boolean]>) {
    const m = provider.create({ kind: 'json', schema: { type: 'string', maxLength } });
    assert.equal(m.acceptBytes(enc.encode('"' + 'a'.repeat(prefix))), true);
    const mask = new Int32Array(words);
    m.fillNextTokenBitmask(mask, 0);
    assert.equal(bit(mask, long), want, `${n}-byte token after ${prefix} of ${maxLength} characters`);
  }
});

test('lexemes are built lazily, but an intersection too large to build is still a compile error', () => {
  // a pattern property's key: the pattern's product with every name but the listed properties'
  const schema = { type: 'object', properties: { abc: { type: 'integer' } }, patternProperties: { '[a-z]{40}x[a-z]{0,200}y': { type: 'integer' } }, additionalProperties: false };
  assert.throws(() => compileConstraint({ kind: 'json', schema }), /intersection of patterns too large/);
  // a plain schema compiles without building any lexeme automaton; the first masks build the ones they meet
  const g = compileConstraint({ kind: 'json', schema: { type: 'object', properties: { a: { type: 'string', maxLength: 900 } } } });
  assert.ok(g.lexemes.count > 3);
  assert.equal(g.lexemes.builtCount, 0);
  const dfa = new LexerDfa(g.lexemes);
  dfa.initial([0]);
  assert.equal(g.lexemes.builtCount, 1);
});

test('a repetition of a class without characters is never a counted region: no dead-end prefixes', () => {
  const { dfa, matches } = lexer(alt([seq([ch(0x78), rep(cls([]), 2, 10)]), ch(0x79)]));
  assert.equal(matches('y'), true);
  assert.equal(dfa.next(dfa.initial([0]), 0x78), DEAD, '"x" has no completion, so it is not even a prefix');
});
