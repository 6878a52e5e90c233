// Property: a request's greedy (or seeded) output is the same alone as in a random mix of 200 concurrent requests
// with different lengths, aborts, preemptions (tiny KV pool) and shared prefixes; no KV block leaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeCore } from './fakes.js';
import { submit, drain, type Collected } from './run-core.js';
import type { SamplingParams } from '../../src/engine/types.js';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

interface Spec {
  id: string;
  prompt: number[];
  params: SamplingParams;
  priority: number;
  submitAt: number;
  abortAt: number | null;
}

function makeSpecs(count: number, seed: number): Spec[] {
  const r = rng(seed);
  const prefixes = Array.from({ length: 5 }, (_, k) => Array.from({ length: 8 + Math.floor(r() * 40) }, () => 2 + Math.floor(r() * 60) + 0 * k));
  return Array.from({ length: count }, (_, i) => {
    const shared = r() < 0.5 ? prefixes[Math.floor(r() * prefixes.length)] : [];
    const own = Array.from({ length: 1 + Math.floor(r() * 30) }, () => 2 + Math.floor(r() * 60));
    const seeded = r() < 0.25;
    const params: SamplingParams = {
      temperature: seeded ? 1 : 0,
      seed: seeded ? Math.floor(r() * 1000) : undefined,
      maxTokens: 1 + Math.floor(r() * 30),
      ignoreEos: r() < 0.5,
      n: r() < 0.1 ? 2 : 1,
    };
    return {
      id: `r${i}`,
      prompt: [...shared, ...own],
      params,
      priority: Math.floor(r() * 3),
      submitAt: Math.floor(r() * 60),
      abortAt: r() < 0.1 ? Math.floor(r() * 80) : null,
    };
  });
}

async function runAlone(spec: Spec): Promise<number[][]> {
  const { core } = makeCore({ numBlocks: 64, blockSize: 4, maxModelLen: 128 });
  const c = submit(core, spec.id, spec.prompt, spec.params);
  await drain(core);
  return c.final().outputs.map((o) => o.tokenIds);
}

async function runMix(specs: Spec[], policy: 'fcfs' | 'priority') {
  const { core } = makeCore({ numBlocks: 64, blockSize: 4, maxModelLen: 128, maxNumSeqs: 24, maxNumBatchedTokens: 48, schedulingPolicy: policy });
  const results = new Map<string, Collected>();
  let step = 0;
  while (step < 100000) {
    for (const s of specs) if (s.submitAt === step) results.set(s.id, submit(core, s.id, s.prompt, s.params, { priority: policy === 'priority' ? s.priority : 0 }));
    for (const s of specs) if (s.abortAt === step && results.has(s.id)) core.abort(s.id);
    if (!core.hasWork() && step > 80) break;
    await core.step();
    step++;
  }
  return { core, results };
}

for (const policy of ['fcfs', 'priority'] as const) {
  test(`200-request mix (${policy}): same outputs as alone, preemptions happen, nothing leaks`, async () => {
    const specs = makeSpecs(200, policy === 'fcfs' ? 7 : 11);
    const { core, results } = await runMix(specs, policy);
    const st = core.stats();
    assert.ok(st.numPreemptions > 0, 'the tiny KV pool forces preemptions');
    assert.ok(st.prefixCacheHits > 0, 'shared prefixes hit the cache');
    assert.equal(core.scheduler.kv.pool.numFreeBlocks, 64, 'every KV block is back in the pool');
    assert.equal(st.numRunning + st.numWaiting, 0);
    let aborted = 0;
    for (const s of specs) {
      const got = results.get(s.id)!;
      assert.equal(got.error, null);
      const last = got.final();
      const alone = await runAlone(s);
      const isAbort = last.outputs.some((o) => o.finishReason === 'abort');
      if (isAbort) {
        aborted++;
        // an aborted request's tokens are a prefix of what it would have generated
        last.outputs.forEach((o) => assert.deepEqual(o.tokenIds, alone[o.index].slice(0, o.tokenIds.length), s.id));
      } else {
        assert.deepEqual(last.outputs.map((o) => o.tokenIds), alone, `${s.id} ${JSON.stringify(s.params)}`);
      }
    }
    assert.ok(aborted > 0, 'some requests were aborted');
  });
}
