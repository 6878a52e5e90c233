import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sampler, defaultRowSampling, processLogits, sampleFiltered } from '../../src/runner/sampler.js';
import { counterUniform } from '../../src/runner/sampler-rng.js';
import { tokenLogprobs, topKIndices } from '../../src/runner/sampler-logprobs.js';
import type { RowSampling, StepBatch } from '../../src/runner/batch.js';

function batchOf(sampling: RowSampling[], grammar?: { mask: Int32Array; rows: Uint8Array }): StepBatch {
  const n = sampling.length;
  return {
    numTokens: n,
    tokenIds: new Int32Array(n),
    positions: new Int32Array(n),
    slotMapping: new Int32Array(n),
    numRows: n,
    queryStartLoc: Int32Array.from({ length: n + 1 }, (_, i) => i),
    contextLens: new Int32Array(n).fill(1),
    blockTables: new Int32Array(n),
    maxBlocksPerRow: 1,
    sampleRows: Int32Array.from({ length: n }, (_, i) => i),
    sampling,
    grammarBitmask: grammar?.mask ?? null,
    grammarRows: grammar?.rows ?? null,
  };
}
const rs = (over: Partial<RowSampling>): RowSampling => ({ ...defaultRowSampling(), ...over });
const logits = Float32Array.from([1, 3, 2, 0.5, -1, 2.9]);

test('greedy takes the argmax; masks, allowed ids, bias and grammar bits change it', () => {
  const V = logits.length;
  const sampler = new Sampler(0);
  const rows = [
    rs({}),
    rs({ bannedTokenIds: Int32Array.from([1]) }),
    rs({ allowedTokenIds: Int32Array.from([3, 4]) }),
    rs({ logitBias: new Map([[4, 10]]) }),
    rs({}),
  ];
  const all = new Float32Array(V * rows.length);
  for (let i = 0; i < rows.length; i++) all.set(logits, i * V);
  const mask = new Int32Array(rows.length); // 1 word per row
  mask[4] = 1 << 2; // only token 2 allowed in the last row
  const grammarRows = Uint8Array.from([0, 0, 0, 0, 1]);
  const { sampledTokenIds } = sampler.sample(all, V, batchOf(rows, { mask, rows: grammarRows }));
  assert.deepEqual([...sampledTokenIds], [1, 5, 3, 4, 2]);
});

test('repetition penalty follows HF (divide positive, multiply negative); presence/frequency use output counts', () => {
  const w = Float32Array.from([2, -2, 1, 1]);
  processLogits(w, rs({ repetitionPenalty: 2, promptTokenIds: [0], outputTokenIds: [1, 1] }), null);
  assert.deepEqual([...w], [1, -4, 1, 1]);
  const v = Float32Array.from([0, 0, 0]);
  processLogits(v, rs({ presencePenalty: 0.5, frequencyPenalty: 0.25, outputTokenIds: [2, 2, 1] }), null);
  assert.deepEqual([...v], [0, -0.75, -1]);
});

test('top_k = 1 and tiny top_p reduce random sampling to the argmax; min_p filters the tail', () => {
  for (let k = 0; k < 50; k++) {
    const u = counterUniform(7, k);
    assert.equal(sampleFiltered(new Float32Array(logits), rs({ temperature: 1, topK: 1 }), u), 1);
    assert.equal(sampleFiltered(new Float32Array(logits), rs({ temperature: 1, topP: 0.01 }), u), 1);
    // min_p 0.5: keeps tokens with p >= 0.5 * pmax → logits within ln 2 of the max: tokens 1, 5, 2 (2 < 3 - 0.69? no)
    const t = sampleFiltered(new Float32Array(logits), rs({ temperature: 1, minP: 0.5 }), u);
    assert.ok(t === 1 || t === 5, `min_p kept token ${t}`);
  }
});

test('random sampling follows the softmax distribution', () => {
  const counts = new Array(logits.length).fill(0);
  const N = 20000;
  for (let k = 0; k < N; k++) counts[sampleFiltered(new Float32Array(logits), rs({ temperature: 1 }), counterUniform(123, k))]++;
  const z = [...logits].reduce((a, x) => a + Math.exp(x), 0);
  for (let t = 0; t < logits.length; t++) {
    const p = Math.exp(logits[t]) / z;
    assert.ok(Math.abs(counts[t] / N - p) < 0.015, `token ${t}: ${counts[t] / N} vs ${p}`);
  }
});

test('seeded draws depend only on (seed, output index), not on batch position', () => {
  const V = logits.length;
  const sampler = new Sampler(0);
  const seeded = (outputIndex: number) => rs({ temperature: 1.5, seed: 42, outputIndex });
  const alone = sampler.sample(logits, V, batchOf([seeded(3)])).sampledTokenIds[0];
  const all = new Float32Array(V * 3);
  for (let i = 0; i < 3; i++) all.set(logits, i * V);
  const mixed = sampler.sample(all, V, batchOf([rs({ temperature: 1, seed: 1 }), rs({ temperature: 1 }), seeded(3)])).sampledTokenIds[2];
  assert.equal(mixed, alone);
  const draws = new Set(Array.from({ length: 40 }, (_, k) => sampler.sample(logits, V, batchOf([seeded(k)])).sampledTokenIds[0]));
  assert.ok(draws.size > 1, 'different output indices draw different numbers');
});

test('logprobs are raw log-softmax with the sampled rank and top-k alternatives', () => {
  const V = logits.length;
  const sampler = new Sampler(0);
  const { sampledTokenIds, logprobs } = sampler.sample(logits, V, batchOf([rs({ logprobs: 2, logitBias: new Map([[0, 100]]) })]));
  assert.equal(sampledTokenIds[0], 0, 'the bias changed the choice');
  const lp = logprobs[0]!;
  const lse = Math.log([...logits].reduce((a, x) => a + Math.exp(x), 0));
  assert.ok(Math.abs(lp.logprob - (1 - lse)) < 1e-5, 'logprob of the raw logits, before the bias');
  assert.equal(lp.rank, 4);
  assert.deepEqual(lp.top.map((t) => t.tokenId), [1, 5]);
  assert.deepEqual(topKIndices([1, 5, 5, 2], 3), [1, 2, 3]);
  assert.equal(tokenLogprobs([0, 0], 1, 0).top.length, 0);
});

test('min_p / top_k / top_p keep exactly the set a full sort keeps (large vocabulary)', async () => {
  const { filteredProbs } = await import('../../src/runner/sampler.js');
  const V = 5000;
  let seed = 1;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296);
  for (let trial = 0; trial < 40; trial++) {
    const logits = new Float32Array(V);
    const spread = 1 + rand() * 12;
    for (let i = 0; i < V; i++) logits[i] = rand() * spread;
    const s = rs({ temperature: 0.5 + rand(), topK: rand() < 0.5 ? 1 + Math.floor(rand() * 200) : 0, topP: rand() < 0.7 ? 0.05 + rand() * 0.9 : 1, minP: rand() < 0.3 ? rand() * 0.2 : 0 });
    const got = filteredProbs(new Float32Array(logits), s);
    // reference: sort every token
    const max = Math.max(...logits);
    const p = Array.from(logits, (l) => Math.exp((l - max) / s.temperature));
    let order = p.map((_, i) => i).sort((a, b) => p[b] - p[a] || a - b);
    order = order.filter((i) => p[i] >= s.minP);
    if (s.topK > 0) order = order.slice(0, s.topK);
    if (s.topP < 1) {
      const mass = order.reduce((a, i) => a + p[i], 0);
      let cum = 0;
      let n = 0;
      while (n < order.length) {
        cum += p[order[n++]];
        if (cum >= s.topP * mass) break;
      }
      order = order.slice(0, n);
    }
    const want = new Set(order);
    const kept = new Set<number>();
    got.forEach((x, i) => x > 0 && kept.add(i));
    assert.deepEqual([...kept].sort((a, b) => a - b), [...want].sort((a, b) => a - b), `trial ${trial} ${JSON.stringify({ k: s.topK, p: s.topP, m: s.minP })}`);
  }
});
