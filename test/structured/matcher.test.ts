import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StructuredConstraint } from '../../src/engine/types.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { qwen } from './qwen-fixture.js';
import { accepts } from './walk.js';

const q = qwen();
const provider = createGrammarProvider(q.vocab);
const words = Math.ceil(q.vocab.size / 32);
const EOS = q.vocab.eosIds[0]!;
const bit = (mask: Int32Array, id: number) => ((mask[id >>> 5]! >>> (id & 31)) & 1) === 1;

function check(c: StructuredConstraint, text: string): boolean {
  return accepts(provider.create(c), q.encode(text));
}

test('regex and choice: whole-output match, EOS only where the pattern is complete', () => {
  const re: StructuredConstraint = { kind: 'regex', pattern: '\\d{3}-[a-z]+' };
  assert.equal(check(re, '123-abc'), true);
  assert.equal(check(re, '123-ab1'), false);
  assert.equal(check(re, '123-'), false);
  const m = provider.create(re);
  for (const id of q.encode('123')) assert.equal(m.acceptToken(id), true);
  assert.equal(m.acceptToken(EOS), false, 'EOS before the pattern is complete');
  const choice: StructuredConstraint = { kind: 'choice', choices: ['yes', 'no', 'maybe so'] };
  assert.equal(check(choice, 'maybe so'), true);
  assert.equal(check(choice, 'maybe'), false);
  assert.equal(check(choice, 'yes!'), false);
});

test('mask bits agree with token-by-token acceptance at every step (JSON schema)', () => {
  const schema = { type: 'object', properties: { name: { type: 'string', maxLength: 8 }, n: { type: 'integer', minimum: -5, maximum: 120 }, tags: { type: 'array', items: { enum: ['a', 'b c'] }, maxItems: 2 } }, required: ['name'] };
  const text = JSON.stringify({ name: 'Zoë 😀', n: 42, tags: ['b c'] }, null, 2);
  const m = provider.create({ kind: 'json', schema });
  const mask = new Int32Array(words);
  const sample: number[] = [];
  for (let id = 0; id < q.vocab.size; id += 37) sample.push(id);
  for (const id of q.encode(text)) {
    m.fillNextTokenBitmask(mask, 0);
    for (const t of [...sample, id, EOS]) assert.equal(bit(mask, t), m.canAcceptToken(t), `token ${t} after ${JSON.stringify(text)}`);
    assert.equal(m.acceptToken(id), true);
  }
  m.fillNextTokenBitmask(mask, 0);
  assert.equal(bit(mask, EOS), true, 'EOS allowed at the end');
  assert.equal(m.isTerminated(), true);
  assert.equal(m.acceptToken(EOS), true);
});

test('special tokens never match text; EOS only where the grammar accepts', () => {
  const m = provider.create({ kind: 'json_object' });
  const mask = new Int32Array(words);
  m.fillNextTokenBitmask(mask, 0);
  for (let id = 151643; id < q.vocab.size; id++) if (q.vocab.tokenBytes[id] === null) assert.equal(bit(mask, id), false, `special ${id}`);
  assert.equal(bit(mask, EOS), false);
  assert.equal(check({ kind: 'json_object' }, '{"a": [1, {"b": null}], "c": "x\\ny"}'), true);
  assert.equal(check({ kind: 'json_object' }, '[1]'), false);
  assert.equal(check({ kind: 'json_object', disableAnyWhitespace: true }, '{"a": 1}'), false);
  assert.equal(check({ kind: 'json_object', disableAnyWhitespace: true }, '{"a":1}'), true);
});

test('tokens that split a UTF-8 character are handled byte-exactly', () => {
  const c: StructuredConstraint = { kind: 'regex', pattern: '[\\u4e00-\\u9fff]{2}' };
  // raw byte tokens: the three bytes of 中 fed one token at a time
  const byteToken = (b: number) => q.vocab.tokenBytes.findIndex((t) => t !== null && t.length === 1 && t[0] === b);
  const m = provider.create(c);
  const mask = new Int32Array(words);
  for (const b of new TextEncoder().encode('中')) {
    m.fillNextTokenBitmask(mask, 0);
    const id = byteToken(b);
    assert.equal(bit(mask, id), true);
    assert.equal(m.acceptToken(id), true);
  }
  // mid-character: only continuation bytes, then a complete second character
  assert.equal(m.canAcceptToken(byteToken(0x41)), false);
  for (const id of q.encode('文')) assert.equal(m.acceptToken(id), true);
  assert.equal(m.eosAllowed(), true);
  assert.equal(check(c, '中a'), false);
});

test('GBNF grammars (llama.cpp syntax)', () => {
  const g = `
# a tiny arithmetic language
root ::= expr ("; " expr)*
expr ::= term (("+" | "-") term)*
term ::= [0-9]+ | "(" expr ")"
`;
  const c: StructuredConstraint = { kind: 'grammar', grammar: g };
  assert.equal(check(c, '1+(2-30); 4'), true);
  assert.equal(check(c, '1+(2-30'), false);
  assert.equal(check(c, '1++2'), false);
  assert.throws(() => provider.create({ kind: 'grammar', grammar: 'root ::= missing' }), /missing/);
  assert.throws(() => provider.create({ kind: 'grammar', grammar: 'start ::= "a"' }), /root/);
});

test('JSON schema: property order, bounded whitespace, additionalProperties, refused keywords', () => {
  const schema = { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'string' } }, required: ['a'] };
  const c: StructuredConstraint = { kind: 'json', schema };
  assert.equal(check(c, '{"a": 1, "b": "x"}'), true);
  assert.equal(check(c, '{"b": "x", "a": 1}'), false, 'schema order only');
  assert.equal(check(c, '{"a": 1, "zz": [true]}'), true, 'additionalProperties defaults to true');
  assert.equal(check(c, '{"a": 1, "a": 2}'), false, 'a declared name is not an additional property');
  assert.equal(check({ ...c, disableAdditionalProperties: true }, '{"a": 1, "zz": 1}'), false);
  assert.equal(check(c, `{"a":${' '.repeat(65)}1}`), false, 'whitespace is bounded');
  assert.equal(check({ ...c, disableAnyWhitespace: true }, '{"a": 1}'), false);
  assert.throws(() => provider.create({ kind: 'json', schema: { type: 'array', uniqueItems: true } }), /uniqueItems/);
  assert.throws(() => provider.create({ kind: 'json', schema: { not: { minimum: 3 } } }), /"not"/);
  assert.equal(check({ kind: 'json', schema: { not: { type: 'string' } } }, '"x"'), false);
  assert.equal(check({ kind: 'json', schema: { not: { type: 'string' } } }, '[1]'), true);
  assert.equal(check({ kind: 'json', schema: { type: 'object', not: { required: ['a'] } } }, '{"a": 1}'), false);
  assert.throws(() => provider.create({ kind: 'json', schema: { type: 'string', format: 'ipv5' } }), /format/);
});

test('the issue example: {"cpe": [strings]} required', () => {
  const schema = { type: 'object', properties: { cpe: { type: 'array', items: { type: 'string' } } }, required: ['cpe'] };
  assert.equal(check({ kind: 'json', schema }, JSON.stringify({ cpe: ['cpe:2.3:a:apache:http_server:2.4.1', 'x'] }, null, 2)), true);
  assert.equal(check({ kind: 'json', schema }, '{}'), false);
  assert.equal(check({ kind: 'json', schema }, '{"cpe": [1]}'), false);
});

test('compiled constraints are cached by hash, errors included', () => {
  const c: StructuredConstraint = { kind: 'json', schema: { type: 'integer', minimum: 3 } };
  assert.equal(provider.compile(c), provider.compile({ kind: 'json', schema: { type: 'integer', minimum: 3 } }));
  assert.equal(check(c, '2'), false);
  assert.equal(check(c, '3'), true);
  assert.equal(check(c, '1000'), true);
});

test('nextMaskCached tells a cold mask (to be computed) from a cached one, without computing it', () => {
  const c = { kind: 'json' as const, schema: { type: 'object', properties: { n: { type: 'integer' }, s: { type: 'string' } } } };
  const fresh = createGrammarProvider(q.vocab);
  const first = fresh.create(c);
  const mask = new Int32Array(Math.ceil(q.vocab.size / 32));
  const walks = fresh.walks.stats.computed;
  assert.equal(first.nextMaskCached(), false, 'first request, first position');
  assert.equal(first.nextMaskCached(), false, 'asking does not compute it');
  assert.equal(fresh.walks.stats.computed, walks, 'nor the lexer walk the mask needs');
  first.fillNextTokenBitmask(mask, 0);
  assert.equal(first.nextMaskCached(), true, 'computed once, cached');
  const second = fresh.create(c);
  assert.equal(second.nextMaskCached(), true, 'a second request at the same position');
  assert.equal(second.acceptBytes(new TextEncoder().encode('{"n": 1')), true);
  assert.equal(second.nextMaskCached(), false, 'a new position');
  second.fillNextTokenBitmask(mask, 0);
  assert.equal(second.nextMaskCached(), true);
  assert.equal(second.acceptToken(q.vocab.eosIds[0]!), false, 'the object is not closed');
  assert.equal(second.acceptBytes(new TextEncoder().encode('}')), true);
  assert.equal(second.acceptToken(q.vocab.eosIds[0]!), true);
  assert.equal(second.nextMaskCached(), true, 'a finished request needs no computation');
});

test('adoptNextMask caches a mask computed by another matcher (a worker mirror) for the current state', () => {
  const c = { kind: 'json' as const, schema: { type: 'object', properties: { cpe: { type: 'array', items: { type: 'string' } } }, required: ['cpe'] } };
  const words = Math.ceil(q.vocab.size / 32);
  const text = new TextEncoder().encode('{"cpe": ["cpe:2.3:a');
  // two providers: the worker's and the engine thread's, with caches of their own
  const worker = createGrammarProvider(q.vocab, { warmUp: false }).create(c);
  const engineSide = createGrammarProvider(q.vocab, { warmUp: false });
  const engine = engineSide.create(c);
  for (const m of [worker, engine]) assert.equal(m.acceptBytes(text), true);
  const computed = new Int32Array(words);
  worker.fillNextTokenBitmask(computed, 0);
  assert.equal(engine.nextMaskCached(), false);
  engine.adoptNextMask(computed);
  assert.equal(engine.nextMaskCached(), true, 'adopted into the cache');
  const internals = engine as unknown as { cg: { cachedMask(k: number): { ownWords: number } }; maskKey(): number };
  assert.ok(internals.cg.cachedMask(internals.maskKey()).ownWords < words / 10, 'kept as a diff against its walk mask, not a copy');
  computed.fill(0); // the adopted mask is a copy: the worker's buffer may be reused
  const got = new Int32Array(words);
  engine.fillNextTokenBitmask(got, 0);
  const fresh = createGrammarProvider(q.vocab, { warmUp: false }).create(c);
  assert.equal(fresh.acceptBytes(text), true);
  const want = new Int32Array(words);
  fresh.fillNextTokenBitmask(want, 0);
  assert.deepEqual(got, want);
  // a second request of the engine side reaching the same state copies it too
  const other = engineSide.create(c);
  assert.equal(other.acceptBytes(text), true);
  assert.equal(other.nextMaskCached(), true);
  assert.throws(() => engine.adoptNextMask(new Int32Array(3)), /adopted mask has 3 words/);
});

test('adoptionOf takes the state without a walk; store() makes the walk and caches the computed mask under that state', () => {
  const c = { kind: 'json' as const, schema: { type: 'object', properties: { when: { type: 'string', format: 'date' }, n: { type: 'number', maximum: 9 }, also: { type: 'string', format: 'date' } } } };
  const words = Math.ceil(q.vocab.size / 32);
  const text = new TextEncoder().encode('{"when": "2024-0');
  const worker = createGrammarProvider(q.vocab, { warmUp: false }).create(c);
  const engineSide = createGrammarProvider(q.vocab, { warmUp: false });
  const engine = engineSide.create(c);
  for (const m of [worker, engine]) assert.equal(m.acceptBytes(text), true);
  const before = engineSide.walks.stats.computed;
  const computed = new Int32Array(words);
  worker.fillNextTokenBitmask(computed, 0);
  const adoption = engine.adoptionOf(computed);
  assert.ok(adoption);
  assert.equal(engineSide.walks.stats.computed, before, 'taking the adoption computed no walk');
  assert.equal(adoption.walked, false, 'the state\'s walk is new');
  assert.equal(engine.nextMaskCached(), false, 'nothing cached yet');
  // the engine side moves on before the adoption is stored (as it may while the forward runs)
  assert.equal(engine.acceptBytes(new TextEncoder().encode('1')), true);
  adoption.store();
  assert.ok(engineSide.walks.stats.computed > before, 'storing made the walk of the adopted state');
  const second = engineSide.create(c);
  assert.equal(second.acceptBytes(text), true);
  assert.equal(second.nextMaskCached(), true, 'stored under the state it was taken at');
  const got = new Int32Array(words);
  second.fillNextTokenBitmask(got, 0);
  const fresh = createGrammarProvider(q.vocab, { warmUp: false, splitWalksAtQuote: false }).create(c);
  assert.equal(fresh.acceptBytes(text), true);
  const want = new Int32Array(words);
  fresh.fillNextTokenBitmask(want, 0);
  assert.deepEqual(got, want, 'equal to the mask of an unsplit, uncached computation');
  // the same lexer walk under another parser state (another key's date): it exists now, so storing needs no walk
  const third = engineSide.create(c);
  assert.equal(third.acceptBytes(new TextEncoder().encode('{"n": 1, "also": "2024-0')), true);
  assert.equal(third.adoptionOf(new Int32Array(words))!.walked, true);
  const done = engineSide.create({ kind: 'choice', choices: ['a'] });
  assert.equal(done.acceptBytes(new TextEncoder().encode('a')), true);
  assert.equal(done.acceptToken(q.vocab.eosIds[0]!), true);
  assert.equal(done.adoptionOf(new Int32Array(words)), null, 'a finished matcher has no next mask to adopt');
});


test('fillFromIdentity writes the mask cachedMaskIdentity stood for; stored masks last, foreign objects are refused', () => {
  const c: StructuredConstraint = { kind: 'json', schema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] } };
  const first = provider.create(c);
  const ids = q.encode('{"n": 7}');
  const want = new Int32Array(words);
  const got = new Int32Array(words).fill(-1);
  // a first request computes (and caches) each mask; a second one finds them all cached
  for (const id of [...ids, EOS]) {
    first.fillNextTokenBitmask(want, 0);
    assert.ok(first.acceptToken(id));
  }
  const m = provider.create(c);
  for (const id of [...ids, EOS]) {
    const identity = m.cachedMaskIdentity();
    assert.ok(identity !== null, 'cached by the first request');
    assert.equal(m.maskIdentityLasts(identity), true, 'a stored mask never changes');
    m.fillNextTokenBitmask(want, 0);
    m.fillFromIdentity(identity, got, 0);
    assert.deepEqual(got, want);
    got.fill(-1);
    assert.ok(m.acceptToken(id));
  }
  // finished: the no-token mask (all zero), lasting too
  const done = m.cachedMaskIdentity()!;
  m.fillFromIdentity(done, got, 0);
  assert.ok(got.every((w) => w === 0));
  assert.equal(m.maskIdentityLasts(done), true);
  assert.equal(m.maskIdentityLasts({}), false);
  assert.throws(() => m.fillFromIdentity({}, got, 0), /fillFromIdentity was given an object cachedMaskIdentity did not answer/);
});
