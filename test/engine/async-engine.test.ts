import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncEngine, UNHEALTHY_AFTER_FAILED_STEPS } from '../../src/engine/async-engine.js';
import { DEFAULT_ENGINE_ARGS } from '../../src/config/engine-args.js';
import type { ModelConfig } from '../../src/loader/model-config-types.js';
import type { RequestOutput } from '../../src/engine/types.js';
import type { FinishedRequestStats } from '../../src/engine/serving-engine.js';
import { makeCore } from './fakes.js';

function engine(over: Parameters<typeof makeCore>[0] = {}) {
  const { core, tokenizer } = makeCore(over);
  return new AsyncEngine({
    args: { ...DEFAULT_ENGINE_ARGS },
    modelConfig: { vocabSize: 64 } as ModelConfig,
    maxModelLen: 512,
    core,
    tokenizer,
    chatTemplate: null,
  });
}

async function collect(it: AsyncIterable<RequestOutput>): Promise<RequestOutput[]> {
  const out: RequestOutput[] = [];
  for await (const o of it) out.push(o);
  return out;
}

test('concurrent generate() calls stream outputs; deltas concatenate to the cumulative result', async () => {
  const e = engine();
  const finished: FinishedRequestStats[] = [];
  e.onRequestFinished((s) => finished.push(s));
  const [cum, delta, text] = await Promise.all([
    collect(e.generate({ promptTokenIds: [2, 3, 4] }, { temperature: 0, maxTokens: 12, ignoreEos: true }, 'a')),
    collect(e.generate({ promptTokenIds: [2, 3, 4] }, { temperature: 0, maxTokens: 12, ignoreEos: true }, 'b', { delta: true })),
    collect(e.generate('hello world', { temperature: 0, maxTokens: 3, ignoreEos: true }, 'c')),
  ]);
  const last = cum[cum.length - 1];
  assert.equal(last.finished, true);
  assert.equal(last.outputs[0].tokenIds.length, 12);
  assert.deepEqual(delta.flatMap((o) => o.outputs.flatMap((x) => x.tokenIds)), last.outputs[0].tokenIds);
  assert.equal(delta.map((o) => o.outputs.map((x) => x.text).join('')).join(''), last.outputs[0].text);
  assert.equal(text[0].prompt, 'hello world');
  assert.deepEqual(text[0].promptTokenIds, e.tokenizer!.encode('hello world'));
  assert.equal(finished.length, 3);
  const fa = finished.find((f) => f.requestId === 'a')!;
  assert.equal(fa.generationTokens, 12);
  assert.equal(fa.interTokenLatencies.length, 11);
  assert.ok(fa.e2eLatency >= 0 && fa.timeToFirstToken !== null && fa.queueTime >= 0);
  await e.shutdown();
});

test('abort ends the iterator with finishReason abort and frees the KV at once; breaking out aborts too', async () => {
  const e = engine({ numBlocks: 128 });
  const it = e.generate({ promptTokenIds: [2, 3, 4] }, { temperature: 0, maxTokens: 400, ignoreEos: true }, 'long');
  const seen: RequestOutput[] = [];
  for await (const o of it) {
    seen.push(o);
    if (seen.length === 3) e.abort('long');
  }
  const last = seen[seen.length - 1];
  assert.equal(last.finished, true);
  assert.equal(last.outputs[0].finishReason, 'abort');
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(e.core.scheduler.kv.pool.numFreeBlocks, 128);
  let n = 0;
  for await (const _ of e.generate({ promptTokenIds: [2, 3] }, { temperature: 0, maxTokens: 400, ignoreEos: true }, 'brk')) if (++n === 2) break;
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(e.stats().numRunning + e.stats().numWaiting, 0, 'breaking out of the iterator aborted the request');
  assert.equal(e.core.scheduler.kv.pool.numFreeBlocks, 128);
  await e.shutdown();
});

test('invalid requests reject on iteration with the validation message; duplicate ids are refused', async () => {
  const e = engine();
  await assert.rejects(collect(e.generate({ promptTokenIds: [2] }, { temperature: -1 }, 'x')), { message: 'temperature must be non-negative, got -1.' });
  const first = e.generate({ promptTokenIds: [2] }, { maxTokens: 5, ignoreEos: true }, 'dup');
  await assert.rejects(collect(e.generate({ promptTokenIds: [2] }, {}, 'dup')), /already running/);
  const out = await collect(first);
  assert.equal(out[out.length - 1].finished, true);
  await e.shutdown();
});

test('the engine loop yields to the event loop between steps', async () => {
  const e = engine();
  // another task that re-queues itself on the event loop runs between the engine's steps
  let ticks = 0;
  let running = true;
  const spin = () => {
    ticks++;
    if (running) setImmediate(spin);
  };
  setImmediate(spin);
  await collect(e.generate({ promptTokenIds: [2, 3] }, { temperature: 0, maxTokens: 200, ignoreEos: true }, 'y'));
  running = false;
  assert.ok(ticks >= 150, `the other task ran ${ticks} times during 200 steps`);
  await e.shutdown();
});

test('finalOnly emits exactly one, cumulative output', async () => {
  const e = engine();
  const outs = await collect(e.generate({ promptTokenIds: [2, 3] }, { temperature: 0, maxTokens: 7, ignoreEos: true }, 'f', { finalOnly: true, delta: true }));
  assert.equal(outs.length, 1);
  assert.equal(outs[0].finished, true);
  assert.equal(outs[0].outputs[0].tokenIds.length, 7);
  await e.shutdown();
});

test('health: unhealthy after UNHEALTHY_AFTER_FAILED_STEPS failed steps in a row, healthy again after a good step', async () => {
  const { core, tokenizer } = makeCore();
  let failing = true;
  const backend = core.backend;
  const execute = backend.execute.bind(backend);
  backend.execute = (b) => (failing ? Promise.reject(new Error('device lost')) : execute(b));
  const e = new AsyncEngine({ args: { ...DEFAULT_ENGINE_ARGS }, modelConfig: { vocabSize: 64 } as ModelConfig, maxModelLen: 512, core, tokenizer, chatTemplate: null });
  assert.deepEqual(e.health(), { healthy: true, error: null });
  for (let i = 0; i < UNHEALTHY_AFTER_FAILED_STEPS; i++) {
    assert.equal(e.health().healthy, true, `one failed batch (${i}) is not a dead engine`);
    await assert.rejects(collect(e.generate({ promptTokenIds: [1, 2, 3] }, { maxTokens: 2 }, `bad-${i}`)), /device lost/);
  }
  assert.deepEqual(e.health(), { healthy: false, error: `the last ${UNHEALTHY_AFTER_FAILED_STEPS} engine steps failed; the last error: device lost` });
  failing = false;
  const outs = await collect(e.generate({ promptTokenIds: [1, 2, 3] }, { maxTokens: 2 }, 'good'));
  assert.equal(outs.at(-1)!.finished, true);
  assert.deepEqual(e.health(), { healthy: true, error: null });
  await e.shutdown();
});
