// The order in which fillWithWorkers feeds a step's rows: rows likely to be cold (cold at their request's last step,
// or new) first, their cold masks posted to the workers before the other rows are fed; cold rows found among the
// others are posted after, in a second fill. Every row ends filled either way. Rows a filler marks written are told
// from their marks: the step does not wait for the filler's answers.
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
  /** told when a worker's mask for it is taken (RequestGrammar.adoptNextMask) */
  onAdopt: (() => void) | null = null;
  constructor(readonly row: number) {}
  adoptNextMask(): void {
    this.onAdopt?.();
  }
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

/**
 * fills every posted row at once, noting for each fill which rows it had, how many rows were fed by then and the
 * rows' pending tokens; takes ahead the grammars `ahead` picks (none by default). With `marks`, it writes the rows
 * and marks them (pollWritten tells them), but holds its answers until release()
 */
class RecordingFiller implements BulkMaskFiller {
  /** rows written and marked, not told yet (marks mode) */
  private marked: Array<() => void> = [];
  private held: Array<() => void> = [];
  /** the answers held so far were released (marks mode) */
  released = false;
  pollWritten?: () => number;
  whenProgress?: () => Promise<unknown>;
  fills: Array<{ rows: number[]; fedBefore: number; pending?: number[] }> = [];
  takesAhead?: (g: RequestGrammar) => boolean;
  /** rows handed back (reclaim): written by the caller's thread, not by this filler */
  reclaimed: number[] = [];
  /** per assist call, how many rows were fed by then (an assist computes from the caller's matchers: all fed) */
  assistedAfter: number[] = [];
  private posted: Array<{ rows: readonly MaskRow[]; out: Int32Array; onRowDone?: (k: number, e: Error | null) => void }> = [];
  constructor(
    private readonly fed: () => number,
    ahead?: (row: number) => boolean,
    private readonly marks = false,
  ) {
    if (ahead) this.takesAhead = (g) => ahead((g as FlagGrammar).row);
    if (marks) {
      this.pollWritten = () => this.marked.splice(0).map((tell) => tell()).length;
      this.whenProgress = () => new Promise((r) => setImmediate(r));
    }
  }
  release(): void {
    this.released = true;
    for (const answer of this.held.splice(0)) answer();
  }
  reclaim(g: RequestGrammar): boolean {
    for (const { rows, out, onRowDone } of this.posted) {
      const k = rows.findIndex((r) => r.grammar === g);
      if (k < 0) continue;
      this.reclaimed.push((g as FlagGrammar).row);
      g.fillNextTokenBitmask(out, rows[k]!.offset);
      onRowDone?.(k, null);
      return true;
    }
    return false;
  }
  assist(): void {
    this.assistedAfter.push(this.fed());
  }
  allocate(length: number): Int32Array {
    return new Int32Array(new SharedArrayBuffer(length * 4));
  }
  async fill(rows: readonly MaskRow[], out: Int32Array, onRowDone?: (k: number, e: Error | null) => void): Promise<Array<Error | null>> {
    const pending = rows.map((r) => r.pendingToken ?? -1);
    this.fills.push({ rows: rows.map((r) => (r.grammar as FlagGrammar).row), fedBefore: this.fed(), ...(pending.some((t) => t >= 0) ? { pending } : {}) });
    this.posted.push({ rows, out, onRowDone });
    if (this.marks) {
      rows.forEach((r, k) => {
        r.grammar.fillNextTokenBitmask(out, r.offset);
        this.marked.push(() => onRowDone?.(k, null));
      });
      await new Promise<void>((r) => this.held.push(r));
      return rows.map(() => null);
    }
    await Promise.resolve();
    rows.forEach((r, k) => {
      if (this.reclaimed.includes((r.grammar as FlagGrammar).row)) return;
      r.grammar.fillNextTokenBitmask(out, r.offset);
      onRowDone?.(k, null);
    });
    return rows.map(() => null);
  }
}

/**
 * one step over `grammars`; with `ahead`, the filler takes those rows ahead and row i's pending token is 100 + i;
 * `rejects`: rows whose feed throws (their requests fail, and nothing else)
 */
async function step(grammars: FlagGrammar[], ahead?: (row: number) => boolean, rejects: number[] = [], marks = false) {
  let fed = 0;
  const failed: number[] = [];
  const filler = new RecordingFiller(() => fed, ahead, marks);
  const bitmask = filler.allocate(grammars.length * WORDS);
  const grammarRows = new Uint8Array(grammars.length);
  const states = grammars.map(() => ({ lateMask: null, maskDeferrals: 0 }) as unknown as SequenceState);
  const held: HeldRows = { holds: () => false, hold: () => undefined };
  const timings: WorkerMaskTimings = { classifyMs: 0, cachedFillMs: 0, aheadFeedMs: 0, cachedRows: 0, coldRows: 0, earlyColdRows: 0, earlyPostMs: 0, aheadRows: 0, aheadCachedRows: 0, aheadReclaimedRows: 0 };
  const result = await fillWithWorkers(
    {
      bitmask,
      grammarRows,
      words: WORDS,
      logits: new LogitsSignal(),
      graceMs: 0,
      rows: grammars.map((grammar, i) => ({ i, grammar })),
      feed: (i) => {
        fed++;
        if (rejects.includes(i)) throw new Error(`row ${i}: the grammar rejected its token`);
      },
      ...(ahead ? { pendingToken: (i: number) => 100 + i } : {}),
      shared: new SharedMaskRows(new Int32Array(grammars.length).fill(-1)),
      held,
      late: [],
      live: (i) => (failed.includes(i) ? null : states[i]!),
      fail: (i, e) => {
        assert.ok(rejects.includes(i), `row ${i} failed: ${String(e)}`);
        failed.push(i);
      },
      timings,
    },
    filler,
  );
  const answeredBefore = filler.released;
  // the filler's answers come in later turns: the step is over once they are in
  filler.release();
  await new Promise((r) => setImmediate(r));
  grammars.forEach((g, i) => {
    if (rejects.includes(i)) return;
    assert.equal(grammarRows[i], 1, `row ${i} filled`);
    assert.equal(bitmask[i * WORDS + (g.row >> 5)], 1 << (g.row & 31), `row ${i} holds its own mask`);
  });
  return { fills: filler.fills, timings, result, failed, grammarRows, reclaimed: filler.reclaimed, assistedAfter: filler.assistedAfter, answeredBefore };
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

test('rows cold at their last step that the filler takes ahead are posted before any row is fed, with their pending tokens', async () => {
  const grammars = Array.from({ length: 8 }, (_, i) => new FlagGrammar(i));
  const even = (row: number) => row % 2 === 0;
  // first step: every request is new (no step yet tells whether it is cold): nothing is taken ahead
  grammars.forEach((g, i) => (g.cold = i !== 5));
  const first = await step(grammars, even);
  assert.deepEqual(first.fills, [{ rows: [0, 1, 2, 3, 4, 6, 7], fedBefore: 8 }]);
  assert.equal(first.timings.aheadRows, 0);
  // second step: the filler takes the even rows cold at the last step ahead, posted with their tokens before any feed,
  // as cold rows whatever this thread's cache then says. The odd ones cold at the last step are fed and classified as
  // before, their cold ones posted before any row taken ahead is fed; row 5 (cached) after them. The rows taken ahead
  // are fed last: row 4, cached here once fed, is handed back (reclaim) and written here
  grammars.forEach((g, i) => (g.cold = i !== 4 && i !== 5));
  const second = await step(grammars, even);
  assert.deepEqual(second.fills, [
    { rows: [0, 2, 4, 6], fedBefore: 0, pending: [100, 102, 104, 106] },
    { rows: [1, 3, 7], fedBefore: 3 },
  ]);
  assert.deepEqual(second.reclaimed, [4]);
  assert.deepEqual(second.assistedAfter, [8], 'the assist comes after every row was fed');
  assert.deepEqual(
    [second.timings.aheadRows, second.timings.aheadCachedRows, second.timings.aheadReclaimedRows, second.timings.coldRows, second.result.aheadRows],
    [4, 1, 1, 7, 4],
  );
  assert.equal(second.result.bitmaskInUse, false);
  // third step: row 4 (cached once fed) is no longer likely cold; cold again now, it is fed and posted after the
  // likely ones, before the rows taken ahead are fed
  grammars.forEach((g, i) => (g.cold = i !== 5));
  const third = await step(grammars, even);
  assert.deepEqual(third.fills, [
    { rows: [0, 2, 6], fedBefore: 0, pending: [100, 102, 106] },
    { rows: [1, 3, 7], fedBefore: 3 },
    { rows: [4], fedBefore: 5 },
  ]);
});

test('a row taken ahead whose token its grammar then rejects fails alone; its answer is never adopted', async () => {
  const grammars = Array.from({ length: 4 }, (_, i) => new FlagGrammar(i));
  // a first step makes them cold at their last step
  await step(grammars);
  const adopted: number[] = [];
  for (const g of grammars) g.onAdopt = () => void adopted.push(g.row);
  const { fills, failed, grammarRows, result } = await step(grammars, () => true, [2]);
  assert.deepEqual(fills, [{ rows: [0, 1, 2, 3], fedBefore: 0, pending: [100, 101, 102, 103] }]);
  assert.deepEqual(failed, [2]);
  assert.equal(grammarRows[2], 0, 'its row is not handed to the sampler');
  assert.deepEqual(adopted.sort(), [0, 1, 3], "the failed row's mask is for a state its matcher never reached");
  assert.equal(result.bitmaskInUse, true, 'a worker may still write the failed row: the bitmask is not reused');
});

test('rows the filler marks written end the step without its answers', async () => {
  const grammars = Array.from({ length: 6 }, (_, i) => new FlagGrammar(i));
  grammars.forEach((g, i) => (g.cold = i % 2 === 0));
  const { fills, result, answeredBefore } = await step(grammars, undefined, [], true);
  assert.deepEqual(fills, [{ rows: [0, 2, 4], fedBefore: 6 }]);
  assert.equal(answeredBefore, false, "the step ended before the filler's answers came");
  assert.deepEqual(result.deferred, []);
  assert.equal(result.bitmaskInUse, false);
});
