// The order in which fillWithWorkers feeds a step's rows: rows likely to be cold (cold at their request's last step,
// or new) first, their cold masks posted to the workers before the other rows are fed; cold rows found among the
// others are posted after, in a second fill. Every row ends filled either way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BulkMaskFiller, HeldRows, MaskRow, RequestGrammar } from '../../src/engine/grammar.js';
import { fillWithWorkers, type WorkerMaskTimings } from '../../src/engine/worker-masks.js';
import { LogitsSignal } from '../../src/engine/mask-deadline.js';
import { SharedMaskRows } from '../../src/engine/shared-mask-rows.js';
import type { SequenceState } from '../../src/engine/request-state.js';

const WORDS = 1;

/** a grammar whose next mask is cached or not as the test says; its mask is one bit: its row's number */
class FlagGrammar implements RequestGrammar {
  cold = true;
  constructor(readonly row: number) {}
  fillNextTokenBitmask(out: Int32Array, offset: number): void {
    out.fill(0, offset, offset + WORDS);
    out[offset + (this.row >> 5)] = 1 << (this.row & 31);
  }
  acceptToken(): boolean {
    return true;
  }
  isTerminated(): boolean {
    return false;
  }
  cachedMaskIdentity(): object | null {
    return this.cold ? null : this;
  }
  fillFromIdentity(_identity: object, out: Int32Array, offset: number): void {
    this.fillNextTokenBitmask(out, offset);
  }
}

/** fills every posted row at once, noting for each fill which rows it had and how many rows were fed by then */
class RecordingFiller implements BulkMaskFiller {
  fills: Array<{ rows: number[]; fedBefore: number }> = [];
  constructor(private readonly fed: () => number) {}
  allocate(length: number): Int32Array {
    return new Int32Array(new SharedArrayBuffer(length * 4));
  }
  async fill(rows: readonly MaskRow[], out: Int32Array, onRowDone?: (k: number, e: Error | null) => void): Promise<Array<Error | null>> {
    this.fills.push({ rows: rows.map((r) => (r.grammar as FlagGrammar).row), fedBefore: this.fed() });
    await Promise.resolve();
    rows.forEach((r, k) => {
      r.grammar.fillNextTokenBitmask(out, r.offset);
      onRowDone?.(k, null);
    });
    return rows.map(() => null);
  }
}

async function step(grammars: FlagGrammar[]) {
  let fed = 0;
  const filler = new RecordingFiller(() => fed);
  const bitmask = filler.allocate(grammars.length * WORDS);
  const grammarRows = new Uint8Array(grammars.length);
  const states = grammars.map(() => ({ lateMask: null, maskDeferrals: 0 }) as unknown as SequenceState);
  const held: HeldRows = { holds: () => false, hold: () => undefined };
  const timings: WorkerMaskTimings = { classifyMs: 0, cachedFillMs: 0, cachedRows: 0, coldRows: 0, earlyColdRows: 0, earlyPostMs: 0 };
  const result = await fillWithWorkers(
    {
      bitmask,
      grammarRows,
      words: WORDS,
      logits: new LogitsSignal(),
      graceMs: 0,
      rows: grammars.map((grammar, i) => ({ i, grammar })),
      feed: () => void fed++,
      shared: new SharedMaskRows(new Int32Array(grammars.length).fill(-1)),
      held,
      late: [],
      live: (i) => states[i]!,
      fail: (i, e) => assert.fail(`row ${i} failed: ${String(e)}`),
      timings,
    },
    filler,
  );
  grammars.forEach((g, i) => {
    assert.equal(grammarRows[i], 1, `row ${i} filled`);
    assert.equal(bitmask[i * WORDS + (g.row >> 5)], 1 << (g.row & 31), `row ${i} holds its own mask`);
  });
  return { fills: filler.fills, timings, result };
}

test('rows cold at their last step are fed first and their cold masks posted before the other rows are fed', async () => {
  const grammars = Array.from({ length: 8 }, (_, i) => new FlagGrammar(i));
  // first step: every grammar is new, so all are likely cold: one post, after all rows were fed
  grammars.forEach((g, i) => (g.cold = i % 4 === 0));
  const first = await step(grammars);
  assert.deepEqual(first.fills, [{ rows: [0, 4], fedBefore: 8 }]);
  assert.equal(first.timings.earlyColdRows, 0);
  // second step: rows 0 and 4 (cold last step) go first; row 0 is cold again and posted after those two were fed;
  // row 5 (cached last step) turned cold: posted in a second fill once every row was fed
  grammars.forEach((g, i) => (g.cold = i === 0 || i === 5));
  const second = await step(grammars);
  assert.deepEqual(second.fills, [
    { rows: [0], fedBefore: 2 },
    { rows: [5], fedBefore: 8 },
  ]);
  assert.equal(second.timings.earlyColdRows, 1);
  assert.equal(second.timings.coldRows, 2);
  assert.equal(second.result.coldRows, 2);
  // third step: rows 0 and 5 go first, neither cold now: nothing posted early; row 3 turned cold: posted at the end
  grammars.forEach((g, i) => (g.cold = i === 3));
  const third = await step(grammars);
  assert.deepEqual(third.fills, [{ rows: [3], fedBefore: 8 }]);
  assert.equal(third.timings.earlyColdRows, 0);
});
