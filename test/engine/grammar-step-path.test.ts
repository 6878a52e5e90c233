// What a guided step keeps off the path between two steps: a grammar is told its sampled token only when its next
// mask is computed (while the next forward runs), and the step's bitmask is reused from step to step with every row
// that holds no mask of this step zero.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend, StepBatch, StepResult } from '../../src/runner/batch.js';
import { createTsBackend } from '../../src/runner/ts-backend.js';
import type { GrammarProvider, RequestGrammar } from '../../src/engine/grammar.js';
import { StepMaskBuffer } from '../../src/engine/step-mask-buffer.js';
import { FakeKvModel, FAKE_VOCAB, makeCore } from './fakes.js';
import { drain, submit } from './run-core.js';

const WORDS = Math.ceil(FAKE_VOCAB / 32);

/** allows the tokens of `allowed` in turn (then repeats the last); logs its calls */
function scriptedGrammar(name: string, allowed: number[], log: string[], rejectAt = -1): RequestGrammar {
  let at = 0;
  return {
    fillNextTokenBitmask(out, off) {
      log.push(`fill ${name}`);
      const t = allowed[Math.min(at, allowed.length - 1)]!;
      out.fill(0, off, off + WORDS);
      out[off + (t >> 5)] = 1 << (t & 31);
    },
    acceptToken(t) {
      log.push(`accept ${name} ${t}`);
      const ok = t === allowed[Math.min(at, allowed.length - 1)] && at !== rejectAt;
      at++;
      return ok;
    },
    isTerminated: () => false,
  };
}

/** the ts backend over the fake model; logs each execute and keeps what the sampler saw of the bitmask */
function watchingBackend(log: string[], seen: Array<{ buffer: ArrayBufferLike | null; rows: number[]; masks: Int32Array | null }>): Backend {
  const inner = createTsBackend(new FakeKvModel(FAKE_VOCAB, 256, 4), { numBlocks: 256, blockSize: 4, seed: 0 });
  return {
    info: inner.info,
    async execute(batch: StepBatch): Promise<StepResult> {
      log.push('execute');
      const result = await inner.execute(batch); // awaits masksReady
      seen.push({
        buffer: batch.grammarBitmask?.buffer ?? null,
        rows: batch.grammarRows ? Array.from(batch.grammarRows) : [],
        masks: batch.grammarBitmask ? batch.grammarBitmask.slice() : null,
      });
      return result;
    },
    close: () => inner.close(),
  };
}

test('a grammar is told its token while the next step runs, right before its next mask; the outputs are unchanged', async () => {
  const log: string[] = [];
  const provider: GrammarProvider = { create: () => scriptedGrammar('g', [5, 6, 7], log) };
  const { core } = makeCore({ backend: watchingBackend(log, []), grammar: provider });
  const r = submit(core, 'r', [2, 3], { temperature: 0, maxTokens: 3, ignoreEos: true, structured: { kind: 'regex', pattern: 'x' } });
  await drain(core);
  assert.deepEqual(r.final().outputs[0].tokenIds, [5, 6, 7]);
  // token 5 is fed after the second step's execute started; the last token (the request ended) is never fed
  assert.deepEqual(log, ['execute', 'fill g', 'execute', 'accept g 5', 'fill g', 'execute', 'accept g 6', 'fill g']);
});

test('a grammar that rejects its token fails its request at its next mask; its neighbours go on', async () => {
  const log: string[] = [];
  let made = 0;
  const provider: GrammarProvider = { create: () => scriptedGrammar(`g${made}`, [5, 6, 7, 8], log, made++ === 0 ? 1 : -1) };
  const { core } = makeCore({ backend: watchingBackend(log, []), grammar: provider });
  const params = { temperature: 0, maxTokens: 4, ignoreEos: true, structured: { kind: 'regex' as const, pattern: 'x' } };
  const bad = submit(core, 'bad', [2, 3], params);
  const good = submit(core, 'good', [2, 3], params);
  await drain(core);
  assert.match(bad.error!.message, /structured output: the grammar rejected token 6/);
  // its tokens up to the rejected one had been emitted
  assert.deepEqual(bad.outputs.at(-1)!.outputs[0].tokenIds, [5, 6]);
  assert.deepEqual(good.final().outputs[0].tokenIds, [5, 6, 7, 8]);
  assert.equal(core.scheduler.kv.pool.numFreeBlocks, 256);
});

test('an EOS ends the grammar without feeding it; the sequence goes on unconstrained under ignore_eos', async () => {
  const log: string[] = [];
  const provider: GrammarProvider = { create: () => scriptedGrammar('g', [5, 0], log) };
  const { core } = makeCore({ backend: watchingBackend(log, []), grammar: provider });
  const r = submit(core, 'r', [2, 3], { temperature: 0, maxTokens: 4, ignoreEos: true, structured: { kind: 'regex', pattern: 'x' } });
  await drain(core);
  const ids = r.final().outputs[0].tokenIds;
  assert.deepEqual(ids.slice(0, 2), [5, 0]);
  assert.equal(ids.length, 4);
  assert.deepEqual(log.filter((l) => l.startsWith('accept')), ['accept g 5'], 'the EOS is not fed: the grammar is done');
});

test('the bitmask is one buffer for every step; rows without a mask this step are zero', async () => {
  const log: string[] = [];
  const seen: Array<{ buffer: ArrayBufferLike | null; rows: number[]; masks: Int32Array | null }> = [];
  const scripts = [
    [10, 0], // g0 emits EOS at its second token and goes on unconstrained: its row, written before, must be zero then
    [11, 12, 13, 14],
  ];
  let made = 0;
  const provider: GrammarProvider = { create: () => scriptedGrammar(`g${made}`, scripts[made++]!, log) };
  const { core } = makeCore({ backend: watchingBackend(log, seen), grammar: provider });
  const a = submit(core, 'a', [2, 3], { temperature: 0, maxTokens: 4, ignoreEos: true, structured: { kind: 'regex', pattern: 'x' } });
  const b = submit(core, 'b', [2, 4], { temperature: 0, maxTokens: 4, ignoreEos: true, structured: { kind: 'regex', pattern: 'x' } });
  const free = submit(core, 'free', [2, 5], { temperature: 0, maxTokens: 4, ignoreEos: true });
  await drain(core);
  assert.deepEqual(a.final().outputs[0].tokenIds.slice(0, 2), [10, 0]);
  assert.deepEqual(b.final().outputs[0].tokenIds, [11, 12, 13, 14]);
  assert.equal(free.final().outputs[0].tokenIds.length, 4);
  assert.deepEqual(seen.map((s) => s.rows.join('')), ['110', '110', '010', '010'], 'row 0 is written twice, then free');
  const withMasks = seen.filter((s) => s.buffer !== null);
  assert.ok(withMasks.length >= 2);
  assert.ok(withMasks.every((s) => s.buffer === withMasks[0]!.buffer), 'the same buffer every step');
  for (const s of withMasks) {
    s.rows.forEach((on, i) => {
      if (on) return;
      const row = s.masks!.subarray(i * WORDS, (i + 1) * WORDS);
      assert.ok(row.every((w) => w === 0), `row ${i} holds no mask this step and must be zero`);
    });
  }
});

test('StepMaskBuffer: zeroes exactly the rows an earlier step wrote that this step does not rewrite', () => {
  const buf = new StepMaskBuffer(4, 2);
  const first = buf.take(3, [0, 2], null);
  first.fill(-1, 0, 2);
  first.fill(-1, 4, 6);
  const second = buf.take(3, [2], null);
  assert.equal(second.buffer, first.buffer, 'reused');
  assert.deepEqual(Array.from(second), [0, 0, 0, 0, -1, -1], 'row 0 zeroed, row 2 left to its writer');
  const third = buf.take(4, [], null);
  assert.deepEqual(Array.from(third), [0, 0, 0, 0, 0, 0, 0, 0], 'row 2 (written in step 2) zeroed');
  buf.discard();
  assert.notEqual(buf.take(1, [], null).buffer, first.buffer, 'a discarded buffer is never handed out again');
  const filler = { allocate: (n: number) => new Int32Array(new SharedArrayBuffer(n * 4)), fill: async () => [] };
  const shared = buf.take(2, [0], filler);
  assert.ok(shared.buffer instanceof SharedArrayBuffer, 'a bulk filler gets a buffer of its own allocation');
  assert.equal(shared.length, 4);
  assert.equal(buf.take(3, [], null).buffer, shared.buffer, 'an engine-thread step uses the filler\'s buffer too');
  assert.equal(buf.take(2, [1], filler).buffer, shared.buffer, 'and the filler keeps it');
});

test('StepMaskBuffer: the filler that allocated the bitmask reads the last step\'s rows before any step writes it again', () => {
  const buf = new StepMaskBuffer(2, 2);
  const seen: number[][] = [];
  let current: Int32Array | null = null;
  const filler = {
    allocate: (n: number) => new Int32Array(new SharedArrayBuffer(n * 4)),
    fill: async () => [],
    beforeReuse: () => void seen.push(Array.from(current!)),
  };
  current = buf.take(2, [0, 1], filler);
  assert.deepEqual(seen, [], 'a new buffer: nothing to read');
  current.set([1, 2, 3, 4]);
  // row 0 not rewritten (zeroed by take), row 1 rewritten: the filler read both first
  buf.take(2, [1], filler);
  buf.take(1, [], null);
  assert.deepEqual(seen, [
    [1, 2, 3, 4],
    [0, 0, 3, 4],
  ], 'each take lets the filler read the rows as the last step left them');
});

test('only the first request of a constraint starts its grammar at admission; the others start at their first mask', async () => {
  const log: string[] = [];
  let made = 0;
  const provider: GrammarProvider = {
    create: (c) => {
      if (c.kind === 'regex' && c.pattern === '(') throw new Error('structured output: bad regex');
      const name = `g${made++}`;
      log.push(`create ${name}`);
      if (c.kind === 'regex' && c.pattern === 'boom' && made > 2) throw new Error('provider failed later');
      return scriptedGrammar(name, [5, 6], log);
    },
  };
  const { core } = makeCore({ backend: watchingBackend(log, []), grammar: provider });
  const params = (pattern: string) => ({ temperature: 0, maxTokens: 2, ignoreEos: true, structured: { kind: 'regex' as const, pattern } });
  assert.throws(() => submit(core, 'bad', [2, 3], params('(')), /bad regex/, 'a constraint that does not compile is refused at admission');
  assert.throws(() => submit(core, 'bad2', [2, 3], params('(')), /bad regex/, 'and again: it never became known');
  const a = submit(core, 'a', [2, 3], params('x'));
  const b = submit(core, 'b', [2, 4], params('x'));
  const c = submit(core, 'c', [2, 5], params('boom'));
  const d = submit(core, 'd', [2, 6], params('boom'));
  assert.deepEqual(log, ['create g0', 'create g1'], 'b and d start later');
  await drain(core);
  assert.deepEqual(log.slice(2, 5), ['execute', 'fill g0', 'create g2'], "b's grammar starts in the first step, after execute");
  assert.deepEqual(a.final().outputs[0].tokenIds, [5, 6]);
  assert.deepEqual(b.final().outputs[0].tokenIds, [5, 6]);
  assert.deepEqual(c.final().outputs[0].tokenIds, [5, 6]);
  assert.match(d.error!.message, /provider failed later/, 'a grammar that fails to start fails its own request');
  assert.equal(core.scheduler.kv.pool.numFreeBlocks, 256);
});

test('a deferred grammar that never started is released without starting it', async () => {
  let made = 0;
  const released: string[] = [];
  const provider: GrammarProvider = {
    create: () => {
      const name = `g${made++}`;
      return { ...scriptedGrammar(name, [5], []), release: () => void released.push(name) };
    },
  };
  const { core } = makeCore({ grammar: provider });
  const params = { temperature: 0, maxTokens: 2, ignoreEos: true, structured: { kind: 'regex' as const, pattern: 'x' } };
  submit(core, 'a', [2, 3], params);
  const b = submit(core, 'b', [2, 4], params);
  core.abort('b');
  await drain(core);
  assert.equal(b.final().outputs[0].finishReason, 'abort');
  assert.equal(made, 1, "b's grammar was never started");
  assert.deepEqual(released, ['g0']);
});
