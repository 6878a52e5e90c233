// The structured-output worker pool: masks computed on worker threads equal the engine thread's, row for row,
// along real outputs; a failing row or worker fails only its own requests; the pool never hangs and closes cleanly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { qwen, SHARED_DATA } from './qwen-fixture.js';
import { pickWorkload, type WorkloadItem } from '../../bench/structured/step-masks.js';
import { MirroredGrammar, PooledGrammarProvider } from '../../src/structured/workers/pooled-provider.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { MaskWorkerPool, type AnswerTimes, type MaskWorkerPoolOptions } from '../../src/structured/workers/mask-worker-pool.js';
import { BY_ENGINE, claimRow, tailFirst } from '../../src/structured/workers/row-claims.js';
import { packVocab, unpackVocab } from '../../src/structured/workers/vocab-transfer.js';
import { makeTestModel } from '../../src/models/make-test-model.js';
import { AsyncEngine } from '../../src/engine/async-engine.js';
import { loadTokenVocab } from '../../src/structured/token-vocab.js';
import type { RequestOutput, StructuredConstraint } from '../../src/engine/types.js';
import { lastOutput } from '../helpers/last-output.js';

const q = qwen();
const WORDS = Math.ceil(q.vocab.size / 32);
const hasBench = existsSync(join(SHARED_DATA, 'jsonschemabench'));

/** a started pool for `body`, closed after it whatever happens */
async function withPool(opts: MaskWorkerPoolOptions, body: (pool: MaskWorkerPool) => Promise<void>): Promise<void> {
  const pool = new MaskWorkerPool(q.vocab, opts);
  await pool.whenStarted();
  try {
    await body(pool);
  } finally {
    await pool.close();
  }
}

let reference: ReturnType<typeof createGrammarProvider> | null = null;
/** the mask a matcher of `c` on this thread gives after `history` (the reference a worker's mask must equal) */
function referenceMask(c: StructuredConstraint, history: readonly number[] = []): Int32Array {
  const m = (reference ??= createGrammarProvider(q.vocab)).create(c);
  for (const t of history) assert.ok(m.acceptToken(t));
  const mask = new Int32Array(WORDS);
  m.fillNextTokenBitmask(mask, 0);
  return mask;
}

/** a few JSONSchemaBench schemas along their real outputs, plus regex, choice and GBNF constraints */
function workload(): WorkloadItem[] {
  const eos = q.vocab.eosIds[0]!;
  const extra: Array<[StructuredConstraint, string]> = [
    [{ kind: 'regex', pattern: '[a-z]+@[a-z]+\\.(com|org)' }, 'ada@example.org'],
    [{ kind: 'choice', choices: ['positive', 'negative', 'neutral'] }, 'neutral'],
    [{ kind: 'grammar', grammar: 'root ::= "[" num ("," num)* "]"\nnum ::= [0-9]+' }, '[12,3,456]'],
    [{ kind: 'json', schema: { type: 'object', properties: { cpe: { type: 'array', items: { type: 'string' } } }, required: ['cpe'] } }, '{"cpe": ["a:b", "ü 😀"]}'],
  ];
  const items = extra.map(([constraint, text], i) => ({ name: `extra ${i}`, constraint, ids: [...q.encode(text), eos] }));
  return hasBench ? [...pickWorkload(q, 2), ...items] : items;
}

test('vocabulary packing round-trips', () => {
  const v = unpackVocab(packVocab(q.vocab));
  assert.equal(v.size, q.vocab.size);
  assert.deepEqual(v.eosIds, q.vocab.eosIds);
  for (let t = 0; t < q.vocab.size; t += 97) assert.deepEqual(v.tokenBytes[t], q.vocab.tokenBytes[t], `token ${t}`);
});

test('worker masks equal engine-thread masks, row for row, along real outputs (2 workers)', async () => {
  const work = workload();
  // (without ../shared/data, e.g. a clone elsewhere: the four constraints above only)
  assert.ok(work.length >= (hasBench ? 8 : 4), `workload of ${work.length}`);
  // shareEngineThread: the engine thread computes a share of the masks too (off by default since the engine sends
  // only cold rows to the filler)
  const p = new PooledGrammarProvider(q.vocab, { numWorkers: 2, minRowsForWorkers: 2, shareEngineThread: true });
  await p.startWorkers().whenStarted();
  try {
    // every request runs twice at once (two requests with one schema), so rows of one schema meet on a worker
    const live = [...work, ...work].map((item) => ({ item, g: p.create(item.constraint), pos: 0 }));
    const workers = new Set(live.map((l) => p.startWorkers().workerOf(l.g.key)));
    // -1: the engine thread's share
    assert.deepEqual([...workers].sort(), [-1, 0, 1], 'requests are spread over both workers and the engine thread');
    let steps = 0;
    let compared = 0;
    while (live.some((l) => l.pos < l.item.ids.length)) {
      const active = live.filter((l) => l.pos < l.item.ids.length);
      const filler = p.bulkFiller(active.length);
      const out = filler ? filler.allocate(active.length * WORDS) : null;
      if (filler && out) {
        const errors = await filler.fill(active.map((l, i) => ({ grammar: l.g, offset: i * WORDS })), out);
        assert.deepEqual(errors, active.map(() => null));
        const ref = new Int32Array(WORDS);
        active.forEach((l, i) => {
          l.g.matcher.fillNextTokenBitmask(ref, 0);
          assert.deepEqual(out.subarray(i * WORDS, (i + 1) * WORDS), ref, `${l.item.name} at token ${l.pos}`);
          compared++;
        });
      }
      for (const l of active) {
        assert.ok(l.g.acceptToken(l.item.ids[l.pos++]!), `${l.item.name}: token ${l.pos - 1} accepted`);
        if (l.pos === l.item.ids.length) l.g.release();
      }
      steps++;
    }
    assert.ok(compared > (hasBench ? 100 : 40), `compared ${compared} masks over ${steps} steps`);
  } finally {
    await p.close();
  }
});

test('a row whose constraint fails in its worker fails alone', async () => {
  await withPool({ numWorkers: 1 }, async (pool) => {
    const out = new Int32Array(new SharedArrayBuffer(2 * WORDS * 4));
    const good: StructuredConstraint = { kind: 'choice', choices: ['yes', 'no'] };
    const errors = await pool.fill(
      [
        { key: 1, constraint: { kind: 'regex', pattern: '(unclosed' }, constraintKey: 'bad', history: [], offset: 0 },
        { key: 2, constraint: good, constraintKey: 'good', history: [], offset: WORDS },
      ],
      out,
    );
    assert.match(errors[0]!.message, /regex|paren|\)/i);
    assert.equal(errors[1], null);
    assert.deepEqual(out.subarray(WORDS), referenceMask(good));
    // a plain (not shared) bitmask is refused with a clear error, not written from another thread
    const plain = await pool.fill([{ key: 3, constraint: good, constraintKey: 'good', history: [], offset: 0 }], new Int32Array(WORDS));
    assert.match(plain[0]!.message, /SharedArrayBuffer/);
  });
});

test('a worker that dies mid-step fails its rows only; it restarts and re-mirrors its other requests', async () => {
  const messages: string[] = [];
  const p = new PooledGrammarProvider(q.vocab, { numWorkers: 2, minRowsForWorkers: 1, onWorkerError: (m) => messages.push(m) });
  const pool = p.startWorkers();
  await pool.whenStarted();
  try {
    const c: StructuredConstraint = { kind: 'json', schema: { type: 'object', properties: { n: { type: 'integer' }, s: { type: 'string' } } } };
    const gs = [p.create(c), p.create(c), p.create(c), p.create(c)];
    const text = q.encode('{"n": 12, "s": "abc"}');
    const filler = p.bulkFiller(gs.length)!;
    const rows = () => gs.map((g, i) => ({ grammar: g, offset: i * WORDS }));
    let out = filler.allocate(gs.length * WORDS);
    assert.deepEqual(await filler.fill(rows(), out), [null, null, null, null]);
    for (const g of gs) for (const id of text.slice(0, 3)) assert.ok(g.acceptToken(id));
    // worker 0 goes away with the step in flight. It is stopped before the step is posted: stopped after the post,
    // a warm worker can answer first (its masks are cached) and the race made this test flaky.
    const victim = pool.threads()[0]!;
    const onZero = gs.filter((g) => pool.workerOf(g.key) === 0);
    assert.ok(onZero.length > 0 && onZero.length < gs.length);
    out = filler.allocate(gs.length * WORDS);
    void victim.terminate();
    const errors = await filler.fill(rows(), out);
    gs.forEach((g, i) => {
      if (onZero.includes(g)) assert.match(errors[i]!.message, /mask worker 0 exited unexpectedly/);
      else assert.equal(errors[i], null);
    });
    await pool.whenStarted();
    assert.ok(messages.some((m) => /mask worker 0 exited unexpectedly .*restarting/.test(m)), messages.join('\n'));
    // the survivors (the engine failed the others) go on; rows on the restarted worker are rebuilt from their history
    const survivors = gs.filter((g) => !onZero.includes(g));
    onZero.forEach((g) => g.release());
    const more = p.create(c);
    for (const id of text.slice(0, 3)) more.acceptToken(id);
    const next = [...survivors, more];
    out = filler.allocate(next.length * WORDS);
    assert.deepEqual(await filler.fill(next.map((g, i) => ({ grammar: g, offset: i * WORDS })), out), next.map(() => null));
    const ref = new Int32Array(WORDS);
    next.forEach((g, i) => {
      g.matcher.fillNextTokenBitmask(ref, 0);
      assert.deepEqual(out.subarray(i * WORDS, (i + 1) * WORDS), ref);
    });
  } finally {
    await p.close();
  }
});

test('a worker that does not answer in time is stopped and its rows fail', async () => {
  const messages: string[] = [];
  await withPool({ numWorkers: 1, fillTimeoutMs: 1, maxRestarts: 0, onWorkerError: (m) => messages.push(m) }, async (pool) => {
    const out = new Int32Array(new SharedArrayBuffer(WORDS * 4));
    // a cold JSON schema (compile + first masks) takes well over 1 ms: 30 fields answered within it once in ~16 runs
    const schema = { type: 'object', properties: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`field${i}`, { type: 'string', maxLength: i + 1 }])) };
    const errors = await pool.fill([{ key: 1, constraint: { kind: 'json', schema }, constraintKey: 'x', history: [], offset: 0 }], out);
    assert.match(errors[0]!.message, /mask worker 0 did not answer within 1 ms and was stopped/);
    await pool.whenStarted();
    assert.equal(pool.usable, false, 'with no restarts left the worker stays down');
    assert.ok(messages.some((m) => /stays down/.test(m)));
    const later = await pool.fill([{ key: 2, constraint: { kind: 'choice', choices: ['a'] }, constraintKey: 'y', history: [], offset: 0 }], out);
    assert.match(later[0]!.message, /no mask worker is running/);
  });
});

test('requests with one constraint stay on its home worker (warm caches) unless it is overloaded', async () => {
  await withPool({ numWorkers: 2 }, async (pool) => {
    const a: StructuredConstraint = { kind: 'choice', choices: ['a'] };
    const b: StructuredConstraint = { kind: 'choice', choices: ['b'] };
    [1, 2, 3].forEach((k) => pool.prepare(k, a, 'A'));
    [4, 5, 6].forEach((k) => pool.prepare(k, b, 'B'));
    const homeA = pool.workerOf(1);
    assert.deepEqual([1, 2, 3].map((k) => pool.workerOf(k)), [homeA, homeA, homeA]);
    assert.deepEqual([4, 5, 6].map((k) => pool.workerOf(k)), [1 - homeA, 1 - homeA, 1 - homeA]);
    // ten more of A: its home fills up to its share, then the other worker takes the rest
    for (let k = 7; k < 17; k++) pool.prepare(k, a, 'A');
    const loads = [0, 1].map((w) => Array.from({ length: 16 }, (_, i) => pool.workerOf(i + 1)).filter((x) => x === w).length);
    assert.ok(Math.abs(loads[0]! - loads[1]!) <= 4, `loads ${loads}`);
    // the prepared mirrors are real: a fill needs no constraint any more and gives the right mask
    const out = new Int32Array(new SharedArrayBuffer(WORDS * 4));
    assert.deepEqual(await pool.fill([{ key: 1, constraint: a, constraintKey: 'A', history: [], offset: 0 }], out), [null]);
    assert.deepEqual(out, referenceMask(a));
  });
});

test('a prepared request\'s first mask is computed when its mirror starts: its first fill is a cache copy there', async () => {
  await withPool({ numWorkers: 1 }, async (pool) => {
    const prepared: StructuredConstraint = { kind: 'json', schema: { type: 'object', properties: { id: { type: 'integer', minimum: 3 }, tags: { type: 'array', items: { type: 'string' } } } } };
    const unprepared: StructuredConstraint = { kind: 'regex', pattern: '[0-9]{3}-[a-z]+' };
    pool.prepare(1, prepared, 'P');
    const out = new Int32Array(new SharedArrayBuffer(2 * WORDS * 4));
    const rows = [
      { key: 1, constraint: prepared, constraintKey: 'P', history: [], offset: 0 },
      { key: 2, constraint: unprepared, constraintKey: 'U', history: [], offset: WORDS },
    ];
    assert.deepEqual(await pool.fill(rows, out), [null, null]);
    assert.deepEqual([pool.stats.rowsFilled, pool.stats.rowsComputed], [2, 1], 'only the request without a mirror had its mask computed in the fill');
    const ref = new Int32Array(2 * WORDS);
    const provider = createGrammarProvider(q.vocab);
    provider.create(prepared).fillNextTokenBitmask(ref, 0);
    provider.create(unprepared).fillNextTokenBitmask(ref, WORDS);
    assert.deepEqual(out, ref, 'both masks equal the engine thread\'s');
  });
});

test('a worker tells where its fill time went: tokens synced, masks computed (new lexer walks among them) or copied', async () => {
  await withPool({ numWorkers: 1 }, async (pool) => {
    // a lexer state no start-up walk has: its first mask makes a shared walk on the worker
    const c: StructuredConstraint = { kind: 'regex', pattern: 'qz[0-9]{7}x' };
    const history = q.encode('qz12');
    assert.ok(history.length >= 2);
    const out = new Int32Array(new SharedArrayBuffer(2 * WORDS * 4));
    assert.deepEqual(await pool.fill([{ key: 1, constraint: c, constraintKey: 'C', history, offset: 0 }], out), [null]);
    const first = { ...pool.stats.parts };
    assert.equal(first.tokens, history.length, 'every token of the history was fed to the new mirror');
    assert.ok(first.walks >= 1 && first.computeMs > 0 && first.walkMs <= first.computeMs, JSON.stringify(first));
    assert.equal(first.copyMs, 0, 'nothing was copied');
    assert.deepEqual(pool.lastFill.slowestParts, first, 'the only worker is the busiest');
    // a second request at the same state: a copy from the worker's cache, no token to feed beyond its own history
    assert.deepEqual(await pool.fill([{ key: 2, constraint: c, constraintKey: 'C', history, offset: WORDS }], out), [null]);
    const second = pool.lastFill.slowestParts!;
    assert.deepEqual([second.tokens, second.walks, second.computeMs], [history.length, 0, 0], JSON.stringify(second));
    assert.ok(second.copyMs > 0);
    assert.deepEqual(out.subarray(WORDS), out.subarray(0, WORDS));
    // the two fills, taken as one step's: the worker's time and parts summed over both; then nothing until the next
    const step = pool.takeFillTimes()!;
    assert.equal(step.busiestRows, 2);
    assert.equal(step.slowestParts!.tokens, 2 * history.length);
    assert.equal(step.slowestParts!.computeMs, first.computeMs);
    assert.ok(step.slowestBusyMs >= first.computeMs + second.copyMs, JSON.stringify(step));
    assert.equal(pool.takeFillTimes(), null);
  });
});

test('a prepared request\'s lexeme automata are built when its worker is idle, not inside its fills; masks stay exact', async () => {
  const pool = new MaskWorkerPool(q.vocab, { numWorkers: 1 });
  await pool.whenStarted();
  // names no other test uses: their automata (keys other than these, bounded numbers) are not interned yet
  const schema = (tag: string) => ({
    type: 'object',
    properties: { [`${tag}_alpha`]: { type: 'integer', minimum: 17, maximum: 4242 }, [`${tag}_beta`]: { type: 'number', exclusiveMaximum: 77 } },
    additionalProperties: { type: 'string', maxLength: 9 },
  });
  const output = (tag: string) => [...q.encode(JSON.stringify({ [`${tag}_alpha`]: 123, [`${tag}_beta`]: 7.5, extra: 'ok' }, null, 2)), q.vocab.eosIds[0]!];
  const walk = async (key: number, constraint: StructuredConstraint, ids: number[]) => {
    const engineSide = createGrammarProvider(q.vocab).create(constraint);
    const out = new Int32Array(new SharedArrayBuffer(WORDS * 4));
    const want = new Int32Array(WORDS);
    for (let n = 0; n < ids.length; n++) {
      assert.deepEqual(await pool.fill([{ key, constraint, constraintKey: `k${key}`, history: ids.slice(0, n), offset: 0 }], out), [null]);
      engineSide.fillNextTokenBitmask(want, 0);
      assert.deepEqual(out, want, `mask ${n} equals the engine thread's`);
      assert.ok(engineSide.acceptToken(ids[n]!));
    }
  };
  try {
    const prepared: StructuredConstraint = { kind: 'json', schema: schema('round6prepared') };
    pool.prepare(1, prepared, 'k1');
    // its first fill (the first mask, computed when the mirror started), then fills of it again with pauses (the
    // worker is quiet in between) until the worker tells its idle work is done
    const out = new Int32Array(new SharedArrayBuffer(WORDS * 4));
    const first = { key: 1, constraint: prepared, constraintKey: 'k1', history: [], offset: 0 };
    for (let tries = 0; tries === 0 || pool.stats.idleJobs > 0; tries++) {
      assert.ok(tries < 200, 'the idle work ends');
      if (tries > 0) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(await pool.fill([first], out), [null]);
    }
    await walk(1, prepared, output('round6prepared'));
    assert.equal(pool.stats.automataBuiltInFills, 0, 'built at the mirror\'s start or when idle');
    const unprepared: StructuredConstraint = { kind: 'json', schema: schema('round6unprepared') };
    await walk(2, unprepared, output('round6unprepared'));
    assert.ok(pool.stats.automataBuiltInFills > 0, 'without a mirror started ahead, fills build them');
  } finally {
    await pool.close();
  }
});

test('fills overlap: a later fill queues behind a slow one on its worker and sends only the newer tokens', async () => {
  await withPool({ numWorkers: 1 }, async (pool) => {
    // a cold constraint (its compile and first masks take a while) and a small one that advances meanwhile
    const heavy: StructuredConstraint = { kind: 'json', schema: { type: 'object', properties: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, { type: 'string', maxLength: i + 2 }])) } };
    const small: StructuredConstraint = { kind: 'json', schema: { type: 'object', properties: { n: { type: 'integer' } } } };
    const text = q.encode('{"n": 12');
    assert.ok(text.length >= 3);
    const outA = new Int32Array(new SharedArrayBuffer(2 * WORDS * 4));
    const outB = new Int32Array(new SharedArrayBuffer(2 * WORDS * 4));
    const doneA: number[] = [];
    const first = pool.fill(
      [
        { key: 1, constraint: heavy, constraintKey: 'h', history: [], offset: 0 },
        { key: 2, constraint: small, constraintKey: 's', history: text.slice(0, 2), offset: WORDS },
      ],
      outA,
      (k, e) => {
        assert.equal(e, null);
        doneA.push(k);
      },
    );
    // the next step, posted before the first one is answered: key 1 was deferred (no new token), key 2 took one more
    const second = pool.fill(
      [
        { key: 1, constraint: heavy, constraintKey: 'h', history: [], offset: 0 },
        { key: 2, constraint: small, constraintKey: 's', history: text.slice(0, 3), offset: WORDS },
      ],
      outB,
    );
    assert.deepEqual(await Promise.all([first, second]), [[null, null], [null, null]]);
    assert.deepEqual(doneA.sort(), [0, 1], 'each row was reported done');
    const provider = createGrammarProvider(q.vocab);
    const ref = new Int32Array(2 * WORDS);
    provider.create(heavy).fillNextTokenBitmask(ref, 0);
    const m = provider.create(small);
    for (const t of text.slice(0, 3)) assert.ok(m.acceptToken(t));
    m.fillNextTokenBitmask(ref, WORDS);
    assert.deepEqual(outB, ref, 'the second fill saw each mirror exactly where the engine is');
  });
});

test('onAnswer is told of each worker answer as it is taken: its worker, rows and times in order', async () => {
  await withPool({ numWorkers: 2 }, async (pool) => {
    const told: AnswerTimes[] = [];
    pool.onAnswer = (a) => told.push(a);
    const out = new Int32Array(new SharedArrayBuffer(3 * WORDS * 4));
    const choice: StructuredConstraint = { kind: 'choice', choices: ['yes', 'no'] };
    const errors = await pool.fill(
      [0, 1, 2].map((key) => ({ key, constraint: choice, constraintKey: `c${key}`, history: [], offset: key * WORDS })),
      out,
    );
    assert.deepEqual(errors, [null, null, null]);
    assert.equal(told.length, new Set([0, 1, 2].map((k) => pool.workerOf(k))).size, 'one per worker that had rows');
    assert.equal(told.reduce((n, a) => n + a.rows, 0), 3);
    for (const a of told) {
      assert.ok(a.slot === 0 || a.slot === 1);
      assert.ok(a.busyMs >= 0);
      // one clock across threads (performance.timeOrigin + now): posted, then read, then taken after its end
      assert.ok(a.startedAt >= a.postedAt - 1 && a.answeredAt >= a.startedAt + a.busyMs - 1, JSON.stringify(a));
    }
    pool.onAnswer = null;
    await pool.fill([{ key: 0, constraint: choice, constraintKey: 'c0', history: [], offset: 0 }], out);
    assert.equal(told.length, new Set([0, 1, 2].map((k) => pool.workerOf(k))).size, 'none told once the hook is cleared');
  });
});

test('a row posted with a pending token: its mirror feeds it first; the next fill, whose history has it, sends only what follows', async () => {
  await withPool({ numWorkers: 1 }, async (pool) => {
    const c: StructuredConstraint = { kind: 'json', schema: { type: 'object', properties: { name: { type: 'string' }, n: { type: 'integer' } } } };
    const text = q.encode('{"name": "Ada", "n": 12');
    assert.ok(text.length >= 6);
    const out = new Int32Array(new SharedArrayBuffer(WORDS * 4));
    const fillAt = async (history: number[], pendingToken: number) => {
      out.fill(0);
      assert.deepEqual(await pool.fill([{ key: 7, constraint: c, constraintKey: 'c', history, pendingToken, offset: 0 }], out), [null]);
      return out.slice();
    };
    // first mask after 2 tokens, the second one still pending on the engine thread
    assert.deepEqual(await fillAt(text.slice(0, 1), text[1]!), referenceMask(c, text.slice(0, 2)));
    // the engine thread fed it: its history has it now; one more pending
    assert.deepEqual(await fillAt(text.slice(0, 2), text[2]!), referenceMask(c, text.slice(0, 3)));
    // none pending (-1): the mirror stands where the history ends
    assert.deepEqual(await fillAt(text.slice(0, 5), -1), referenceMask(c, text.slice(0, 5)));
    assert.deepEqual(await fillAt(text.slice(0, 5), text[5]!), referenceMask(c, text.slice(0, 6)));
  });
});

test('a row taken ahead that the engine thread then finds cached is written there while its worker is busy; the worker only syncs', async () => {
  const p = new PooledGrammarProvider(q.vocab, { numWorkers: 1, engineAssistMs: 0 });
  try {
    await p.startWorkers().whenStarted();
    const c: StructuredConstraint = { kind: 'json', schema: { type: 'object', properties: { name: { type: 'string' }, n: { type: 'integer' } } } };
    const text = q.encode('{"name": "Ada", "n": 12');
    // the engine thread's cache has the mask after 3 tokens
    const first = p.create(c);
    for (const t of text.slice(0, 3)) assert.ok(first.acceptToken(t));
    first.fillNextTokenBitmask(new Int32Array(WORDS), 0);
    const g = p.create(c);
    for (const t of text.slice(0, 2)) assert.ok(g.acceptToken(t));
    // the worker is kept busy: new requests are compiled and their first masks computed there, three heavy ones last
    // (one left the race to a loaded CI machine's worker once: the engine thread must reach the row first)
    for (const extra of [2, 3, 4]) {
      p.create({ kind: 'json', schema: { type: 'object', properties: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, { type: 'string', maxLength: i + extra }])) } });
    }
    const filler = p.bulkFiller(2)!;
    assert.ok(filler.takesAhead!(g));
    const out = filler.allocate(WORDS);
    const told: Array<[number, Error | null]> = [];
    const done = filler.fill([{ grammar: g, offset: 0, pendingToken: text[2]! }], out, (k, e) => told.push([k, e]));
    assert.ok(g.acceptToken(text[2]!));
    assert.equal(filler.reclaim!(g), true, 'written here: its worker had not started it');
    assert.deepEqual(told, [[0, null]], 'told done at once');
    assert.deepEqual(out, referenceMask(c, text.slice(0, 3)));
    assert.deepEqual(await done, [null]);
    assert.equal(p.rowsReclaimed, 1);
    assert.equal(filler.reclaim!(g), false, 'a fill answered is not reclaimed');
    // its worker fed the pending token: the next fill, with none, is exact
    assert.ok(g.acceptToken(text[3]!));
    out.fill(0);
    assert.deepEqual(await filler.fill([{ grammar: g, offset: 0 }], out), [null]);
    assert.deepEqual(out, referenceMask(c, text.slice(0, 4)));
  } finally {
    await p.close();
  }
});

test('a closed pool answers with errors at once and leaves no thread behind', async () => {
  const pool = new MaskWorkerPool(q.vocab, { numWorkers: 2 });
  await pool.whenStarted();
  assert.equal(pool.threads().length, 2);
  await pool.close();
  assert.equal(pool.threads().length, 0);
  const out = new Int32Array(new SharedArrayBuffer(WORDS * 4));
  const errors = await pool.fill([{ key: 1, constraint: { kind: 'choice', choices: ['a'] }, constraintKey: 'a', history: [], offset: 0 }], out);
  assert.match(errors[0]!.message, /closed/);
});

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'serval-mask-workers-'));
  makeTestModel({ arch: 'qwen2', out: join(dir, 'm'), hidden: 16, heads: 2, kvHeads: 1, layers: 1, seed: 4 });
});
after(() => rmSync(dir, { recursive: true, force: true }));


test('engine: steps computed on the workers give the same outputs as the engine thread; shutdown stops them', async () => {
  const constraints: StructuredConstraint[] = [
    { kind: 'choice', choices: ['alpha', 'beta', 'gamma'] },
    { kind: 'regex', pattern: '[0-9]{2,4}-[a-z]{3}' },
    {
      kind: 'json',
      schema: {
        type: 'object',
        properties: { ok: { type: 'boolean' }, n: { type: 'integer', minimum: 0, maximum: 99 } },
        required: ['ok', 'n'],
        additionalProperties: false,
      },
      disableAnyWhitespace: true,
    },
  ];
  let bulkSteps = 0;
  const pooledProvider = (vocab: ReturnType<typeof loadTokenVocab>) => {
    const p = new PooledGrammarProvider(vocab, { numWorkers: 1, minRowsForWorkers: 2 });
    const bulkFiller = p.bulkFiller.bind(p);
    p.bulkFiller = (n) => {
      const f = bulkFiller(n);
      if (f) bulkSteps++;
      return f;
    };
    return p;
  };
  const run = async (workers: boolean) => {
    let provider: PooledGrammarProvider | null = null;
    const e = await AsyncEngine.create({
      model: join(dir, 'm'),
      device: 'ts',
      numKvBlocks: 256,
      maxModelLen: 256,
      structuredOutputWorkers: 0,
      grammar: workers
        ? (ctx) => (provider = pooledProvider(loadTokenVocab(ctx.tokenizerDir, { size: ctx.vocabSize })))
        : undefined,
    });
    const pool = provider ? (provider as PooledGrammarProvider).startWorkers() : null;
    await pool?.whenStarted();
    const outs = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        lastOutput(e.generate(`Request ${i}:`, { temperature: 0.8, seed: i, maxTokens: 64, structured: constraints[i % 3] }, `r${i}`)),
      ),
    );
    const threads = pool?.threads().length ?? 0;
    const stats = e.maskStats();
    await e.shutdown();
    return { texts: outs.map((o) => o.outputs[0].text), finish: outs.map((o) => o.outputs[0].finishReason), threads, threadsAfter: pool?.threads().length ?? 0, stats };
  };
  const plain = await run(false);
  const pooled = await run(true);
  assert.ok(bulkSteps >= 3, `${bulkSteps} steps had their masks computed on the worker`);
  // rows likely cold were handed over before the engine thread fed them (their workers fed the tokens)
  assert.ok(pooled.stats.rowsPostedAhead > 0, JSON.stringify(pooled.stats));
  assert.equal(pooled.threads, 1);
  assert.equal(pooled.threadsAfter, 0, 'shutdown stopped the worker');
  assert.deepEqual(pooled.finish, plain.finish.map(() => 'stop'));
  assert.deepEqual(pooled.texts, plain.texts);
  assert.ok(['alpha', 'beta', 'gamma'].includes(pooled.texts[0]!), pooled.texts[0]);
  assert.match(pooled.texts[1]!, /^[0-9]{2,4}-[a-z]{3}$/);
  assert.equal(typeof JSON.parse(pooled.texts[2]!).ok, 'boolean');
});

test('MirroredGrammar keeps the accepted tokens only', () => {
  const p = new PooledGrammarProvider(q.vocab, { numWorkers: 1 });
  const g = p.create({ kind: 'choice', choices: ['yes'] });
  assert.ok(g instanceof MirroredGrammar);
  const bad = q.encode('no')[0]!;
  assert.equal(g.acceptToken(bad), false);
  assert.deepEqual(g.history, []);
  const yes = q.encode('yes');
  assert.equal(g.nextMaskCached(), g.matcher.nextMaskCached(), 'asks the engine thread\'s matcher');
  for (const id of yes) assert.ok(g.acceptToken(id));
  assert.deepEqual(g.history, yes);
});

test('the engine hands every step\'s cold rows to the workers, whatever the step size (no minimum by default)', async () => {
  const p = new PooledGrammarProvider(q.vocab, { numWorkers: 1 });
  try {
    await p.startWorkers().whenStarted();
    assert.notEqual(p.bulkFiller(1), null);
  } finally {
    await p.close();
  }
});

test("a fill's timings: the slowest row within the busiest worker's time, that worker's rows, and a late start's busy part", async () => {
  await withPool({ numWorkers: 2 }, async (pool) => {
    const out = new Int32Array(new SharedArrayBuffer(3 * WORDS * 4));
    const c = (k: number): StructuredConstraint => ({ kind: 'choice', choices: [`x${k}`, `y${k}`] });
    const rows = [1, 2, 3].map((k, i) => ({ key: k, constraint: c(k), constraintKey: `c${k}`, history: [], offset: i * WORDS }));
    assert.deepEqual(await pool.fill(rows, out), [null, null, null]);
    const t = pool.lastFill;
    assert.ok(t.slowestRowMs > 0 && t.slowestRowMs <= t.slowestBusyMs, `slowest row ${t.slowestRowMs} ms, busiest worker ${t.slowestBusyMs} ms`);
    assert.ok(t.busiestRows >= 1 && t.busiestRows <= 3, `busiest worker's rows ${t.busiestRows}`);
    assert.ok(t.latestStartBusyMs >= 0 && t.latestStartBusyMs <= t.latestStartMs + 1e-6, `busy ${t.latestStartBusyMs} of a ${t.latestStartMs} ms start`);
  });
});

test('rows the caller claims once posted are left to it: its worker syncs but neither writes nor answers them', async () => {
  await withPool({ numWorkers: 2 }, async (pool) => {
    const n = 6;
    const out = new Int32Array(new SharedArrayBuffer(n * WORDS * 4));
    const c = (k: number): StructuredConstraint => ({ kind: 'choice', choices: [`x${k}`, `y${k}`] });
    const rows = Array.from({ length: n }, (_, i) => ({ key: i + 1, constraint: c(i), constraintKey: `c${i}`, history: [], offset: i * WORDS }));
    const told = new Array<number>(n).fill(0);
    const mine = new Set<number>();
    let order: number[] = [];
    const errors = await pool.fill(rows, out, (k) => told[k]!++, (posted) => {
      order = posted.order;
      // every other row, as the engine thread would: whichever side claims a row first computes it
      for (const k of posted.order.filter((_, j) => j % 2 === 0)) {
        if (!claimRow(posted.claims, k, BY_ENGINE)) continue;
        mine.add(k);
        out.fill(-7, k * WORDS, (k + 1) * WORDS); // this side's "mask"
      }
    });
    assert.deepEqual([...order].sort(), rows.map((_, k) => k), 'every posted row is offered once');
    assert.deepEqual(errors, rows.map(() => null));
    rows.forEach((r, k) => {
      assert.equal(told[k], mine.has(k) ? 0 : 1, `row ${k} told by the pool ${told[k]} times`);
      if (mine.has(k)) assert.ok(out.subarray(k * WORDS, (k + 1) * WORDS).every((w) => w === -7), `row ${k} left to its claimer`);
      else assert.deepEqual(out.subarray(k * WORDS, (k + 1) * WORDS), referenceMask(r.constraint), `row ${k} written by its worker`);
    });
    // the mirrors stayed in sync: the next fill, with a token accepted, is exact for every row
    const next = rows.map((r, k) => ({ ...r, history: q.encode(k % 2 === 0 ? `x${k}` : `y${k}`).slice(0, 1) }));
    const out2 = new Int32Array(new SharedArrayBuffer(n * WORDS * 4));
    assert.deepEqual(await pool.fill(next, out2), rows.map(() => null));
    next.forEach((r, k) => assert.deepEqual(out2.subarray(k * WORDS, (k + 1) * WORDS), referenceMask(r.constraint, r.history), `row ${k} after its token`));
  });
});

test('tail-first order: each list\'s last row first, across lists in turn', () => {
  assert.deepEqual(tailFirst([[0, 1, 2], [3], [4, 5]]), [2, 3, 5, 1, 4, 0]);
  assert.deepEqual(tailFirst([]), []);
});

test('the engine thread takes over walked cold rows no worker has started, from both of a step\'s fills: each told once, masks exact', async () => {
  const work = workload();
  // a long limit, so that every walked row not yet claimed is taken (the default bounds the engine thread's time);
  // one compiled constraint kept, so that the walks made below outlive the masks cached with them
  const p = new PooledGrammarProvider(q.vocab, { numWorkers: 1, minRowsForWorkers: 1, engineAssistMs: 1000, maxCompiled: 1 });
  await p.startWorkers().whenStarted();
  try {
    // the engine thread walks every state of the outputs now: the requests below, compiled again, find their states
    // walked but their masks cold (evicted with their compiled constraints)
    const ref = new Int32Array(WORDS);
    for (const item of work) {
      const m = p.main.create(item.constraint);
      for (const id of item.ids) {
        m.fillNextTokenBitmask(ref, 0);
        assert.ok(m.acceptToken(id));
      }
    }
    const live = [...work, ...work].map((item) => ({ item, g: p.create(item.constraint), pos: 0, filledHere: 0 }));
    // the engine thread fills a row of a fill only when it takes the row over (the workers fill their own mirrors)
    for (const l of live) {
      const fill = l.g.fillNextTokenBitmask.bind(l.g);
      l.g.fillNextTokenBitmask = (o, off) => {
        l.filledHere++;
        fill(o, off);
      };
    }
    /** rows taken over, by fill: the step's first (its likely cold rows, worker-masks.ts) and second */
    const takenFrom = [0, 0];
    let compared = 0;
    while (live.some((l) => l.pos < l.item.ids.length)) {
      const active = live.filter((l) => l.pos < l.item.ids.length);
      const filler = p.bulkFiller(active.length)!;
      const out = filler.allocate(active.length * WORDS);
      const cold = active.filter((l) => !l.g.nextMaskCached());
      const told = new Array<number>(cold.length).fill(0);
      // posted in two fills, as a step whose likely cold rows go first
      const half = Math.ceil(cold.length / 2);
      const parts = [cold.slice(0, half), cold.slice(half)];
      const filledBefore = cold.map((l) => l.filledHere);
      const pending = parts.map((part, f) =>
        filler.fill(part.map((l) => ({ grammar: l.g, offset: active.indexOf(l) * WORDS })), out, (k, err) => {
          assert.equal(err, null);
          told[f * half + k]!++;
        }),
      );
      const before = p.rowsAssisted;
      filler.assist!();
      const taken = p.rowsAssisted - before;
      // taken rows are told at once, on this thread
      assert.equal(told.filter((t) => t === 1).length >= taken, true, `${taken} taken, ${told.join('')} told`);
      assert.deepEqual(await Promise.all(pending), parts.map((part) => part.map(() => null)));
      assert.deepEqual(told, cold.map(() => 1), 'every cold row is told exactly once');
      cold.forEach((l, k) => (takenFrom[k < half ? 0 : 1] += l.filledHere - filledBefore[k]!));
      const ref = new Int32Array(WORDS);
      for (const l of cold) {
        const i = active.indexOf(l);
        l.g.matcher.fillNextTokenBitmask(ref, 0);
        assert.deepEqual(out.subarray(i * WORDS, (i + 1) * WORDS), ref, `${l.item.name} at token ${l.pos}`);
        compared++;
      }
      for (const l of active) {
        assert.ok(l.g.acceptToken(l.item.ids[l.pos++]!));
        if (l.pos === l.item.ids.length) l.g.release();
      }
    }
    assert.ok(compared > 0);
    assert.ok(p.rowsAssisted > 0, `the engine thread took ${p.rowsAssisted} of ${compared} cold rows`);
    assert.equal(takenFrom[0]! + takenFrom[1]!, p.rowsAssisted);
    assert.ok(takenFrom[0]! > 0 && takenFrom[1]! > 0, `rows taken from the first and second fills: ${takenFrom.join(', ')}`);
  } finally {
    await p.close();
  }
});

test('a cold row whose state the engine thread has not walked stays with its worker', async () => {
  const p = new PooledGrammarProvider(q.vocab, { numWorkers: 1, minRowsForWorkers: 1, engineAssistMs: 1000 });
  await p.startWorkers().whenStarted();
  try {
    // a literal no grammar of this provider met before: its first state has no walk on this thread
    const c: StructuredConstraint = { kind: 'regex', pattern: 'qzxv[0-9]{2}wj' };
    const g = p.create(c);
    assert.equal(g.matcher.nextMaskWalked(), false);
    const filler = p.bulkFiller(1)!;
    const out = filler.allocate(WORDS);
    const pending = filler.fill([{ grammar: g, offset: 0 }], out);
    filler.assist!();
    assert.deepEqual(await pending, [null]);
    assert.equal(p.rowsAssisted, 0, 'a new walk (up to milliseconds) is never made on the engine thread');
    assert.equal(p.startWorkers().stats.rowsFilled, 1, 'its worker filled it');
    assert.deepEqual(out, referenceMask(c));
  } finally {
    await p.close();
  }
});

test('a worker mask waiting to be adopted is written from its identity, which does not last (its buffer is reused)', async () => {
  // no step asks for the workers: none starts
  const p = new PooledGrammarProvider(q.vocab, { numWorkers: 1 });
  try {
    const c: StructuredConstraint = { kind: 'choice', choices: ['alpha', 'beta'] };
    const want = referenceMask(c);
    const g = p.create(c);
    assert.equal(g.cachedMaskIdentity(), null, 'cold on the engine thread');
    g.adoptNextMask(want);
    const identity = g.cachedMaskIdentity();
    assert.ok(identity !== null, 'the adoption waiting for this state stands for its mask');
    assert.equal(g.maskIdentityLasts(identity), false);
    const got = new Int32Array(WORDS).fill(-1);
    g.fillFromIdentity(identity, got, 0);
    assert.deepEqual(got, want);
  } finally {
    await p.close();
  }
});

/**
 * tells the rows written so far from their marks (pollWritten), spinning on this thread until one is: no answer can
 * be taken meanwhile (it needs a turn of the event loop), so a row told here is told before its worker's answer
 */
function spinUntilWritten(poll: () => number): number {
  const until = Date.now() + 10_000;
  let told = 0;
  while ((told = poll()) === 0) if (Date.now() > until) throw new Error('no row was marked written within 10 s');
  return told;
}

test('a row its worker marks written is told from the mark before the answer, once; the answer brings its walkDiff to onAnswered', async () => {
  await withPool({ numWorkers: 1 }, async (pool) => {
    const rows = [0, 1, 2].map((i) => ({ key: i + 1, constraint: { kind: 'choice', choices: [`left${i}`, `right${i}`] } as StructuredConstraint, constraintKey: `c${i}`, history: [], offset: i * WORDS }));
    const out = new Int32Array(new SharedArrayBuffer(rows.length * WORDS * 4));
    let answered = false;
    pool.onAnswer = () => (answered = true);
    const told: Array<{ k: number; fromMark: boolean; beforeAnswer: boolean }> = [];
    const toOnAnswered: number[] = [];
    const fill = pool.fill(rows, out, (k, e, _walkDiff, fromMark) => {
      assert.equal(e, null);
      told.push({ k, fromMark: fromMark === true, beforeAnswer: !answered });
    }, undefined, (k) => toOnAnswered.push(k));
    spinUntilWritten(() => pool.pollWritten());
    const fromMarks = told.map((t) => t.k);
    assert.ok(fromMarks.length >= 1 && told.every((t) => t.fromMark && t.beforeAnswer), `told from marks first: ${JSON.stringify(told)}`);
    assert.equal(pool.pollWritten(), told.length - fromMarks.length, 'a row is told from its mark once');
    assert.deepEqual(await fill, [null, null, null]);
    assert.deepEqual(told.map((t) => t.k).sort(), [0, 1, 2], 'each row told once, from its mark or its answer');
    assert.deepEqual(toOnAnswered.sort(), told.filter((t) => t.fromMark).map((t) => t.k).sort(), 'the answer goes to onAnswered for exactly the rows told from marks');
    rows.forEach((r, k) => assert.deepEqual(out.subarray(k * WORDS, (k + 1) * WORDS), referenceMask(r.constraint), `row ${k}`));
  });
});

test("a row told from its mark is cached on the engine thread when its answer comes, unless its grammar moved or its bitmask is about to be written again", async () => {
  const p = new PooledGrammarProvider(q.vocab, { numWorkers: 1, engineAssistMs: 0 });
  try {
    await p.startWorkers().whenStarted();
    const filler = p.bulkFiller(1)!;
    for (const [n, how] of (['kept', 'moved', 'reused'] as const).entries()) {
      const c: StructuredConstraint = { kind: 'choice', choices: [`left${n}`, `right${n}`] };
      const g = p.create(c);
      const out = filler.allocate(WORDS);
      const told: number[] = [];
      const done = filler.fill([{ grammar: g, offset: 0 }], out, (k) => told.push(k));
      spinUntilWritten(() => filler.pollWritten!());
      assert.deepEqual(told, [0], `${how}: told from its mark`);
      if (how === 'moved') assert.ok(g.acceptToken(q.encode(`left${n}`)[0]!));
      if (how === 'reused') filler.beforeReuse!();
      assert.deepEqual(await done, [null]);
      // the adoption is stored in later turns of the event loop
      await new Promise((r) => setTimeout(r, 20));
      const fresh = p.create(c);
      assert.equal(fresh.nextMaskCached(), how === 'kept', `${how}: the first mask cached on the engine thread`);
      if (how === 'kept') {
        const mask = new Int32Array(WORDS);
        fresh.fillNextTokenBitmask(mask, 0);
        assert.deepEqual(mask, referenceMask(c));
      }
      // never the first mask for the state the grammar moved to
      if (how === 'moved') assert.equal(g.nextMaskCached(), false, 'moved: its new state has no mask cached');
      g.release();
      fresh.release();
    }
  } finally {
    await p.close();
  }
});
