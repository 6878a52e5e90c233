// Grammar masks are computed while the forward pass runs: the engine starts execute first, fills the masks (one by
// one, or through a provider's bulk filler) and resolves batch.masksReady; the backend samples only after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend, StepBatch, StepResult } from '../../src/runner/batch.js';
import { createTsBackend } from '../../src/runner/ts-backend.js';
import type { BulkMaskFiller, GrammarProvider, MaskRow, RequestGrammar } from '../../src/engine/grammar.js';
import { FakeKvModel, FAKE_VOCAB, makeCore } from './fakes.js';
import { drain, submit } from './run-core.js';

const WORDS = Math.ceil(FAKE_VOCAB / 32);
/** the fake filler answers after a timer: a grace this long keeps these tests off the deadline (mask-deadline.test.ts) */
const NO_DEADLINE = 600_000;

/** a grammar allowing exactly one token; `log` records when its mask was computed */
function oneTokenGrammar(token: number, log: string[], name: string): RequestGrammar & { released: boolean } {
  return {
    released: false,
    fillNextTokenBitmask(out, off) {
      log.push(`fill ${name}`);
      out.fill(0, off, off + WORDS);
      out[off + (token >> 5)] = 1 << (token & 31);
    },
    acceptToken: (t) => t === token,
    isTerminated: () => false,
    release() {
      this.released = true;
    },
  };
}

/** the ts backend over the fake model, logging when execute starts and when the sampler reads the masks */
function loggingBackend(log: string[]): Backend {
  const inner = createTsBackend(new FakeKvModel(FAKE_VOCAB, 256, 4), { numBlocks: 256, blockSize: 4, seed: 0 });
  return {
    info: inner.info,
    async execute(batch: StepBatch): Promise<StepResult> {
      const rowsAtStart = batch.grammarRows ? Array.from(batch.grammarRows) : null;
      log.push(`execute rows=${rowsAtStart?.join('') ?? '-'}`);
      const result = inner.execute(batch); // awaits masksReady before sampling
      await batch.masksReady;
      log.push(`sample rows=${batch.grammarRows ? Array.from(batch.grammarRows).join('') : '-'}`);
      return result;
    },
    close: () => inner.close(),
  };
}

test('masks are filled after execute started and before the sampler reads them', async () => {
  const log: string[] = [];
  const grammars: Array<ReturnType<typeof oneTokenGrammar>> = [];
  const provider: GrammarProvider = {
    create: () => {
      const g = oneTokenGrammar(7, log, `g${grammars.length}`);
      grammars.push(g);
      return g;
    },
  };
  const { core } = makeCore({ backend: loggingBackend(log), grammar: provider, structuredOutputMaskGraceMs: NO_DEADLINE });
  const a = submit(core, 'a', [2, 3], { temperature: 0, maxTokens: 2, structured: { kind: 'regex', pattern: 'x' } });
  const free = submit(core, 'free', [4, 5], { temperature: 0, maxTokens: 2, ignoreEos: true });
  await drain(core);
  assert.deepEqual(a.final().outputs[0].tokenIds, [7, 7], 'the sampled tokens obey the masks');
  assert.equal(free.final().outputs[0].tokenIds.length, 2);
  // each step: the bitmask is allocated but empty when execute starts, full once the sampler runs
  assert.deepEqual(log, ['execute rows=00', 'fill g0', 'sample rows=10', 'execute rows=00', 'fill g0', 'sample rows=10']);
  assert.ok(grammars[0].released, 'a finished request releases its grammar');
});

test('a step without grammar rows has no masksReady and no bitmask', async () => {
  const seen: Array<StepBatch['masksReady']> = [];
  const inner = createTsBackend(new FakeKvModel(FAKE_VOCAB, 256, 4), { numBlocks: 256, blockSize: 4, seed: 0 });
  const backend: Backend = {
    info: inner.info,
    execute: (b) => {
      seen.push(b.masksReady);
      assert.equal(b.grammarBitmask, null);
      return inner.execute(b);
    },
    close: () => inner.close(),
  };
  const { core } = makeCore({ backend });
  submit(core, 'f', [2, 3], { temperature: 0, maxTokens: 3, ignoreEos: true });
  await drain(core);
  assert.equal(seen.length, 3);
  assert.ok(seen.every((m) => m === undefined || m === null));
});

/** a bulk filler that fills rows later (as worker threads would), failing the rows `failRow` picks */
class FakeBulkFiller implements BulkMaskFiller {
  calls: number[] = [];
  allocated = 0;
  constructor(
    private readonly failRow: (g: RequestGrammar) => Error | null,
    private readonly reject = false,
  ) {}
  allocate(length: number): Int32Array {
    this.allocated++;
    return new Int32Array(new SharedArrayBuffer(length * 4));
  }
  async fill(rows: readonly MaskRow[], out: Int32Array): Promise<Array<Error | null>> {
    this.calls.push(rows.length);
    await new Promise((r) => setTimeout(r, 5));
    if (this.reject) throw new Error('filler broke down');
    return rows.map((r) => {
      const err = this.failRow(r.grammar);
      if (!err) r.grammar.fillNextTokenBitmask(out, r.offset);
      return err;
    });
  }
}

function bulkProvider(filler: FakeBulkFiller, minRows: number, log: string[]): GrammarProvider & { made: RequestGrammar[] } {
  const made: RequestGrammar[] = [];
  return {
    made,
    create: () => {
      const g = oneTokenGrammar(9 + made.length, log, `g${made.length}`);
      made.push(g);
      return g;
    },
    bulkFiller: (n) => (n >= minRows ? filler : null),
  };
}

test('a bulk filler takes steps with enough grammar rows; a row it fails ends that request alone', async () => {
  const log: string[] = [];
  const filler = new FakeBulkFiller((g) => (g === provider.made[1] ? new Error('mask worker 0 exited unexpectedly') : null));
  const provider = bulkProvider(filler, 2, log);
  const { core } = makeCore({ backend: loggingBackend(log), grammar: provider, structuredOutputMaskGraceMs: NO_DEADLINE });
  const params = { temperature: 0, maxTokens: 3, ignoreEos: true, structured: { kind: 'regex' as const, pattern: 'x' } };
  const r0 = submit(core, 'r0', [2, 3], params);
  const r1 = submit(core, 'r1', [2, 4], params);
  const r2 = submit(core, 'r2', [2, 5], params);
  const free = submit(core, 'free', [2, 6], { temperature: 0, maxTokens: 3, ignoreEos: true });
  await drain(core);
  assert.match(r1.error!.message, /mask worker 0 exited unexpectedly/);
  assert.deepEqual(r0.final().outputs[0].tokenIds, [9, 9, 9]);
  assert.deepEqual(r2.final().outputs[0].tokenIds, [11, 11, 11]);
  assert.equal(free.final().outputs[0].tokenIds.length, 3);
  assert.deepEqual(filler.calls, [3, 2, 2], 'the failed request leaves the later steps');
  // the first step's bitmask is dropped because a worker failed on it (it may still write into it); the second one
  // is allocated by the filler and then reused by the third step
  assert.equal(filler.allocated, 2, 'bulk steps get the filler-allocated (shared) bitmask, reused while no worker fails');
  assert.equal(core.scheduler.kv.pool.numFreeBlocks, 256);
});

test('below the bulk threshold the engine fills masks itself', async () => {
  const log: string[] = [];
  const filler = new FakeBulkFiller(() => null);
  const provider = bulkProvider(filler, 3, log);
  const { core } = makeCore({ backend: loggingBackend(log), grammar: provider, structuredOutputMaskGraceMs: NO_DEADLINE });
  const r0 = submit(core, 'r0', [2, 3], { temperature: 0, maxTokens: 2, ignoreEos: true, structured: { kind: 'regex', pattern: 'x' } });
  await drain(core);
  assert.deepEqual(r0.final().outputs[0].tokenIds, [9, 9]);
  assert.deepEqual(filler.calls, []);
});

test('a filler that rejects fails the requests waiting on it; the engine goes on', async () => {
  const log: string[] = [];
  const filler = new FakeBulkFiller(() => null, true);
  const provider = bulkProvider(filler, 2, log);
  const { core } = makeCore({ backend: loggingBackend(log), grammar: provider, structuredOutputMaskGraceMs: NO_DEADLINE });
  const params = { temperature: 0, maxTokens: 3, ignoreEos: true, structured: { kind: 'regex' as const, pattern: 'x' } };
  const r0 = submit(core, 'r0', [2, 3], params);
  const r1 = submit(core, 'r1', [2, 4], params);
  const free = submit(core, 'free', [2, 6], { temperature: 0, maxTokens: 3, ignoreEos: true });
  await drain(core);
  assert.match(r0.error!.message, /filler broke down/);
  assert.match(r1.error!.message, /filler broke down/);
  assert.equal(free.final().outputs[0].tokenIds.length, 3);
  assert.equal(core.scheduler.kv.pool.numFreeBlocks, 256);
});

test('an abort while the bulk filler runs: the aborted request is skipped, the others go on', async () => {
  const log: string[] = [];
  let core!: ReturnType<typeof makeCore>['core'];
  const filler = new FakeBulkFiller(() => {
    core.abort('r0'); // lands while the step's masks are being computed
    return null;
  });
  const provider = bulkProvider(filler, 2, log);
  core = makeCore({ backend: loggingBackend(log), grammar: provider, structuredOutputMaskGraceMs: NO_DEADLINE }).core;
  const params = { temperature: 0, maxTokens: 3, ignoreEos: true, structured: { kind: 'regex' as const, pattern: 'x' } };
  const r0 = submit(core, 'r0', [2, 3], params);
  const r1 = submit(core, 'r1', [2, 4], params);
  await drain(core);
  assert.equal(r0.final().outputs[0].finishReason, 'abort');
  assert.equal(r0.error, null);
  assert.deepEqual(r1.final().outputs[0].tokenIds, [10, 10, 10]);
  assert.equal(core.scheduler.kv.pool.numFreeBlocks, 256);
});

test('close() closes the backend and the grammar provider', async () => {
  const closed: string[] = [];
  const { core } = makeCore({
    grammar: { create: () => oneTokenGrammar(1, [], 'g'), close: async () => void closed.push('grammar') },
  });
  const backendClose = core.backend.close.bind(core.backend);
  core.backend.close = async () => {
    closed.push('backend');
    await backendClose();
  };
  await core.close();
  assert.deepEqual(closed, ['backend', 'grammar']);
});
