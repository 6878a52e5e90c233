// One step's grammar masks with the mask workers (engine-core.ts decides which rows are cached, cold or late).
// Cached rows are filled on the engine thread (a cache copy: microseconds) while the cold ones are computed on the
// workers, posted first. When the backend's logits are ready, each row still being computed gets its grace
// (maskGraceFor) and is then deferred: it samples unconstrained, the engine discards its token and the scheduler
// schedules it again at the same position; its grammar is untouched (no token accepted). Its worker finishes into
// this step's bitmask, which no later step gets (StepMaskBuffer.discard); since the grammar has not moved, that
// mask is the one the row needs next: it is never posted again, later steps wait for the same computation (a
// LateMask) and copy its row once it is done.
import { writeMaskRow, type BulkMaskFiller, type HeldRows, type MaskRow, type RequestGrammar } from './grammar.js';
import { maskGraceFor, type LogitsSignal } from './mask-deadline.js';
import type { SequenceState } from './request-state.js';
import type { SharedMaskRows } from './shared-mask-rows.js';

/** a deferred row's mask, computed by a worker into a bitmask no step hands out any more */
export class LateMask {
  done = false;
  failed = false;
  readonly settled: Promise<void>;
  private resolve!: () => void;
  /** told synchronously when the mask is done: whoever waits sees done and its effect in the same turn */
  private readonly listeners: Array<() => void> = [];

  constructor(
    private readonly buffer: Int32Array,
    private readonly offset: number,
    private readonly words: number,
  ) {
    this.settled = new Promise<void>((r) => (this.resolve = r));
  }

  finish(failed: boolean): void {
    if (this.done) return;
    this.done = true;
    this.failed = failed;
    for (const l of this.listeners.splice(0)) l();
    this.resolve();
  }

  whenDone(listener: () => void): void {
    if (this.done) listener();
    else this.listeners.push(listener);
  }

  copyTo(out: Int32Array, offset: number): void {
    out.set(this.buffer.subarray(this.offset, this.offset + this.words), offset);
  }
}

export interface WorkerMaskStep {
  bitmask: Int32Array;
  grammarRows: Uint8Array;
  words: number;
  logits: LogitsSignal;
  graceMs: number;
  /** rows filled from the engine thread's cache (their pending tokens fed), with their masks' identities */
  cached: Array<{ i: number; grammar: RequestGrammar; identity: object | null }>;
  /** cached rows with equal identities: one written, the others pointed at it */
  shared: SharedMaskRows;
  /** what the bitmask's rows hold from earlier steps (the bitmask is reused): a cached row holding its mask is not rewritten */
  held: HeldRows;
  /** rows to post to the workers (their pending tokens fed) */
  cold: Array<{ i: number; grammar: RequestGrammar }>;
  /** rows deferred at an earlier step whose mask was being computed then (state.lateMask set) */
  late: number[];
  /** the row's sequence state while its request is live (null once it ended) */
  live(i: number): SequenceState | null;
  /** ends row i's request (its grammar or its worker failed) */
  fail(i: number, e: unknown): void;
}

/**
 * fills the step's rows; resolves once each is filled, failed or deferred, with the deferred ones and whether a
 * worker may still write into this step's bitmask (a cold row of this step deferred, or a row failed)
 */
export async function fillWithWorkers(s: WorkerMaskStep, filler: BulkMaskFiller): Promise<{ deferred: number[]; bitmaskInUse: boolean }> {
  const { bitmask, grammarRows, words } = s;
  let failures = 0;
  let decided = false;
  /** per row in the step: settles when the row is filled or failed */
  const waits: Array<{ i: number; late: LateMask }> = [];

  // rows written by a worker or copied from a late mask: their words are no mask identity's
  for (const { i } of s.cold) s.held.hold(i, null);
  for (const i of s.late) s.held.hold(i, null);
  const coldMasks = s.cold.map(({ i }) => new LateMask(bitmask, i * words, words));
  const onRow = (k: number, err: Error | null) => {
    const late = coldMasks[k]!;
    if (late.done) return;
    const i = s.cold[k]!.i;
    let failure = err;
    if (!failure) {
      // the grammar has not moved since the row was posted (a deferred one neither): the mask is its current one.
      // Adopting it (taken now, cached later: mask-adoption.ts) may throw: that fails this row's request only.
      try {
        s.cold[k]!.grammar.adoptNextMask?.(bitmask.subarray(i * words, (i + 1) * words));
      } catch (e) {
        failure = e instanceof Error ? e : new Error(String(e));
      }
    }
    late.finish(failure !== null);
    if (failure) {
      failures++;
      // the request may have ended (abort) while the workers ran; a deferred row's error still ends its request
      if (s.live(i)) s.fail(i, failure);
    } else if (!decided) {
      grammarRows[i] = 1;
    }
  };
  if (s.cold.length > 0) {
    const rows: MaskRow[] = s.cold.map(({ i, grammar }) => ({ grammar, offset: i * words }));
    void filler.fill(rows, bitmask, onRow).then(
      (errors) => errors.forEach((e, k) => onRow(k, e)),
      // a filler broke its promise never to reject: every request still waiting on a mask fails, the engine goes on
      (e: unknown) => s.cold.forEach((_, k) => onRow(k, e instanceof Error ? e : new Error(String(e)))),
    );
    s.cold.forEach(({ i }, k) => waits.push({ i, late: coldMasks[k]! }));
  }
  for (const i of s.late) {
    // a sibling's failure may have ended the request meanwhile (n > 1)
    const late = s.live(i)?.lateMask;
    if (!late) continue;
    const take = () => {
      const state = s.live(i);
      if (decided || !state || late.failed) return;
      late.copyTo(bitmask, i * words);
      grammarRows[i] = 1;
    };
    late.whenDone(take);
    waits.push({ i, late });
  }
  for (const { i, grammar, identity } of s.cached) {
    try {
      if (!s.shared.share(i, identity)) {
        writeMaskRow(grammar, identity, bitmask, i * words, i, s.held);
        s.shared.wrote(i, identity);
      }
      grammarRows[i] = 1;
    } catch (e) {
      failures++;
      s.fail(i, e);
    }
  }
  // the cached rows are written: this thread takes cold rows no worker has started yet
  if (s.cold.length > 0) filler.assist?.();
  if (waits.length > 0) {
    // one timer per distinct grace
    const deadlines = new Map<number, ReturnType<LogitsSignal['deadline']>>();
    const deadlineFor = (ms: number) => {
      let d = deadlines.get(ms);
      if (!d) deadlines.set(ms, (d = s.logits.deadline(ms)));
      return d.passed;
    };
    await Promise.all(waits.map(({ i, late }) => (late.done ? null : Promise.race([late.settled, deadlineFor(maskGraceFor(s.graceMs, s.live(i)?.maskDeferrals ?? 0))]))));
    for (const d of deadlines.values()) d.cancel();
  }
  decided = true;
  const deferred: number[] = [];
  // a late row of an earlier step is written into that step's bitmask, not this one
  const bitmaskInUse = failures > 0 || coldMasks.some((m) => !m.done);
  // a late row deferred again: nothing writes its row of this bitmask (free rows are zero; the engine zeroes the
  // other free rows, but must not touch a deferred cold row: its LateMask reads it later)
  for (const i of s.late) if (grammarRows[i] !== 1) bitmask.fill(0, i * words, (i + 1) * words);
  for (const { i, late } of waits) {
    const state = s.live(i);
    if (!state) continue;
    if (late.done) {
      state.lateMask = null;
      state.maskDeferrals = 0;
      continue;
    }
    state.lateMask = late;
    state.maskDeferrals++;
    deferred.push(i);
  }
  for (const { i } of s.cached) {
    const state = s.live(i);
    if (state) state.maskDeferrals = 0;
  }
  return { deferred, bitmaskInUse };
}
