// The real ts backend on a tiny make-test-model model: greedy outputs in a mix with aborts, preemptions and shared
// prefixes equal those of each request run alone; prompt logprobs and text come through the real tokenizer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestModel } from '../../src/models/make-test-model.js';
import { AsyncEngine } from '../../src/engine/async-engine.js';
import type { RequestOutput, SamplingParams } from '../../src/engine/types.js';
import { lastOutput } from '../helpers/last-output.js';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'serval-engine-'));
  makeTestModel({ arch: 'qwen3', out: join(dir, 'm'), vocabSize: 1024, hidden: 32, heads: 2, kvHeads: 1, layers: 2, seed: 3 });
});
after(() => rmSync(dir, { recursive: true, force: true }));


function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

test('ts backend: mix of 40 requests (aborts, preemptions, shared prefixes) matches requests run alone', async () => {
  const common = { model: join(dir, 'm'), device: 'ts' as const, blockSize: 4, maxModelLen: 96 };
  const mixed = await AsyncEngine.create({ ...common, numKvBlocks: 40, maxNumSeqs: 12, maxNumBatchedTokens: 40 });
  const alone = await AsyncEngine.create({ ...common, numKvBlocks: 64, enablePrefixCaching: false });
  const r = rng(5);
  const shared = Array.from({ length: 20 }, () => Math.floor(r() * 1000));
  const specs = Array.from({ length: 40 }, (_, i) => ({
    id: `q${i}`,
    prompt: [...(r() < 0.6 ? shared : []), ...Array.from({ length: 1 + Math.floor(r() * 20) }, () => Math.floor(r() * 1000))],
    params: { temperature: 0, maxTokens: 1 + Math.floor(r() * 24), ignoreEos: true } as SamplingParams,
    abort: r() < 0.1,
  }));
  const runs = specs.map(async (s) => {
    if (s.abort) s.params.maxTokens = 24;
    const it = mixed.generate({ promptTokenIds: s.prompt }, s.params, s.id);
    if (!s.abort) return lastOutput(it);
    // abort right after the first token arrives
    let out: RequestOutput | null = null;
    for await (const o of it) {
      if (!out) mixed.abort(s.id);
      out = o;
    }
    return out!;
  });
  const outs = await Promise.all(runs);
  const st = mixed.stats();
  assert.ok(st.numPreemptions > 0, 'the 40-block pool forces preemptions');
  assert.ok(st.prefixCacheHits > 0);
  assert.equal(mixed.core.scheduler.kv.pool.numFreeBlocks, 40, 'no KV block leaked');
  let aborted = 0;
  for (let i = 0; i < specs.length; i++) {
    const ref = await lastOutput(alone.generate({ promptTokenIds: specs[i].prompt }, specs[i].params, specs[i].id));
    const got = outs[i].outputs[0];
    if (got.finishReason === 'abort') {
      aborted++;
      assert.deepEqual(got.tokenIds, ref.outputs[0].tokenIds.slice(0, got.tokenIds.length));
    } else assert.deepEqual(got.tokenIds, ref.outputs[0].tokenIds, specs[i].id);
  }
  assert.ok(aborted > 0, 'some requests were aborted mid-generation');
  await mixed.shutdown();
  await alone.shutdown();
});

test('ts backend: text prompts, detokenized output, prompt logprobs and seeded sampling', async () => {
  const e = await AsyncEngine.create({ model: join(dir, 'm'), device: 'ts', numKvBlocks: 64, blockSize: 4, maxModelLen: 96 });
  assert.ok(e.tokenizer);
  const ids = [11, 22, 33, 44, 55, 66];
  const out = await lastOutput(e.generate({ promptTokenIds: ids }, { temperature: 0, maxTokens: 5, ignoreEos: true, promptLogprobs: 1, logprobs: 2 }, 'p'));
  assert.equal(out.promptLogprobs!.length, 6);
  assert.equal(out.promptLogprobs![0], null);
  assert.ok(out.promptLogprobs!.slice(1).every((x) => x !== null && x.top.length === 1));
  assert.equal(out.outputs[0].text, e.tokenizer!.decode(out.outputs[0].tokenIds));
  assert.equal(out.outputs[0].logprobs!.length, 5);
  const seeded = { temperature: 1, seed: 77, maxTokens: 6, ignoreEos: true };
  const a = await lastOutput(e.generate({ promptTokenIds: ids }, seeded, 's1'));
  const [b] = await Promise.all([
    lastOutput(e.generate({ promptTokenIds: ids }, seeded, 's2')),
    lastOutput(e.generate({ promptTokenIds: [5, 6, 7] }, { temperature: 1, maxTokens: 8, ignoreEos: true }, 'noise')),
  ]);
  assert.deepEqual(b.outputs[0].tokenIds, a.outputs[0].tokenIds, 'seeded sampling ignores batch neighbours');
  // no GPU here: device 'cuda' fails with the native backend's clear error instead of falling back
  await assert.rejects(async () => AsyncEngine.create({ model: join(dir, 'm'), device: 'cuda' }), /cuda/i);
  await e.shutdown();
});

test('ts backend: a shared 300-token prefix is served from the prefix cache with identical outputs', async () => {
  const e = await AsyncEngine.create({ model: join(dir, 'm'), device: 'ts', numKvBlocks: 128, blockSize: 16, maxModelLen: 512 });
  const r = rng(9);
  const shared = Array.from({ length: 300 }, () => Math.floor(r() * 1000));
  const params = { temperature: 0, maxTokens: 6, ignoreEos: true };
  const a = await lastOutput(e.generate({ promptTokenIds: [...shared, 1, 2] }, params, 'a'));
  const b = await lastOutput(e.generate({ promptTokenIds: [...shared, 3, 4] }, params, 'b'));
  assert.equal(a.metrics.numCachedTokens, 0);
  assert.equal(b.metrics.numCachedTokens, 288);
  assert.equal(e.stats().prefixCacheHits, 288);
  const fresh = await AsyncEngine.create({ model: join(dir, 'm'), device: 'ts', numKvBlocks: 128, blockSize: 16, maxModelLen: 512, enablePrefixCaching: false });
  const bRef = await lastOutput(fresh.generate({ promptTokenIds: [...shared, 3, 4] }, params, 'b'));
  assert.deepEqual(b.outputs[0].tokenIds, bRef.outputs[0].tokenIds, 'cached KV gives the same tokens as recomputing it');
  await e.shutdown();
  await fresh.shutdown();
});
