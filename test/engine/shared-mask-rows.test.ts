// Rows whose grammars answer the same cached mask (cachedMaskIdentity) are written once per step: the others point
// at that row (StepBatch.grammarSameAs) and every reader (the reference sampler here, the GPU sampler's dedupe in
// cuda-sampling-masks.test.ts) takes its mask from there; outputs are those of every row written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend, StepBatch, StepResult } from '../../src/runner/batch.js';
import { createTsBackend } from '../../src/runner/ts-backend.js';
import type { BulkMaskFiller, GrammarProvider, MaskRow, RequestGrammar } from '../../src/engine/grammar.js';
import { SharedMaskRows } from '../../src/engine/shared-mask-rows.js';
import { StepMaskBuffer } from '../../src/engine/step-mask-buffer.js';
import { FakeKvModel, FAKE_VOCAB, makeCore } from './fakes.js';
import { drain, submit } from './run-core.js';

const WORDS = Math.ceil(FAKE_VOCAB / 32);

test('SharedMaskRows: the first row written with an identity is shared by later ones; null identities never share', () => {
  const sameAs = new Int32Array(5).fill(7);
  const shared = new SharedMaskRows(sameAs);
  const x = {};
  assert.equal(shared.share(0, x), false);
  shared.wrote(0, x);
  assert.equal(shared.share(1, null), false);
  shared.wrote(1, null);
  assert.equal(shared.share(2, x), true);
  assert.equal(shared.share(3, {}), false);
  assert.deepEqual([...sameAs], [-1, -1, 0, -1, -1]);
});

/** a grammar that allows `allowed[k]` at step k (the last one after that); `onWrite` is told each mask it writes */
function scripted(allowed: number[], onWrite: (token: number) => void) {
  let at = 0;
  const token = () => allowed[Math.min(at, allowed.length - 1)]!;
  const grammar = {
    fillNextTokenBitmask(out: Int32Array, off: number): void {
      onWrite(token());
      out.fill(0, off, off + WORDS);
      out[off + (token() >> 5)] = 1 << (token() & 31);
    },
    acceptToken(t: number): boolean {
      const ok = t === token();
      at++;
      return ok;
    },
    isTerminated: () => false,
  };
  return { grammar, token, at: () => at };
}

/**
 * allows `allowed[k]` at step k; its cached mask's identity is the shared object of (allowed token, step) when
 * `cachedFrom` <= k (a cold mask before that); logs its fills
 */
function grammar(name: string, allowed: number[], identities: Map<string, object>, log: string[], cachedFrom = 0): RequestGrammar {
  const { grammar: g, token, at } = scripted(allowed, () => log.push(`fill ${name}`));
  return {
    ...g,
    cachedMaskIdentity() {
      if (at() < cachedFrom) return null;
      const key = `${token()}@${at()}`;
      if (!identities.has(key)) identities.set(key, {});
      return identities.get(key)!;
    },
  };
}

/** the scripted requests of both engine tests: name, allowed token per step, first step whose mask is cached */
const SCRIPTS: Array<[string, number[], number]> = [
  ['a', [5, 6, 7], 0],
  ['b', [5, 6, 9], 0], // shares a's mask for two steps, then its own
  ['c', [8, 8, 8], 0],
  ['d', [5, 6, 7], 1], // cold at its first step (computed), cached after
];

for (const withWorkers of [false, true]) {
  test(`engine${withWorkers ? ' with a bulk filler (cold rows off the engine thread)' : ''}: rows with one cached mask are written once; the sampler reads the shared row and every output follows its mask`, async () => {
  const log: string[] = [];
  const identities = new Map<string, object>();
  let made = 0;
  const provider: GrammarProvider = {
    create: () => {
      const [name, allowed, cachedFrom] = SCRIPTS[made++]!;
      return grammar(name, allowed, identities, log, cachedFrom);
    },
  };
  // a filler that computes the cold rows it is handed (as a worker would), in a later turn
  const filler: BulkMaskFiller = {
    allocate: (n) => new Int32Array(new SharedArrayBuffer(n * 4)),
    async fill(rows: readonly MaskRow[], out: Int32Array) {
      await new Promise((r) => setImmediate(r));
      for (const r of rows) r.grammar.fillNextTokenBitmask(out, r.offset);
      return rows.map(() => null);
    },
  };
  if (withWorkers) provider.bulkFiller = () => filler;
  const seen: Array<{ sameAs: number[] }> = [];
  const inner = createTsBackend(new FakeKvModel(FAKE_VOCAB, 256, 4), { numBlocks: 256, blockSize: 4, seed: 0 });
  const backend: Backend = {
    info: inner.info,
    async execute(batch: StepBatch): Promise<StepResult> {
      const result = await inner.execute(batch);
      if (batch.grammarSameAs) seen.push({ sameAs: Array.from(batch.grammarSameAs) });
      return result;
    },
    close: () => inner.close(),
  };
  const { core } = makeCore({ backend, grammar: provider });
  const params = { temperature: 0, maxTokens: 3, ignoreEos: true, structured: { kind: 'regex' as const, pattern: 'x' } };
  const reqs = ['a', 'b', 'c', 'd'].map((n) => submit(core, n, [2, 3], params));
  await drain(core);
  assert.deepEqual(reqs.map((r) => r.final().outputs[0].tokenIds), [[5, 6, 7], [5, 6, 9], [8, 8, 8], [5, 6, 7]]);
  // step 1: b shares a (d is cold: computed, then written itself); step 2: b and d share a; step 3: d shares a.
  // With the filler, d (cold at step 1, so likely cold) is classified first at step 2: written there, a and b share it
  assert.deepEqual(
    seen.map((s) => s.sameAs),
    withWorkers ? [[-1, 0, -1, -1], [3, 3, -1, -1], [-1, -1, -1, 0]] : [[-1, 0, -1, -1], [-1, 0, -1, 0], [-1, -1, -1, 0]],
  );
  // (with the filler, the cold row d is computed in a later turn, after the cached rows are written)
  assert.deepEqual(log, withWorkers ? ['fill a', 'fill c', 'fill d', 'fill d', 'fill c', 'fill a', 'fill b', 'fill c'] : ['fill a', 'fill c', 'fill d', 'fill a', 'fill c', 'fill a', 'fill b', 'fill c']);
  });
}

/** allows `allowed[k]` at step k; its identity is one object per allowed token, lasting or not; logs its writes */
function lastingGrammar(name: string, allowed: number[], lasts: boolean, log: string[]): RequestGrammar {
  const ids = new Map<number, object>();
  const { grammar: g, token } = scripted(allowed, (t) => log.push(`write ${name} ${t}`));
  return {
    ...g,
    fillFromIdentity: (_identity, out, off) => g.fillNextTokenBitmask(out, off),
    maskIdentityLasts: () => lasts,
    cachedMaskIdentity() {
      if (!ids.has(token())) ids.set(token(), {});
      return ids.get(token())!;
    },
  };
}

for (const withWorkers of [false, true]) {
  test(`engine${withWorkers ? ' with a bulk filler' : ''}: a row that holds its lasting mask from the step before is not written again; every output follows its masks`, async () => {
    const log: string[] = [];
    const scripts: Array<[string, number[], boolean]> = [
      ['p', [8, 8, 8, 9], true],
      ['q', [8, 8, 8, 8], false], // its identities do not last: written at every step
      ['r', [5, 5, 6, 6], true],
    ];
    let made = 0;
    const provider: GrammarProvider = {
      create: () => {
        const [name, allowed, lasts] = scripts[made++]!;
        return lastingGrammar(name, allowed, lasts, log);
      },
    };
    // (every row is cached: the filler gets none; one filler, so the engine keeps its bitmask)
    const filler: BulkMaskFiller = {
      allocate: (n) => new Int32Array(new SharedArrayBuffer(n * 4)),
      fill: async (rows: readonly MaskRow[]) => rows.map(() => null),
    };
    if (withWorkers) provider.bulkFiller = () => filler;
    const { core } = makeCore({ grammar: provider });
    const params = { temperature: 0, maxTokens: 4, ignoreEos: true, structured: { kind: 'regex' as const, pattern: 'x' } };
    const reqs = ['p', 'q', 'r'].map((n) => submit(core, n, [2, 3], params));
    await drain(core);
    assert.deepEqual(reqs.map((r) => r.final().outputs[0].tokenIds), [[8, 8, 8, 9], [8, 8, 8, 8], [5, 5, 6, 6]]);
    assert.deepEqual(log, ['write p 8', 'write q 8', 'write r 5', 'write q 8', 'write q 8', 'write r 6', 'write p 9', 'write q 8']);
  });
}

test('StepMaskBuffer: a row holds its identity until it is zeroed or the buffer is discarded', () => {
  const buf = new StepMaskBuffer(4, WORDS);
  const x = {};
  buf.take(3, [0, 1, 2], null);
  buf.hold(0, x);
  buf.hold(1, x);
  assert.equal(buf.holds(0, x), true);
  assert.equal(buf.holds(0, {}), false);
  // row 1 is no grammar row at the next step: zeroed, it holds nothing
  buf.take(3, [0, 2], null);
  assert.equal(buf.holds(0, x), true);
  assert.equal(buf.holds(1, x), false);
  buf.discard();
  buf.take(3, [0, 1, 2], null);
  assert.equal(buf.holds(0, x), false, 'a new buffer holds no identity');
});

test('engine with a bulk filler: a row a worker wrote holds no identity: the same lasting mask as before that step is written again', async () => {
  const log: string[] = [];
  const g = lastingGrammar('s', [8, 7, 8, 8], true, log);
  let at = 0;
  // cold at its second step (a worker writes token 7's mask into the row), cached before and after
  const identity = g.cachedMaskIdentity!.bind(g);
  g.cachedMaskIdentity = () => (at === 1 ? null : identity());
  const accept = g.acceptToken.bind(g);
  g.acceptToken = (t) => (at++, accept(t));
  const filler: BulkMaskFiller = {
    allocate: (n) => new Int32Array(new SharedArrayBuffer(n * 4)),
    async fill(rows: readonly MaskRow[], out: Int32Array) {
      for (const r of rows) r.grammar.fillNextTokenBitmask(out, r.offset);
      return rows.map(() => null);
    },
  };
  const { core } = makeCore({ grammar: { create: () => g, bulkFiller: () => filler } });
  const req = submit(core, 's', [2, 3], { temperature: 0, maxTokens: 4, ignoreEos: true, structured: { kind: 'regex' as const, pattern: 'x' } });
  await drain(core);
  assert.deepEqual(req.final().outputs[0].tokenIds, [8, 7, 8, 8]);
  assert.deepEqual(log, ['write s 8', 'write s 7', 'write s 8']);
});
