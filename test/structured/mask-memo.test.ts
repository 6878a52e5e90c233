// Masks reused by the parser's answers (mask-memo.ts) are exactly the masks computed from scratch: along real and
// random outputs of varied constraints, one provider reusing masks across its grammars against one that computes
// every mask its grammars have not cached.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StructuredConstraint } from '../../src/engine/types.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import type { CompiledGrammar } from '../../src/structured/compiled-grammar.js';
import type { GrammarMatcher } from '../../src/structured/matcher.js';
import { MaskMemos, MEMO_LIMITS, type MemoEntry } from '../../src/structured/mask-memo.js';
import { diffMask } from '../../src/structured/mask-store.js';
import { qwen } from './qwen-fixture.js';
import { allowedIds, rng } from './random-walk.js';

const q = qwen();
const words = Math.ceil(q.vocab.size / 32);

const reusedBy = (m: GrammarMatcher): number => (m as unknown as { cg: CompiledGrammar }).cg.memoReused;

const person = (next: Record<string, unknown>, required: string[]): StructuredConstraint => ({
  kind: 'json',
  schema: { type: 'object', properties: { name: { type: 'string' }, ...next }, required: ['name', ...required] },
});

/** every mask along `ids` from a reusing matcher and a computing one; the number of masks compared */
function compareAlong(reusing: GrammarMatcher, computing: GrammarMatcher, ids: number[], what: string): number {
  const got = new Int32Array(words);
  const exact = new Int32Array(words);
  let k = 0;
  for (const id of ids) {
    reusing.fillNextTokenBitmask(got, 0);
    computing.fillNextTokenBitmask(exact, 0);
    assert.deepEqual(got, exact, `${what}: mask ${k}`);
    assert.equal(reusing.acceptToken(id), true, `${what}: token ${k}`);
    assert.equal(computing.acceptToken(id), true, `${what}: token ${k} (computing)`);
    k++;
  }
  reusing.fillNextTokenBitmask(got, 0);
  computing.fillNextTokenBitmask(exact, 0);
  assert.deepEqual(got, exact, `${what}: the last mask`);
  return k + 1;
}

test('a grammar reuses masks another grammar computed where its parser answers alike, and only there', () => {
  const reusing = createGrammarProvider(q.vocab, { warmUp: false });
  const computing = createGrammarProvider(q.vocab, { warmUp: false, memoMasks: false });
  const text = '{\n  "name": "Ada Lovelace",\n  "age": 36\n}';
  const ids = q.encode(text);
  // the same document under two schemas: their parser states differ everywhere (other grammars), their masks
  // do not up to the age's value; the second schema's integer has a maximum, so the value's masks differ there
  const first = person({ age: { type: 'integer' } }, ['age']);
  const second = person({ age: { type: 'integer', maximum: 99 } }, ['age']);
  compareAlong(reusing.create(first), computing.create(first), ids, 'first');
  const m = reusing.create(second);
  const before = reusedBy(m);
  compareAlong(m, computing.create(second), ids, 'second');
  assert.ok(reusedBy(m) - before >= 3, `${reusedBy(m) - before} masks of the second grammar reused`);
  // another next property: its key starts other tokens after the name's value, so nothing there is reused wrongly
  const third = person({ born: { type: 'integer' } }, ['born']);
  compareAlong(reusing.create(third), computing.create(third), q.encode('{\n  "name": "Ada Lovelace",\n  "born": 1815\n}'), 'third');
});

test('end of sequence must answer alike too: a mask is not reused where one grammar may end and the other may not', () => {
  const reusing = createGrammarProvider(q.vocab, { warmUp: false });
  const computing = createGrammarProvider(q.vocab, { warmUp: false, memoMasks: false });
  // after "12" both may go on with the same lexeme (a space), only the first may end there
  const mayEnd: StructuredConstraint = { kind: 'grammar', grammar: 'root ::= [0-9]+ (" " [0-9]+)?' };
  const mustGoOn: StructuredConstraint = { kind: 'grammar', grammar: 'root ::= [0-9]+ " " [0-9]+' };
  const ids = [...q.encode('1'), ...q.encode('2')];
  for (const c of [mayEnd, mustGoOn, mayEnd]) compareAlong(reusing.create(c), computing.create(c), ids, c.kind === 'grammar' ? c.grammar : '');
});

const constraints: StructuredConstraint[] = [
  person({ age: { type: 'integer', minimum: 0 } }, []),
  person({ tags: { type: 'array', items: { type: 'string', maxLength: 6 }, maxItems: 3 } }, ['tags']),
  person({ home: { type: 'object', properties: { city: { type: 'string' }, zip: { type: 'string', pattern: '^[0-9]{5}$' } } } }, []),
  { kind: 'json', schema: { type: 'array', items: { anyOf: [{ type: 'number' }, { type: 'boolean' }, { type: 'null' }] } } },
  { kind: 'json', schema: { type: 'object', properties: { cpe: { type: 'array', items: { type: 'string' } } }, required: ['cpe'] } },
  { kind: 'json', schema: { type: 'object', additionalProperties: { type: 'integer' }, maxProperties: 3 } },
  { kind: 'json', schema: { type: 'string', enum: ['red', 'green', 'blue', 'reddish'] } },
  { kind: 'json_object' },
  { kind: 'regex', pattern: '(ab|a)+c?[0-9]{2,4}' },
  { kind: 'choice', choices: ['yes', 'no', 'yes, but'] },
  { kind: 'grammar', grammar: 'root ::= item ("," item)*\nitem ::= "x" | "xy" | [0-9]+' },
];

/** a token from `mask`, seeded: mostly one that carries structure (JSON punctuation, digits, spaces), so outputs move on */
function pick(mask: Int32Array, next: () => number): number {
  const ids = allowedIds(mask);
  const structural = ids.filter((id) => {
    const b = q.vocab.tokenBytes[id];
    return !!b && b.length <= 3 && b.some((x) => '{}[],:" 0123456789\n'.includes(String.fromCharCode(x)));
  });
  const from = structural.length > 0 && next() < 0.8 ? structural : ids;
  return from[Math.floor(next() * from.length)]!;
}

test('reused masks equal computed ones along random outputs of varied constraints', () => {
  const reusing = createGrammarProvider(q.vocab, { warmUp: false });
  const computing = createGrammarProvider(q.vocab, { warmUp: false, memoMasks: false });
  const got = new Int32Array(words);
  const exact = new Int32Array(words);
  const next = rng(20261128);
  let masks = 0;
  let reused = 0;
  for (let run = 0; run < 4; run++) {
    for (const c of constraints) {
      const a = reusing.create(c);
      const b = computing.create(c);
      const before = reusedBy(a);
      for (let k = 0; k < 40; k++) {
        a.fillNextTokenBitmask(got, 0);
        b.fillNextTokenBitmask(exact, 0);
        masks++;
        assert.deepEqual(got, exact, `${JSON.stringify(c)} run ${run}: mask ${k}`);
        if (allowedIds(exact).length === 0) break;
        const id = pick(exact, next);
        if (q.vocab.eosIds.includes(id)) break;
        assert.equal(a.acceptToken(id), true);
        assert.equal(b.acceptToken(id), true);
      }
      reused += reusedBy(a) - before;
    }
  }
  assert.ok(masks > 600, `${masks} masks compared`);
  assert.ok(reused >= 20, `${reused} of them reused`);
});

test('the kept masks stay within their bounds: per answer, per class and per store, the oldest dropped first', () => {
  const { MAX_PER_ANSWER, MAX_ANSWERS, MAX_ENTRIES, MAX_CLASSES, MAX_OWN_WORDS } = MEMO_LIMITS;
  const small = diffMask(new Int32Array(words), new Int32Array(words));
  const big = diffMask(new Int32Array(words).fill(1, 0, MAX_OWN_WORDS + 1), new Int32Array(words));
  const entry = (answer: number, mask = small): MemoEntry => ({ questions: [-1, -1, answer], eos: false, mask });
  const memos = new MaskMemos();
  const c = memos.forClass('a');
  assert.equal(memos.forClass('a'), c, 'one object per class key');
  for (let k = 0; k < MAX_PER_ANSWER + 3; k++) memos.remember(c, entry(7));
  assert.equal(c.withFirstAnswer(7)!.length, MAX_PER_ANSWER);
  memos.remember(c, entry(8, big));
  assert.equal(c.withFirstAnswer(8), undefined, 'a mask of many own words is not kept');
  // another first question than the class's: not kept
  memos.remember(c, { questions: [-1, 5, 8], eos: false, mask: small });
  assert.equal(c.withFirstAnswer(8), undefined);
  for (let a = 0; a < MAX_ANSWERS + 1; a++) memos.remember(c, entry(100 + a));
  assert.equal(c.withFirstAnswer(7), undefined, 'the oldest answer dropped');
  assert.equal(c.size, MAX_ANSWERS);
  assert.equal(memos.size, MAX_ANSWERS);
  // many classes: the store keeps MAX_CLASSES and at most MAX_ENTRIES masks, dropping the oldest classes
  for (let k = 0; memos.size < MAX_ENTRIES || k < MAX_CLASSES; k++) {
    const d = memos.forClass(`c${k}`);
    for (let a = 0; a < 8; a++) memos.remember(d, entry(a));
    assert.ok(memos.classes <= MAX_CLASSES && memos.size <= MAX_ENTRIES, `${memos.classes} classes, ${memos.size} masks`);
  }
  assert.equal(c.inStore, false, 'the first class was dropped');
  const before = memos.size;
  memos.remember(c, entry(1));
  assert.equal(memos.size, before, 'a dropped class is no longer counted');
  assert.equal(c.withFirstAnswer(1)!.length, 1, 'but still keeps masks for the grammars that hold it');
});
