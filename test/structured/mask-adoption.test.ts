// Worker masks are cached on the engine thread in later turns (mask-adoption.ts): an answer that comes while fills are
// out is only noted, and settled once they are answered; taking an adoption then costs a copy,
// once per state; while a fill waits on the workers only stores without a walk run; oldest dropped past the bound;
// through the pooled provider, a state adopted after its fill reads as cached and copies the mask the worker computed,
// and a state whose adoption still waits copies the waiting mask without storing it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { AdoptionQueue, MAX_WAITING_ADOPTIONS, type Adoption } from '../../src/structured/mask-adoption.js';
import type { CompiledGrammar } from '../../src/structured/compiled-grammar.js';
import { PooledGrammarProvider, type MirroredGrammar } from '../../src/structured/workers/pooled-provider.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import type { StructuredConstraint } from '../../src/engine/types.js';
import { qwen } from './qwen-fixture.js';

const CG_A = {} as CompiledGrammar;
const CG_B = {} as CompiledGrammar;

/** an adoption that records its store (or throws there) */
function fake(log: number[], id: number, opts: { walked?: boolean; cheap?: boolean; fails?: boolean; cg?: CompiledGrammar; mask?: Int32Array } = {}): Adoption {
  return {
    cg: opts.cg ?? CG_A,
    stateId: id,
    walked: opts.walked ?? true,
    cheap: opts.cheap ?? false,
    mask: opts.mask ?? new Int32Array(4),
    store() {
      if (opts.fails) throw new Error('a lexer limit');
      log.push(id);
    },
  };
}

/** g's row filled on the workers and its mask adopted as the engine does; the adoptions waiting right after */
async function fillOnWorkers(p: PooledGrammarProvider, g: MirroredGrammar, words: number): Promise<{ out: Int32Array; waitingAfterAnswer: number }> {
  const out = p.bulkFiller(1)!.allocate(words);
  let waitingAfterAnswer = -1;
  const errors = await p.bulkFiller(1)!.fill([{ grammar: g, offset: 0 }], out, (_k, err) => {
    assert.equal(err, null);
    g.adoptNextMask(out);
    waitingAfterAnswer = p.adoptions.length;
  });
  assert.deepEqual(errors, [null]);
  return { out, waitingAfterAnswer };
}

async function turns(n: number): Promise<void> {
  for (let k = 0; k < n; k++) await turn();
}

test('while a fill is out only adoptions whose walk exists are stored; the others once it is answered', async () => {
  const q = new AdoptionQueue();
  const log: number[] = [];
  q.fillStarted();
  q.push(fake(log, 1));
  q.push(fake(log, 2, { walked: false }));
  q.push(fake(log, 3, { fails: true }));
  q.push(fake(log, 4));
  await turns(5);
  assert.deepEqual(log, [1, 4], 'the walked ones, between the answers');
  assert.equal(q.length, 1);
  q.fillDone();
  await turns(2);
  assert.deepEqual(log, [1, 4, 2]);
  assert.deepEqual(q.stats, { stored: 3, atOnce: 0, dropped: 0, failed: 1, duplicate: 0 });
});

test('a state waiting already is not taken twice (per grammar); once stored it is taken again', async () => {
  const q = new AdoptionQueue();
  const log: number[] = [];
  q.fillStarted();
  q.push(fake(log, 7, { walked: false }));
  q.push(fake(log, 7, { walked: false }));
  q.push(fake(log, 7, { walked: false, cg: CG_B }));
  assert.equal(q.length, 2);
  assert.equal(q.stats.duplicate, 1);
  q.fillDone();
  await turns(2);
  assert.deepEqual(log, [7, 7]);
  q.push(fake(log, 7));
  await turns(2);
  assert.deepEqual(log, [7, 7, 7]);
});

test('waitingFor answers the adoption waiting for a state of a grammar until it is stored', async () => {
  const q = new AdoptionQueue();
  const log: number[] = [];
  q.fillStarted();
  const two = fake(log, 2, { walked: false });
  q.push(fake(log, 1, { walked: false }));
  q.push(two);
  assert.equal(q.waitingFor(CG_A, 2), two);
  assert.equal(q.waitingFor(CG_B, 2), undefined, 'another grammar\'s state');
  assert.equal(q.waitingFor(CG_A, 3), undefined);
  assert.deepEqual(log, [], 'asking stores nothing');
  q.fillDone();
  await turns(3);
  assert.deepEqual(log, [1, 2]);
  assert.equal(q.waitingFor(CG_A, 2), undefined, 'stored: the grammar\'s cache has it');
});

test('past the bound new adoptions are not taken; a closed queue takes none', async () => {
  const q = new AdoptionQueue();
  const log: number[] = [];
  q.fillStarted();
  for (let k = 0; k < MAX_WAITING_ADOPTIONS + 3; k++) q.push(fake(log, k, { walked: false }));
  assert.equal(q.length, MAX_WAITING_ADOPTIONS);
  assert.equal(q.full, true);
  assert.equal(q.stats.dropped, 3);
  q.fillDone();
  await turns(40);
  assert.deepEqual(log.slice(0, 2), [0, 1], 'the first ones were kept');
  assert.equal(log.length, MAX_WAITING_ADOPTIONS);
  assert.equal(log.includes(MAX_WAITING_ADOPTIONS), false, 'the last three were not taken');
  assert.equal(q.full, false);
  q.close();
  q.push(fake(log, -1));
  assert.equal(q.length, 0);
});

test('the queue keeps a copy of the mask (the caller\'s buffer is reused); a stored one\'s buffer holds the next copy', async () => {
  const q = new AdoptionQueue();
  const buffer = new Int32Array([1, 2, 3, 4]);
  const first = fake([], 1, { mask: buffer });
  q.fillStarted();
  q.push(first);
  assert.notEqual(first.mask, buffer);
  assert.deepEqual(first.mask, new Int32Array([1, 2, 3, 4]));
  buffer.fill(9);
  assert.deepEqual(first.mask, new Int32Array([1, 2, 3, 4]), 'unchanged by the caller');
  q.fillDone();
  await turns(2);
  const second = fake([], 2, { mask: buffer });
  q.push(second);
  assert.equal(second.mask, first.mask, 'the stored adoption\'s buffer');
  assert.deepEqual(second.mask, new Int32Array([9, 9, 9, 9]));
});

test('answers taken while fills are out are only noted (no copy, no store); settled in a later turn once every fill is answered', async () => {
  const q = new AdoptionQueue();
  const log: number[] = [];
  const row = new Int32Array([5, 6, 7, 8]);
  const kept = fake(log, 2, { mask: row });
  q.fillStarted();
  q.fillStarted();
  q.take(fake(log, 1, { cheap: true }));
  q.take(kept);
  q.take(fake(log, 2));
  assert.equal(q.stats.duplicate, 1, 'a state noted already is not taken twice');
  assert.equal(kept.mask, row, 'not copied: still the step\'s row');
  assert.equal(q.waitingFor(CG_A, 2), kept, 'a noted answer stands for its state');
  assert.equal(q.length, 2);
  q.fillDone();
  await turns(3);
  assert.deepEqual(log, [], 'a fill is still out: nothing settled');
  assert.equal(kept.mask, row);
  q.fillDone();
  assert.deepEqual(log, [], 'settled in a later turn, not when the last fill is answered');
  await turns(3);
  assert.deepEqual(log, [1, 2], 'the cheap one stored at once, the other copied and stored');
  assert.notEqual(kept.mask, row, 'copied before its store');
  assert.deepEqual(kept.mask, new Int32Array([5, 6, 7, 8]));
  assert.deepEqual(q.stats, { stored: 2, atOnce: 1, dropped: 0, failed: 0, duplicate: 1 });
  assert.equal(q.waitingFor(CG_A, 1), undefined, 'a stored cheap one no longer stands for its state');
});

test('flushDeferred settles the noted answers at once: their rows are copied before the bitmask is written again', () => {
  const q = new AdoptionQueue();
  const row = new Int32Array([1, 2, 3, 4]);
  const a = fake([], 1, { mask: row, walked: false });
  q.fillStarted();
  q.take(a);
  q.flushDeferred();
  row.fill(0);
  assert.deepEqual(a.mask, new Int32Array([1, 2, 3, 4]), 'the copy taken before the row was rewritten');
  assert.equal(q.length, 1, 'kept until its store (after the fill)');
});

test('pooled provider: a worker mask is cached on the engine thread once its fill is answered, and equals the engine thread\'s own', async () => {
  const fixture = qwen();
  const voc = fixture.vocab;
  const prefix = fixture.encode('{"id": 12, "name": "q1');
  const words = Math.ceil(voc.size / 32);
  // a pattern no other test walks: the engine thread has no walk of the state, so its adoption waits
  const c: StructuredConstraint = { kind: 'json', schema: { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string', pattern: '^q[0-9]{2}[k-m]z$' } }, required: ['id'] } };
  const p = new PooledGrammarProvider(voc, { numWorkers: 1 });
  try {
    await p.startWorkers().whenStarted();
    const g = p.create(c);
    for (const id of prefix) assert.equal(g.acceptToken(id), true);
    const other = p.create(c);
    for (const id of prefix) assert.equal(other.acceptToken(id), true);
    assert.equal(g.nextMaskCached(), false);
    const { out, waitingAfterAnswer } = await fillOnWorkers(p, g, words);
    assert.equal(waitingAfterAnswer, 1, 'noted when the answer came, not stored');
    for (let k = 0; k < 5 && p.adoptions.length > 0; k++) await turn();
    assert.equal(p.adoptions.stats.stored, 1, 'stored once the fill was answered');
    assert.equal(other.nextMaskCached(), true, 'another request at that state now copies it on the engine thread');
    const got = new Int32Array(words);
    other.fillNextTokenBitmask(got, 0);
    const want = new Int32Array(words);
    const ref = createGrammarProvider(voc, { warmUp: false }).create(c);
    for (const id of prefix) assert.equal(ref.acceptToken(id), true);
    ref.fillNextTokenBitmask(want, 0);
    assert.deepEqual(got, want);
    assert.deepEqual(Array.from(out), Array.from(want), 'the worker wrote the same mask');
    // a state asked for while its adoption still waits (a fill is out) copies the waiting mask: not stored then,
    // not sent back to a worker
    for (const id of fixture.encode('2')) {
      assert.equal(g.acceptToken(id), true);
      assert.equal(other.acceptToken(id), true);
      assert.equal(ref.acceptToken(id), true);
    }
    await fillOnWorkers(p, g, words);
    p.adoptions.fillStarted();
    assert.equal(p.adoptions.length, 1, 'waiting: a fill is out');
    assert.equal(other.matcher.cachedMaskIdentity(), null, 'not in the engine thread\'s cache yet');
    assert.notEqual(other.cachedMaskIdentity(), null, 'the waiting adoption stands for it');
    assert.equal(other.cachedMaskIdentity(), other.cachedMaskIdentity(), 'the same identity each time (rows sharing it)');
    const copied = new Int32Array(words).fill(-1);
    other.fillNextTokenBitmask(copied, 0);
    ref.fillNextTokenBitmask(want, 0);
    assert.deepEqual(copied, want, 'the worker\'s mask, copied');
    assert.equal(p.adoptions.length, 1, 'still waiting: nothing stored on the step');
    assert.equal(p.adoptions.stats.stored, 1);
    p.adoptions.fillDone();
    for (let k = 0; k < 5 && p.adoptions.length > 0; k++) await turn();
    assert.equal(p.adoptions.stats.stored, 2);
    assert.notEqual(other.matcher.cachedMaskIdentity(), null, 'stored later, off the step');
  } finally {
    await p.close();
  }
});

test('pooled provider: a worker mask whose walk the engine thread has is stored at once from the worker\'s diff, and equals the engine thread\'s own', async () => {
  const fixture = qwen();
  const voc = fixture.vocab;
  const words = Math.ceil(voc.size / 32);
  // two schemas, one value pattern: the value's lexer state (and so its walk) is the same, the masks are each grammar's
  const pattern = '^z[0-9]{2}[p-r]w$';
  const a: StructuredConstraint = { kind: 'json', schema: { type: 'object', properties: { code: { type: 'string', pattern } }, required: ['code'] } };
  const b: StructuredConstraint = { kind: 'json', schema: { type: 'object', properties: { tag: { type: 'string', pattern } }, required: ['tag'] } };
  const p = new PooledGrammarProvider(voc, { numWorkers: 1 });
  try {
    await p.startWorkers().whenStarted();
    // the engine thread walks the value's state through b
    const viaB = p.main.create(b);
    for (const id of fixture.encode('{"tag": "z12pw')) assert.equal(viaB.acceptToken(id), true);
    viaB.fillNextTokenBitmask(new Int32Array(words), 0);
    const g = p.create(a);
    const other = p.create(a);
    for (const id of fixture.encode('{"code": "z12pw')) {
      assert.equal(g.acceptToken(id), true);
      assert.equal(other.acceptToken(id), true);
    }
    assert.equal(g.nextMaskCached(), false, 'a\'s mask is not cached on the engine thread');
    const { out, waitingAfterAnswer } = await fillOnWorkers(p, g, words);
    assert.equal(waitingAfterAnswer, 1, 'noted when the answer came (its fill was out), not stored on the step');
    assert.equal(p.adoptions.stats.atOnce, 0);
    await turn();
    assert.equal(p.adoptions.length, 0, 'stored once the fill was answered: nothing waits');
    assert.equal(p.adoptions.stats.atOnce, 1, 'from the worker\'s diff, without a copy');
    assert.equal(other.matcher.cachedMaskIdentity() !== null, true, 'in the engine thread\'s cache');
    const got = new Int32Array(words);
    other.fillNextTokenBitmask(got, 0);
    const ref = createGrammarProvider(voc, { warmUp: false }).create(a);
    for (const id of fixture.encode('{"code": "z12pw')) assert.equal(ref.acceptToken(id), true);
    const want = new Int32Array(words);
    ref.fillNextTokenBitmask(want, 0);
    assert.ok(ref.nextStoredMask()!.walkDiff!.length > 0, 'a mask that differs from its walk\'s (tokens that end the string)');
    assert.deepEqual(got, want, 'rebuilt from the worker\'s diff on this thread\'s walk');
    assert.deepEqual(Array.from(out), Array.from(want), 'the worker wrote the same mask');
  } finally {
    await p.close();
  }
});
