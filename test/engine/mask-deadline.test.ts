// A cold grammar mask never stalls a step: with a bulk filler (mask workers), rows whose mask is not done when the
// logits are ready (plus the grace) are deferred: their token is discarded and they are sampled at a later step, from
// the same computation. Deterministic: the fake filler holds chosen rows until the test releases them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BulkMaskFiller, GrammarProvider, MaskRow, RequestGrammar } from '../../src/engine/grammar.js';
import type { EngineCore } from '../../src/engine/engine-core.js';
import type { SamplingParams } from '../../src/engine/types.js';
import { FAKE_VOCAB, makeCore } from './fakes.js';
import { submit, type Collected } from './run-core.js';
import { maskGraceFor } from '../../src/engine/mask-deadline.js';

const WORDS = Math.ceil(FAKE_VOCAB / 32);
const EOS = 0;

/** names of the grammars whose masks were written, in order */
const fillLog: string[] = [];

/**
 * a grammar of `len` tokens: at position p it allows the tokens 2..40 that are ≡ p (mod 3), then only EOS. Its
 * masks count as cached for the names in `cachedNames` (filled on the engine thread), cold otherwise
 */
class ModGrammar implements RequestGrammar {
  pos = 0;
  released = false;
  constructor(
    readonly name: string,
    readonly len: number,
    private readonly cached: boolean,
  ) {}
  private allows(t: number): boolean {
    if (this.pos >= this.len) return t === EOS;
    return t >= 2 && t < 40 && t % 3 === this.pos % 3;
  }
  fillNextTokenBitmask(out: Int32Array, off: number): void {
    fillLog.push(this.name);
    out.fill(0, off, off + WORDS);
    for (let t = 0; t < FAKE_VOCAB; t++) if (this.allows(t)) out[off + (t >> 5)] |= 1 << (t & 31);
  }
  /** acceptToken refuses any token at this position (a grammar that rejects the token sampled under its mask) */
  rejectAt = -1;
  acceptToken(t: number): boolean {
    if (!this.allows(t) || this.pos === this.rejectAt) return false;
    if (t !== EOS) this.pos++;
    return true;
  }
  isTerminated(): boolean {
    return this.pos >= this.len;
  }
  nextMaskCached(): boolean {
    return this.cached;
  }
  /** masks handed back from the workers: [position, mask] */
  adopted: Array<[number, Int32Array]> = [];
  /** adoptNextMask throws this (a grammar past a limit while adopting a worker's mask) */
  adoptError: Error | null = null;
  adoptNextMask(mask: Int32Array): void {
    if (this.adoptError) throw this.adoptError;
    this.adopted.push([this.pos, mask.slice()]);
  }
  release(): void {
    this.released = true;
  }
}

/** fills rows at once, except those `hold` picks: they are filled when the test calls release() */
class ControlledFiller implements BulkMaskFiller {
  private held: Array<() => void> = [];
  /** grammar names of each fill call */
  calls: string[][] = [];
  constructor(private readonly hold: (g: ModGrammar) => boolean) {}
  allocate(length: number): Int32Array {
    return new Int32Array(new SharedArrayBuffer(length * 4));
  }
  private failHeldWith: Error | null = null;
  async fill(rows: readonly MaskRow[], out: Int32Array, onRowDone?: (k: number, e: Error | null) => void): Promise<Array<Error | null>> {
    this.calls.push(rows.map((r) => (r.grammar as ModGrammar).name));
    const errors: Array<Error | null> = rows.map(() => null);
    const waits: Array<Promise<void>> = [];
    rows.forEach((r, k) => {
      const g = r.grammar as ModGrammar;
      const done = () => {
        if (this.failHeldWith) errors[k] = this.failHeldWith;
        else g.fillNextTokenBitmask(out, r.offset);
        onRowDone?.(k, errors[k]!);
      };
      if (this.hold(g)) waits.push(new Promise<void>((resolve) => this.held.push(() => (done(), resolve()))));
      else done();
    });
    await Promise.all(waits);
    return errors;
  }
  get numHeld(): number {
    return this.held.length;
  }
  /** finishes the held rows: filled, or failed with `error` (their worker died) */
  release(error: Error | null = null): void {
    this.failHeldWith = error;
    for (const f of this.held.splice(0)) f();
    this.failHeldWith = null;
  }
}

/** holds each (name, position) in the list the first time it is asked for */
function holdOnce(spots: Array<[string, number]>, times = 1): (g: ModGrammar) => boolean {
  const left = new Map(spots.map(([n, p]) => [`${n}@${p}`, times]));
  return (g) => {
    const key = `${g.name}@${g.pos}`;
    const n = left.get(key) ?? 0;
    if (n === 0) return false;
    left.set(key, n - 1);
    return true;
  };
}

/** grammars named by the regex pattern of the constraint: "name" or "name:len"; names starting with "c" are cached */
function provider(filler: BulkMaskFiller | null): GrammarProvider & { made: ModGrammar[] } {
  const made: ModGrammar[] = [];
  return {
    made,
    create: (c) => {
      if (c.kind !== 'regex') throw new Error('test provider: regex constraints only');
      const [name, len] = c.pattern.split(':');
      const g = new ModGrammar(name!, Number(len ?? 5), name!.startsWith('c'));
      made.push(g);
      return g;
    },
    bulkFiller: () => filler,
  };
}

const structured = (name: string, len = 5) => ({ kind: 'regex' as const, pattern: `${name}:${len}` });

/** steps until done, releasing held rows after each step; per step: how many tokens each request had */
async function runSteps(core: EngineCore, filler: ControlledFiller | null, reqs: Record<string, Collected>): Promise<Array<Record<string, number>>> {
  const trace: Array<Record<string, number>> = [];
  for (let i = 0; core.hasWork(); i++) {
    if (i > 500) throw new Error('engine did not finish');
    await core.step();
    filler?.release();
    trace.push(Object.fromEntries(Object.entries(reqs).map(([k, c]) => [k, c.outputs.at(-1)?.outputs[0]?.tokenIds.length ?? 0])));
  }
  return trace;
}

/** the request alone on a fresh engine whose masks are all filled on the engine thread */
async function alone(prompt: number[], params: SamplingParams, over: Parameters<typeof makeCore>[0] = {}) {
  const { core } = makeCore({ grammar: provider(null), ...over });
  const c = submit(core, 'alone', prompt, params);
  await runSteps(core, null, { c });
  assert.equal(c.error, null);
  return c.final();
}

test('a cold row still computing when the logits are ready is deferred; the others advance; its output equals running it alone', async () => {
  const filler = new ControlledFiller(holdOnce([['slow', 2]]));
  const p = provider(filler);
  const { core } = makeCore({ grammar: p });
  // min_tokens, bad words, penalties and logprobs read the output so far: a leaked token would change them
  const slowParams: SamplingParams = { temperature: 0, maxTokens: 10, minTokens: 3, badWords: ['c d', 'fi'], repetitionPenalty: 1.3, frequencyPenalty: 0.4, logprobs: 2, structured: structured('slow', 4) };
  const reqs = {
    slow: submit(core, 'slow', [2, 3, 4], slowParams),
    cachedOne: submit(core, 'cached', [5, 6], { temperature: 0, maxTokens: 10, structured: structured('cached', 6) }),
    free: submit(core, 'free', [7, 8], { temperature: 0, maxTokens: 8, ignoreEos: true }),
  };
  const trace = await runSteps(core, filler, reqs);
  const deferredAt = trace.findIndex((t, i) => i > 0 && t.slow === trace[i - 1]!.slow && t.slow < 5);
  assert.ok(deferredAt > 0, `slow was deferred once: ${JSON.stringify(trace)}`);
  assert.equal(trace[deferredAt]!.slow, 2, 'deferred at its third token');
  assert.ok(trace[deferredAt]!.free > trace[deferredAt - 1]!.free, 'the free row advanced in that step');
  assert.ok(trace[deferredAt]!.cachedOne > trace[deferredAt - 1]!.cachedOne, 'the cached grammar row advanced in that step');
  assert.equal(trace[deferredAt + 1]!.slow, 3, 'the next step waited for its mask');

  const slow = reqs.slow.final().outputs[0];
  const ref = (await alone([2, 3, 4], slowParams)).outputs[0];
  assert.deepEqual(slow.tokenIds, ref.tokenIds);
  assert.deepEqual(slow.logprobs, ref.logprobs, 'no logprobs of the discarded token');
  assert.equal(slow.finishReason, 'stop', 'the grammar ended with EOS');
  assert.equal(slow.tokenIds.at(-1), EOS);
  assert.deepEqual(reqs.cachedOne.final().outputs[0].tokenIds, (await alone([5, 6], { temperature: 0, maxTokens: 10, structured: structured('cached', 6) })).outputs[0].tokenIds);
  // one output per real token (none for the deferred step), and stats count real tokens only
  assert.equal(reqs.slow.outputs.length, slow.tokenIds.length);
  const total = Object.values(reqs).reduce((a, c) => a + c.final().outputs[0].tokenIds.length, 0);
  assert.equal(core.stats().generationTokensTotal, total);
  const m = core.maskStats();
  assert.equal(m.stepsDeferred, 1);
  assert.equal(m.rowsDeferred, 1);
  assert.ok(m.rowsCachedOnEngine >= 6, 'the cached grammar was filled on the engine thread');
  // only cold rows reach the filler: the cached grammar never does
  assert.ok(filler.calls.every((names) => names.every((n) => n === 'slow')), JSON.stringify(filler.calls));
  assert.equal(core.scheduler.kv.pool.numFreeBlocks, 256);
  assert.ok(p.made.every((g) => g.released));
  // each mask computed on a worker was handed back to the engine thread's grammar, for its position
  const slowGrammar = p.made.find((g) => g.name === 'slow')!;
  assert.equal(slowGrammar.adopted.length, filler.calls.flat().length);
  for (const [pos, mask] of slowGrammar.adopted) {
    const ref = new ModGrammar('ref', 4, false);
    ref.pos = pos;
    const want = new Int32Array(WORDS);
    ref.fillNextTokenBitmask(want, 0);
    assert.deepEqual(mask, want, `adopted mask at position ${pos}`);
  }
});

/**
 * takes every row ahead (posted before the engine thread feeds its token, MaskRow.pendingToken), computing each mask on
 * a mirror of the grammar that is fed that token first, as the pool's workers do; unheld rows answer within the fill
 * call (before the engine thread has fed them), held ones when released
 */
class AheadFiller extends ControlledFiller {
  /** per fill: its rows' pending tokens */
  pendings: number[][] = [];
  takesAhead(): boolean {
    return true;
  }
  override async fill(rows: readonly MaskRow[], out: Int32Array, onRowDone?: (k: number, e: Error | null) => void): Promise<Array<Error | null>> {
    this.pendings.push(rows.map((r) => r.pendingToken ?? -1));
    const mirrored = rows.map((r) => {
      const g = r.grammar as ModGrammar;
      const mirror = new ModGrammar(g.name, g.len, false);
      mirror.pos = g.pos;
      if ((r.pendingToken ?? -1) >= 0) assert.ok(mirror.acceptToken(r.pendingToken!), 'the mirror takes the pending token');
      return { grammar: mirror as RequestGrammar, offset: r.offset };
    });
    return super.fill(mirrored, out, onRowDone);
  }
}

test('rows taken ahead: a cold row deferred; its output equals running it alone; no mask adopted for a state it was not computed for', async () => {
  const filler = new AheadFiller(holdOnce([['slow', 2]]));
  const p = provider(filler);
  const { core } = makeCore({ grammar: p });
  const slowParams: SamplingParams = { temperature: 0, maxTokens: 10, minTokens: 3, logprobs: 2, structured: structured('slow', 4) };
  const reqs = {
    slow: submit(core, 'slow', [2, 3, 4], slowParams),
    free: submit(core, 'free', [7, 8], { temperature: 0, maxTokens: 8, ignoreEos: true }),
  };
  const trace = await runSteps(core, filler, reqs);
  assert.ok(filler.pendings.some((tokens) => tokens.some((t) => t >= 0)), `rows were posted with their tokens: ${JSON.stringify(filler.pendings)}`);
  assert.ok(core.maskStats().rowsPostedAhead > 0);
  assert.equal(core.maskStats().stepsDeferred, 1, JSON.stringify(trace));
  const slow = reqs.slow.final().outputs[0];
  const ref = (await alone([2, 3, 4], slowParams)).outputs[0];
  assert.deepEqual(slow.tokenIds, ref.tokenIds);
  assert.deepEqual(slow.logprobs, ref.logprobs);
  assert.equal(slow.finishReason, 'stop');
  // a mask answered within the fill call came before the engine thread's feed: never adopted; the held one was
  const slowGrammar = p.made.find((g) => g.name === 'slow')!;
  assert.ok(slowGrammar.adopted.length >= 1, 'the held row was adopted once released');
  for (const [pos, mask] of slowGrammar.adopted) {
    const want = new Int32Array(WORDS);
    Object.assign(new ModGrammar('ref', 4, false), { pos }).fillNextTokenBitmask(want, 0);
    assert.deepEqual(mask, want, `adopted mask at position ${pos}`);
  }
  assert.equal(core.scheduler.kv.pool.numFreeBlocks, 256);
});

test('a deferred row waits for the same computation at its next steps, never posted again, with a growing grace', async () => {
  const filler = new ControlledFiller(holdOnce([['slow', 1]]));
  const params: SamplingParams = { temperature: 0, maxTokens: 6, structured: structured('slow', 3) };
  const { core } = makeCore({ grammar: provider(filler), structuredOutputMaskGraceMs: 0 });
  const slow = submit(core, 'slow', [2, 3], params);
  const other = submit(core, 'other', [4, 5], { temperature: 0, maxTokens: 8, ignoreEos: true });
  const tokens = (c: Collected) => c.outputs.at(-1)!.outputs[0].tokenIds.length;
  const postsOfSlow = () => filler.calls.filter((names) => names.includes('slow')).length;
  await core.step(); // prefill: position 0, not held
  await core.step(); // position 1 held: deferred
  await core.step(); // still being computed: deferred again (after a 2 ms grace)
  assert.deepEqual([tokens(slow), tokens(other)], [1, 3]);
  assert.equal(core.maskStats().rowsDeferred, 2);
  assert.equal(postsOfSlow(), 2, 'the deferred row was not posted again');
  filler.release(); // the worker finishes the mask
  await core.step(); // the row takes the late mask
  assert.deepEqual([tokens(slow), tokens(other)], [2, 4]);
  assert.equal(postsOfSlow(), 2);
  assert.equal(core.maskStats().rowsDeferred, 2);
  await runSteps(core, filler, { slow, other });
  assert.deepEqual(slow.final().outputs[0].tokenIds, (await alone([2, 3], params)).outputs[0].tokenIds);
  assert.equal(slow.final().outputs[0].finishReason, 'stop');
});

test('maskGraceFor: the grace doubles with each deferral in a row, from at least 1 ms', () => {
  assert.deepEqual([0, 1, 2, 3].map((d) => maskGraceFor(1, d)), [1, 2, 4, 8]);
  assert.deepEqual([0, 1, 2].map((d) => maskGraceFor(0, d)), [0, 2, 4]);
  assert.equal(maskGraceFor(5, 2), 20);
});

test('grace 0 defers a row not done when the logits are; a long grace waits for it', async () => {
  /** completes every row on the next turn of the event loop (after the ts backend's logits) */
  const nextTurn: BulkMaskFiller = {
    allocate: (n) => new Int32Array(new SharedArrayBuffer(n * 4)),
    fill: async (rows, out, onRowDone) => {
      await new Promise((r) => setImmediate(r));
      rows.forEach((r, k) => {
        r.grammar.fillNextTokenBitmask(out, r.offset);
        onRowDone?.(k, null);
      });
      return rows.map(() => null);
    },
  };
  const run = async (grace: number) => {
    const { core } = makeCore({ grammar: provider(nextTurn), structuredOutputMaskGraceMs: grace });
    const r = submit(core, 'r', [2, 3], { temperature: 0, maxTokens: 6, structured: structured('r', 3) });
    await runSteps(core, null, { r });
    return { tokens: r.final().outputs[0].tokenIds, stats: core.maskStats() };
  };
  const zero = await run(0);
  const long = await run(600_000);
  assert.deepEqual(zero.tokens, long.tokens);
  assert.equal(long.stats.rowsDeferred, 0);
  // every position is deferred once, then waited for
  assert.equal(zero.stats.rowsDeferred, zero.tokens.length);
  assert.throws(() => makeCore({ structuredOutputMaskGraceMs: -1 }), /structuredOutputMaskGraceMs must be a finite number of milliseconds >= 0, got -1/);
});

test('without a mask worker pool nothing is deferred: the engine thread computes every mask, however slow', async () => {
  const p = provider(null);
  const slowCreate = p.create;
  p.create = (c) => {
    const g = slowCreate(c) as ModGrammar;
    const fill = g.fillNextTokenBitmask.bind(g);
    g.fillNextTokenBitmask = (out, off) => {
      const until = performance.now() + 3; // a cold mask: longer than the grace
      while (performance.now() < until);
      fill(out, off);
    };
    return g;
  };
  const { core } = makeCore({ grammar: p, structuredOutputMaskGraceMs: 0 });
  const r = submit(core, 'r', [2, 3], { temperature: 0, maxTokens: 6, structured: structured('r', 3) });
  const trace = await runSteps(core, null, { r });
  assert.deepEqual(trace.map((t) => t.r), [1, 2, 3, 4], 'a token every step');
  const m = core.maskStats();
  assert.equal(m.rowsDeferred, 0);
  assert.equal(m.rowsOnWorkers, 0);
});

test('deferral with prefix caching: the block completed by a deferred step is registered once and reused correctly', async () => {
  // prompt of 7 tokens (block size 4): the step that computes position 7 fills block 1; it is deferred there
  const prompt = [2, 3, 4, 5, 6, 7, 8];
  const params: SamplingParams = { temperature: 0, maxTokens: 5, structured: structured('slow', 4) };
  const filler = new ControlledFiller(holdOnce([['slow', 1]]));
  const { core, model } = makeCore({ grammar: provider(filler) });
  const slow = submit(core, 'slow', prompt, params);
  const trace = await runSteps(core, filler, { slow });
  assert.deepEqual(trace.map((t) => t.slow), [1, 1, 2, 3, 4, 5]);
  const out = slow.final().outputs[0].tokenIds;
  assert.deepEqual(out, (await alone(prompt, params)).outputs[0].tokenIds);
  // a request whose prompt runs through the deferred step's block hits both full blocks
  const hitsBefore = core.stats().prefixCacheHits;
  const computedBefore = model.computedTokens;
  const nextPrompt = [...prompt, out[0]!, 9, 10];
  const after = submit(core, 'after', nextPrompt, { temperature: 0, maxTokens: 4, ignoreEos: true });
  await runSteps(core, filler, { after });
  assert.equal(core.stats().prefixCacheHits - hitsBefore, 8);
  assert.equal(model.computedTokens - computedBefore, 2 + 3, 'only the uncached prompt tail and the decodes were computed');
  assert.deepEqual(after.final().outputs[0].tokenIds, (await alone(nextPrompt, { temperature: 0, maxTokens: 4, ignoreEos: true })).outputs[0].tokenIds);
  assert.equal(core.scheduler.kv.pool.numFreeBlocks, 256);
});

test('an abort of a deferred request ends it cleanly; its late mask is ignored', async () => {
  const filler = new ControlledFiller(holdOnce([['slow', 1]]));
  const p = provider(filler);
  const { core } = makeCore({ grammar: p });
  const slow = submit(core, 'slow', [2, 3], { temperature: 0, maxTokens: 6, structured: structured('slow', 4) });
  const other = submit(core, 'other', [4, 5], { temperature: 0, maxTokens: 4, structured: structured('other', 6) });
  await core.step();
  await core.step(); // slow deferred
  assert.equal(filler.numHeld, 1);
  assert.equal(slow.outputs.at(-1)!.outputs[0].tokenIds.length, 1);
  assert.equal(core.abort('slow'), true);
  filler.release(); // the late mask arrives after the abort
  await runSteps(core, filler, { other });
  const f = slow.final();
  assert.equal(f.outputs[0].finishReason, 'abort');
  assert.equal(f.outputs[0].tokenIds.length, 1, 'the discarded token never appears');
  assert.equal(slow.error, null);
  assert.ok(p.made.find((g) => g.name === 'slow')!.released);
  assert.equal(other.final().outputs[0].tokenIds.length, 4);
  assert.equal(core.scheduler.kv.pool.numFreeBlocks, 256);
});

test('a deferred request that is then preempted recomputes and ends with the same output', async () => {
  // 10 blocks of 4 tokens: 'old' and 'slow' outgrow them, and slow (the newest) is preempted
  const filler = new ControlledFiller(holdOnce(Array.from({ length: 14 }, (_, i) => ['slow', i + 2] as [string, number])));
  const { core } = makeCore({ grammar: provider(filler), numBlocks: 10, maxModelLen: 40 });
  const oldParams: SamplingParams = { temperature: 0, maxTokens: 20, ignoreEos: true };
  const slowParams: SamplingParams = { temperature: 0, maxTokens: 17, structured: structured('slow', 16) };
  const old = submit(core, 'old', [2, 3, 4, 5, 6, 7], oldParams);
  const slow = submit(core, 'slow', [8, 9, 10, 11, 12, 13], slowParams);
  const events: string[] = [];
  let deferredBefore = 0;
  let preemptionsBefore = 0;
  while (core.hasWork()) {
    await core.step();
    const m = core.maskStats();
    if (m.rowsDeferred > deferredBefore) events.push('deferred');
    if (core.stats().numPreemptions > preemptionsBefore) events.push('preempted');
    deferredBefore = m.rowsDeferred;
    preemptionsBefore = core.stats().numPreemptions;
    filler.release();
    events.push('|');
  }
  const steps = events.join(' ').split('|').map((s) => s.trim());
  assert.ok(steps.some((s, i) => s === 'deferred' && steps[i + 1]?.includes('preempted')), `a deferred step followed by a preemption: ${steps.join(' / ')}`);
  assert.deepEqual(slow.final().outputs[0].tokenIds, (await alone([8, 9, 10, 11, 12, 13], slowParams)).outputs[0].tokenIds);
  assert.deepEqual(old.final().outputs[0].tokenIds, (await alone([2, 3, 4, 5, 6, 7], oldParams)).outputs[0].tokenIds);
  assert.equal(core.scheduler.kv.pool.numFreeBlocks, 10);
});

test('n > 1: one sibling deferred, the other advances; both equal the request run alone', async () => {
  // the siblings share one constraint: the first has the provider's grammar, the second a deferred-start one
  const held = new Set<ModGrammar>();
  const filler = new ControlledFiller((g) => {
    if (g.pos !== 1 || held.size > 0) return false;
    held.add(g);
    return true;
  });
  const { core } = makeCore({ grammar: provider(filler) });
  const params: SamplingParams = { n: 2, temperature: 0.9, seed: 11, maxTokens: 6, structured: structured('sib', 4) };
  const r = submit(core, 'r', [2, 3, 4], params);
  await runSteps(core, filler, { r });
  assert.equal(core.maskStats().rowsDeferred, 1);
  const got = r.final().outputs.map((o) => o.tokenIds);
  const ref = (await alone([2, 3, 4], params)).outputs.map((o) => o.tokenIds);
  assert.deepEqual(got, ref);
});

test('a deferred row whose worker fails later ends its request with that error; the others go on', async () => {
  const filler = new ControlledFiller(holdOnce([['slow', 1]]));
  const { core } = makeCore({ grammar: provider(filler) });
  const slow = submit(core, 'slow', [2, 3], { temperature: 0, maxTokens: 6, structured: structured('slow', 4) });
  const other = submit(core, 'other', [4, 5], { temperature: 0, maxTokens: 4, ignoreEos: true });
  await core.step();
  await core.step(); // slow deferred
  filler.release(new Error('structured output: mask worker 0 exited unexpectedly'));
  assert.match(slow.error!.message, /mask worker 0 exited unexpectedly/);
  await runSteps(core, filler, { other });
  assert.equal(other.final().outputs[0].tokenIds.length, 4);
  assert.equal(slow.outputs.at(-1)!.outputs[0].tokenIds.length, 1, 'nothing of the deferred step was emitted');
  assert.equal(core.scheduler.kv.pool.numFreeBlocks, 256);
});

/**
 * requests "bad" and "good" through a filler that holds nothing, `spoil` breaking bad's grammar: bad ends with the
 * error `expected`, good runs as alone and every KV block is freed; returns the filler's calls
 */
async function spoiledBesideGood(spoil: (bad: ModGrammar) => void, expected: RegExp): Promise<string[][]> {
  const filler = new ControlledFiller(() => false);
  const p = provider(filler);
  const { core } = makeCore({ grammar: p });
  const goodParams: SamplingParams = { temperature: 0, maxTokens: 6, structured: structured('good', 4) };
  const bad = submit(core, 'bad', [2, 3], { temperature: 0, maxTokens: 6, structured: structured('bad', 4) });
  const good = submit(core, 'good', [4, 5], goodParams);
  spoil(p.made.find((g) => g.name === 'bad')!);
  await runSteps(core, filler, { good });
  assert.match(bad.error!.message, expected);
  assert.equal(good.error, null);
  assert.deepEqual(good.final().outputs[0].tokenIds, (await alone([4, 5], goodParams)).outputs[0].tokenIds);
  assert.equal(core.scheduler.kv.pool.numFreeBlocks, 256);
  return filler.calls;
}

test("a grammar that throws while adopting its worker's mask ends its request only; the step's other cold rows go on", async () => {
  await spoiledBesideGood((bad) => (bad.adoptError = new Error('structured output: lexer limit reached')), /lexer limit reached/);
});

test('a grammar that rejects its sampled token when the next step feeds it ends its request only; its row is not posted', async () => {
  const calls = await spoiledBesideGood((bad) => (bad.rejectAt = 1), /the grammar rejected token/);
  // its second token is fed (and rejected) at the start of its third mask step: posted for its first two masks only
  assert.equal(calls.filter((names) => names.includes('bad')).length, 2, JSON.stringify(calls));
  assert.ok(calls.length > 2, 'the good request went on through the filler');
});

test('the engine thread assists after writing its cached rows: a held cold row it takes is not deferred', async () => {
  /** a filler whose assist() computes the held rows itself, as the pool's engine-thread takeover does */
  class AssistingFiller extends ControlledFiller {
    fillLogAtFill = 0;
    /** per assist call: whether the step's cached row had been written by then */
    cachedBeforeAssist: boolean[] = [];
    override async fill(rows: readonly MaskRow[], out: Int32Array, onRowDone?: (k: number, e: Error | null) => void): Promise<Array<Error | null>> {
      this.fillLogAtFill = fillLog.length;
      return super.fill(rows, out, onRowDone);
    }
    assist(): void {
      this.cachedBeforeAssist.push(fillLog.slice(this.fillLogAtFill).includes('cached'));
      this.release();
    }
  }
  const filler = new AssistingFiller(holdOnce([['slow', 2]]));
  const { core } = makeCore({ grammar: provider(filler) });
  const slowParams: SamplingParams = { temperature: 0, maxTokens: 10, structured: structured('slow', 4) };
  const reqs = {
    slow: submit(core, 'slow', [2, 3, 4], slowParams),
    cachedOne: submit(core, 'cached', [5, 6], { temperature: 0, maxTokens: 10, structured: structured('cached', 6) }),
  };
  const trace = await runSteps(core, filler, reqs);
  assert.equal(core.maskStats().stepsDeferred, 0, `nothing deferred: ${JSON.stringify(trace)}`);
  assert.ok(filler.cachedBeforeAssist.length >= 4, `assist called on the steps with cold rows (${filler.cachedBeforeAssist.length})`);
  // while both ran, each assist came after the step's cached row was written
  assert.ok(filler.cachedBeforeAssist.slice(0, 4).every(Boolean), JSON.stringify(filler.cachedBeforeAssist));
  assert.deepEqual(reqs.slow.final().outputs[0].tokenIds, (await alone([2, 3, 4], slowParams)).outputs[0].tokenIds);
});
