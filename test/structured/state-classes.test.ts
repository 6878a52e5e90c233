// A lexer state's mask class is described once for every grammar over the same trie and shared lexer
// (state-classes.ts): a grammar meeting a state another grammar described finds its class without building its own
// walk of it (that waits for a mask it computes), and its masks still equal the masks computed from scratch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StructuredConstraint } from '../../src/engine/types.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import type { CompiledGrammar } from '../../src/structured/compiled-grammar.js';
import { maskScratch, walkMaskOf } from '../../src/structured/mask-store.js';
import { StateClasses } from '../../src/structured/state-classes.js';
import { qwen } from './qwen-fixture.js';

const q = qwen();
const words = Math.ceil(q.vocab.size / 32);
const enc = new TextEncoder();

interface Internals {
  cg: CompiledGrammar;
  lex: number;
  computeMask(): void;
}

const person = (extra: Record<string, unknown>): StructuredConstraint => ({
  kind: 'json',
  schema: { type: 'object', properties: { name: { type: 'string' }, ...extra }, required: ['name'] },
});

test("a grammar finds the mask class of a lexer state another grammar described, without walking it", () => {
  const provider = createGrammarProvider(q.vocab, { warmUp: false });
  const text = '{"name": "Ada Lovelace", "age": 36}';
  const first = provider.create(person({ age: { type: 'integer' } }));
  const states: number[] = [];
  for (const b of enc.encode(text)) {
    assert.equal(first.acceptBytes([b]), true);
    const s = (first as unknown as Internals).lex;
    (first as unknown as Internals).cg.maskClass(s, provider.trie, words);
    states.push(s);
  }
  // another schema with the same lexemes up to the name's value: its states there are the same shared DFA states
  const second = provider.create(person({ age: { type: 'number' } }));
  const cg = (second as unknown as Internals).cg;
  const ownWalks = (cg as unknown as { walks: Map<number, unknown> }).walks;
  const got = new Int32Array(words);
  const exact = new Int32Array(words);
  let met = 0;
  for (const b of enc.encode('{"name": "Ada Lovelace"')) {
    assert.equal(second.acceptBytes([b]), true);
    const s = (second as unknown as Internals).lex;
    if (!states.includes(s)) continue;
    met++;
    assert.ok(cg.maskClass(s, provider.trie, words, true) >= 0, `state ${s}: class known`);
    assert.equal(ownWalks.has(s), false, `state ${s}: the second grammar built no walk of it for its class`);
    // its mask (computed now, or cached for an earlier state of its class) equals the one computed from scratch
    second.fillNextTokenBitmask(got, 0);
    (second as unknown as Internals).computeMask();
    maskScratch(words).store().writeTo(exact, 0);
    assert.deepEqual(got, exact, `state ${s}: mask`);
  }
  assert.ok(met >= 15, `${met} states met by both grammars`);
});

test("a parser-free state's mask is its lexer walk's mask, for a grammar that computed none there", () => {
  const provider = createGrammarProvider(q.vocab, { warmUp: false });
  // inside a string no token can end (minLength), the mask does not depend on the parser: the same lexeme under
  // another property name meets the same shared lexer states, whose walks the first grammar made
  const longString = (prop: string): StructuredConstraint => ({
    kind: 'json',
    schema: { type: 'object', properties: { [prop]: { type: 'string', minLength: 200 } }, required: [prop] },
  });
  const value = 'x'.repeat(30);
  const got = new Int32Array(words);
  const exact = new Int32Array(words);
  const first = provider.create(longString('alpha'));
  for (const b of enc.encode(`{"alpha": "${value}`)) {
    assert.equal(first.acceptBytes([b]), true);
    first.fillNextTokenBitmask(got, 0);
  }
  const second = provider.create(longString('beta'));
  const m = second as unknown as Internals & { parser: { lexState: number } };
  assert.equal(second.acceptBytes([...enc.encode('{"beta": "')]), true);
  let free = 0;
  for (const b of enc.encode(value)) {
    assert.equal(second.acceptBytes([b]), true);
    const cls = m.cg.maskClass(m.lex, provider.trie, words);
    assert.equal(m.cg.parserBlind(cls, m.lex === m.parser.lexState), true, `state ${m.lex}: inside the string no token can end, the mask is parser-free`);
    // known without computing anything (a worker would not be asked for it)
    assert.equal(second.nextMaskCached(), true, `state ${m.lex}: the mask is known`);
    free++;
    second.fillNextTokenBitmask(got, 0);
    m.computeMask();
    maskScratch(words).store().writeTo(exact, 0);
    assert.deepEqual(got, exact, `state ${m.lex}: mask`);
  }
  assert.ok(free >= 20, `${free} parser-free states met`);
});

test('the store keeps a bounded number of parser-free walk masks, the oldest dropped first', () => {
  const store = new StateClasses();
  const mask = walkMaskOf(new Int32Array(words));
  for (let s = 0; s < 1100; s++) store.setWalkMask(s, mask);
  assert.equal(store.walkMask(0), undefined, 'the oldest was dropped');
  assert.equal(store.walkMask(1099), mask);
  let kept = 0;
  for (let s = 0; s < 1100; s++) if (store.walkMask(s)) kept++;
  assert.ok(kept <= 1024, `${kept} kept`);
});
