// GPU sampling for every row (issue 6). Everywhere: the request encoding round-trips through a host stand-in of the
// kernel (decoded back into RowSampling and sampled by src/runner/sampler.ts) and the backend equals the ts
// composition; masksReady is awaited after the forward was begun; bad input is a clear error that releases the model.
// On a GPU machine (cudaSampleLogits, the sampler alone on planted logits): greedy tokens, logprobs and ranks equal the
// host's; draws use the host's RNG and agree with it (boundary rounding aside); candidate sets equal; masks always
// hold; seeded rows do not depend on their neighbours; a chi-square test of the draw distribution.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cudaInfo, loadNativeAddon, type NativeForwardBatch, type NativeSampleRequest } from '../../src/native/addon.js';
import { buildSampleRequest, ROW_INT_FIELDS, RowInt, type GlobalRngStream } from '../../src/native/cuda-sampling.js';
import { createCudaSamplingBackend, type GpuSamplingModel } from '../../src/native/cuda-sampling-backend.js';
import { StepProfile } from '../../src/native/cuda-step-profile.js';
import { logitLayout } from '../../src/native/native-forward.js';
import type { RowSampling, StepBatch } from '../../src/runner/batch.js';
import { defaultRowSampling, filteredProbs, processLogits, sampleFiltered } from '../../src/runner/sampler.js';
import { counterUniform } from '../../src/runner/sampler-rng.js';
import { createTsBackend, type LogitsModel } from '../../src/runner/ts-backend.js';
import { buildStepBatch } from '../../src/runner/ts/step-batch-builder.js';
import { decodeRow, hostSampleRequest, maskOf, mixedSteps, STEP_SETTINGS, STEP_VOCAB, STEP_WORDS } from './cuda-sampling-reference.js';

const hasGpu = cudaInfo().deviceCount > 0;
const gpuOnly = { skip: hasGpu ? false : 'no CUDA device (GPU sampling kernels run on the GPU machine)' };
const row = (over: Partial<RowSampling>): RowSampling => ({ ...defaultRowSampling(), ...over });

/** deterministic pseudo-logits per (step, logit row) with planted near-ties */
function fakeLogits(batch: StepBatch, step: number): Float32Array {
  const all = new Float32Array(logitLayout(batch).tokenIndices.length * STEP_VOCAB);
  for (let i = 0; i < all.length; i++) all[i] = Math.sin(i * 12.9898 + step * 78.233) * 4;
  return all;
}

function splitForTs(batch: StepBatch, all: Float32Array) {
  const layout = logitLayout(batch);
  const n = batch.sampleRows.length;
  const promptLogits = Array.from({ length: batch.numRows }, (_, r) => {
    const s = layout.promptStart[r]!;
    if (s < 0) return null;
    const len = batch.queryStartLoc[r + 1]! - batch.queryStartLoc[r]!;
    return all.subarray(s * STEP_VOCAB, (s + len) * STEP_VOCAB);
  });
  return { sampleLogits: all.subarray(0, n * STEP_VOCAB), promptLogits };
}

/** a model whose "GPU" is the host stand-in; records the calls */
function standInModel(logitsOf: (b: NativeForwardBatch) => Float32Array) {
  const calls: string[] = [];
  let pending: Float32Array | null = null;
  const model: GpuSamplingModel & { calls: string[] } = {
    vocabSize: STEP_VOCAB,
    calls,
    async forwardBegin(b) {
      calls.push('forwardBegin');
      pending = logitsOf(b);
      return { hostMs: 0 };
    },
    async forwardDone() {}, // the stand-in "GPU" has the logits as soon as the forward is begun
    async sample(req) {
      calls.push(`sample:${req.numRows}`);
      const logits = pending!;
      pending = null;
      return hostSampleRequest(req, logits, STEP_VOCAB);
    },
  };
  return model;
}

test('the request carries every setting: decoded back, the host sampler gives the ts backend\'s result', async () => {
  const steps = mixedSteps();
  let step = 0;
  const tsModel: LogitsModel = { vocabSize: STEP_VOCAB, forward: (b) => splitForTs(b, fakeLogits(b, step)) };
  const opts = { numBlocks: 64, blockSize: 4, seed: 5 };
  const ref = createTsBackend(tsModel, opts);
  const got = createCudaSamplingBackend(standInModel(() => fakeLogits(steps[step]!, step)), { ...opts, kind: 'cuda' });
  for (; step < steps.length; step++) {
    const want = await ref.execute(steps[step]!);
    const have = await got.execute(steps[step]!);
    assert.deepEqual(have, want, `step ${step}`);
    assert.equal(have.sampledTokenIds[4], -1); // the all-masked row fails alone
    assert.ok(have.logprobs[3] !== null && have.logprobs[0] === null && have.logprobs[6]!.top.length === 3);
    assert.ok([10, 11, 13, 4999].includes(have.sampledTokenIds[7]!), 'allowed ids minus the -100 bias');
  }
});

test('request layout: grammar masks of the masked rows only, list masks, compact bias and penalty ids, the engine-global RNG stream', () => {
  const b = mixedSteps()[1]!;
  const rng: GlobalRngStream = { seed: 2 ** 33 + 5, counter: 10 };
  const req = buildSampleRequest(b, logitLayout(b), STEP_VOCAB, rng);
  const I = (i: number, f: RowInt) => req.rowInts[i * ROW_INT_FIELDS + f]!;
  assert.deepEqual([0, 1, 4, 5].map((i) => I(i, RowInt.GrammarMask)), [-1, 0, 1, 2]);
  const rowOf = (i: number) => b.grammarBitmask!.subarray(i * STEP_WORDS, (i + 1) * STEP_WORDS);
  assert.deepEqual(req.grammarMasks, Int32Array.from([...rowOf(1), ...rowOf(4), ...rowOf(5)]), 'the three masked rows\' masks, in order');
  assert.equal(req.listMasks.length, 2 * STEP_WORDS); // row 5 (banned) and row 7 (allowed)
  assert.equal(I(5, RowInt.ListMask), 0);
  assert.equal((req.listMasks[0]! >>> 5) & 1, 0, 'banned id 5 cleared');
  assert.deepEqual([...req.biasIds], [11, 12, 99999]);
  assert.equal(I(6, RowInt.PromptCount), 11); // repetition: prompt + output ids
  assert.equal(I(6, RowInt.OutputCount), 2);
  assert.equal(req.penaltyIds.length, 13);
  assert.equal(I(7, RowInt.Counter), 10, 'unseeded sampled row draws from the global stream');
  assert.equal(rng.counter, 11);
  assert.equal(I(7, RowInt.SeedHi), 2);
  assert.equal(I(7, RowInt.SeedLo), 5);
  assert.equal(I(2, RowInt.Counter), 1, 'seeded rows use their output index');
  const d = decodeRow(req, 6, STEP_VOCAB).sampling;
  assert.deepEqual([d.temperature, d.topP, d.minP, d.repetitionPenalty, d.presencePenalty, d.frequencyPenalty], [0.7, 0.8, 0.05, 1.3, 0.4, 0.2]);
  assert.equal(req.copyRows.length, 0);
  const first = mixedSteps()[0]!;
  assert.deepEqual([...buildSampleRequest(first, logitLayout(first), STEP_VOCAB, rng).copyRows], Array.from({ length: 6 }, (_, j) => 8 + j));
});

test('masksReady is awaited after the forward was begun: the request sees the masks filled meanwhile', async () => {
  const b = mixedSteps()[2]!;
  const want = b.grammarBitmask!.slice();
  b.grammarBitmask!.fill(0);
  b.grammarRows!.fill(0);
  let filledAfterBegin = false;
  const model = standInModel(() => fakeLogits(b, 0));
  b.masksReady = new Promise<void>((resolve) => {
    setImmediate(() => {
      filledAfterBegin = model.calls.includes('forwardBegin');
      b.grammarBitmask!.set(want);
      STEP_SETTINGS.forEach((x, r) => (b.grammarRows![r] = x.mask ? 1 : 0));
      resolve();
    });
  });
  const out = await createCudaSamplingBackend(model, { numBlocks: 64, blockSize: 4, seed: 5 }).execute(b);
  assert.ok(filledAfterBegin, 'the forward was begun before the engine filled the masks');
  assert.equal(out.sampledTokenIds[4], -1, 'the all-masked grammar row saw its (empty) mask');
  assert.ok([3, 77, 1000, 2048, 4097, 4999].includes(out.sampledTokenIds[1]!));
});

/** 64 rows: grammar rows share four masks (as rows of one schema in few grammar states do), others are free */
function sharedMaskRows(V: number): { settings: RowSampling[]; masks: Array<Int32Array | null>; distinct: Int32Array[] } {
  const words = Math.ceil(V / 32);
  const distinct = [0, 1, 2, 3].map((k) => maskOf(Array.from({ length: 40 + 30 * k }, (_, j) => (j * (17 + k) + k * 5) % V), words));
  const settings: RowSampling[] = [];
  const masks: Array<Int32Array | null> = [];
  for (let i = 0; i < 64; i++) {
    settings.push(row(i % 3 === 0 ? { temperature: 0.9, seed: 100 + i, topK: i % 5 } : { logprobs: i % 4 === 1 ? 2 : -1 }));
    masks.push(i % 8 === 7 ? null : distinct[(i * 7) % 4]!.slice());
  }
  return { settings, masks, distinct };
}

/** the same request with one grammar mask row per row (what was uploaded before masks were shared) */
function perRowRequest(req: NativeSampleRequest, masks: Array<Int32Array | null>, words: number): NativeSampleRequest {
  const rowInts = req.rowInts.slice();
  const grammarMasks = new Int32Array(masks.length * words);
  masks.forEach((m, i) => {
    rowInts[i * ROW_INT_FIELDS + RowInt.GrammarMask] = m ? i : -1;
    if (m) grammarMasks.set(m, i * words);
  });
  return { ...req, rowInts, grammarMasks };
}

test('rows with equal grammar masks share one uploaded mask row; sampling gives the same tokens as one row each', () => {
  const V = STEP_VOCAB;
  const { settings, masks, distinct } = sharedMaskRows(V);
  const req = requestFor(settings, masks, V);
  assert.equal(req.grammarMasks.length, distinct.length * STEP_WORDS, 'one row per distinct mask');
  masks.forEach((m, i) => {
    const g = req.rowInts[i * ROW_INT_FIELDS + RowInt.GrammarMask]!;
    if (!m) return assert.equal(g, -1, `row ${i} has no mask`);
    assert.deepEqual(req.grammarMasks.subarray(g * STEP_WORDS, (g + 1) * STEP_WORDS), m, `row ${i} points at its own mask`);
  });
  const logits = plantedLogits(settings.length, V, 5);
  const shared = hostSampleRequest(req, logits, V);
  const own = hostSampleRequest(perRowRequest(req, masks, STEP_WORDS), logits, V);
  assert.deepEqual(shared, own);
});

test('bad sampling settings are a clear error, and the begun step is ended so the model takes the next one', async () => {
  const b = buildStepBatch([{ tokenIds: [1, 2], startPosition: 0, blockTable: [0], sample: true }], 4);
  b.sampling = [row({ logprobs: 500 })];
  const model = standInModel(() => new Float32Array(STEP_VOCAB));
  const backend = createCudaSamplingBackend(model, { numBlocks: 8, blockSize: 4, seed: 0 });
  await assert.rejects(backend.execute(b), /logprobs 500 is more than the GPU sampler supports \(128\)/);
  assert.deepEqual(model.calls, ['forwardBegin', 'sample:0']);
  b.sampling = [row({ temperature: -1 })];
  await assert.rejects(backend.execute(b), /temperature -1 is not >= 0/);
});

test('with a profile attached, every step records its phases; the summary splits decode and mixed steps', async () => {
  const profile = new StepProfile();
  const steps = mixedSteps();
  let step = 0;
  const backend = createCudaSamplingBackend(standInModel(() => fakeLogits(steps[step]!, step)), { numBlocks: 64, blockSize: 4, seed: 5, profile });
  for (; step < steps.length; step++) await backend.execute(steps[step]!);
  assert.equal(profile.steps.length, 4);
  assert.deepEqual(profile.steps.map((s) => s.kind), ['mixed', 'decode', 'decode', 'decode']);
  assert.ok(profile.steps.every((s) => s.executeMs >= s.sampleAwaitMs && s.rows === 8));
  const sum = profile.summary();
  assert.equal(sum['decode']!['steps'], 3);
  assert.equal(sum['mixed']!['tokens'], steps[0]!.numTokens);
  assert.equal(sum['total']!['steps'], 4);
  profile.reset();
  assert.equal(profile.steps.length, 0);
  assert.deepEqual(Object.keys(profile.summary()), ['total']);
});

// ---- the kernels themselves (GPU machine) ----

/** random logits [rows, V] with planted exact ties and -inf entries */
function plantedLogits(rows: number, V: number, seed: number): Float32Array {
  const out = new Float32Array(rows * V);
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
  for (let r = 0; r < rows; r++) {
    const base = r * V;
    for (let t = 0; t < V; t++) out[base + t] = (rnd() - 0.5) * 8;
    const top = 6 + (r % 3);
    out[base + ((r * 131) % V)] = top; // a tie for the max: the lower id must win
    out[base + ((r * 131 + 977) % V)] = top;
    out[base + ((r * 7) % V)] = -Infinity;
  }
  return out;
}

/** one request for rows with these settings and (optional) grammar masks */
function requestFor(settings: RowSampling[], masks: Array<Int32Array | null>, V: number, rng: GlobalRngStream = { seed: 3, counter: 0 }): NativeSampleRequest {
  const words = Math.ceil(V / 32);
  const b = buildStepBatch(settings.map(() => ({ tokenIds: [0], startPosition: 0, blockTable: [0], sample: true })), 1);
  b.sampling = settings;
  if (masks.some((m) => m)) {
    b.grammarBitmask = new Int32Array(settings.length * words);
    b.grammarRows = new Uint8Array(settings.length);
    masks.forEach((m, i) => {
      if (!m) return;
      b.grammarRows![i] = 1;
      b.grammarBitmask!.set(m, i * words);
    });
  }
  return buildSampleRequest(b, logitLayout(b), V, rng);
}

const gpuSample = (logits: Float32Array, V: number, req: NativeSampleRequest) => loadNativeAddon().cudaSampleLogits!(0, V, logits, req);

test('GPU greedy tokens, logprobs, ranks and top logprobs equal the host sampler (masks, bias, penalties, ties)', gpuOnly, () => {
  const V = STEP_VOCAB;
  const settings: RowSampling[] = [];
  const masks: Array<Int32Array | null> = [];
  for (let i = 0; i < 48; i++) {
    settings.push(row({
      logprobs: [-1, 0, 1, 5, 20][i % 5]!,
      repetitionPenalty: i % 4 === 1 ? 1.5 : 1,
      presencePenalty: i % 6 === 2 ? 0.7 : 0,
      frequencyPenalty: i % 6 === 3 ? 0.3 : 0,
      logitBias: i % 7 === 4 ? new Map([[(i * 131) % V, -3.5], [5, 9.25]]) : null,
      allowedTokenIds: i % 9 === 5 ? Int32Array.of(1, 2, 3, 4000, (i * 131 + 977) % V) : null,
      bannedTokenIds: i % 5 === 3 ? Int32Array.of((i * 131) % V) : null,
      promptTokenIds: Array.from({ length: 40 }, (_, j) => (i * 131 + j * 997) % V),
      outputTokenIds: Array.from({ length: 12 }, (_, j) => (i * 131 + (j % 4) * 977) % V),
    }));
    masks.push(i % 8 === 6 ? maskOf(Array.from({ length: 300 }, (_, j) => (j * 16 + i) % V), STEP_WORDS) : i === 47 ? maskOf([]) : null);
  }
  const logits = plantedLogits(settings.length, V, 11);
  const req = requestFor(settings, masks, V);
  const gpu = gpuSample(logits, V, req);
  const host = hostSampleRequest(req, logits, V);
  assert.deepEqual([...gpu.tokens], [...host.tokens]);
  assert.equal(gpu.tokens[47], -1);
  assert.equal(gpu.topN, 20);
  for (let i = 0; i < settings.length; i++) {
    if (settings[i]!.logprobs < 0 || host.tokens[i]! < 0) continue;
    assert.ok(Math.abs(gpu.logprob[i]! - host.logprob[i]!) < 1e-6, `row ${i} logprob ${gpu.logprob[i]} vs ${host.logprob[i]}`);
    assert.equal(gpu.rank[i], host.rank[i], `row ${i} rank`);
    const n = settings[i]!.logprobs;
    assert.deepEqual([...gpu.topIds.subarray(i * 20, i * 20 + n)], [...host.topIds.subarray(i * 20, i * 20 + n)], `row ${i} top ids`);
    for (let j = 0; j < n; j++) assert.ok(Math.abs(gpu.topLogprobs[i * 20 + j]! - host.topLogprobs[i * 20 + j]!) < 1e-6);
  }
});

/** the host's candidate set (tokens with a non-zero filtered probability) for one row */
function hostCandidates(logits: Float32Array, s: RowSampling, mask: Int32Array | null): Set<number> {
  const work = new Float32Array(logits);
  processLogits(work, s, mask);
  const p = filteredProbs(work, s);
  const out = new Set<number>();
  p.forEach((x, t) => x > 0 && out.add(t));
  return out;
}

test('GPU draws: the host RNG\'s draw, inside the host\'s candidate set, which they cover (top-k / top-p / min-p / masks)', gpuOnly, () => {
  const V = 2000;
  const base = plantedLogits(1, V, 5);
  const mask = maskOf(Array.from({ length: 400 }, (_, j) => j * 5), Math.ceil(V / 32));
  const cases: Array<{ s: RowSampling; mask: Int32Array | null }> = [
    { s: row({ temperature: 1, topK: 5 }), mask: null },
    { s: row({ temperature: 0.5, topP: 0.6 }), mask: null },
    { s: row({ temperature: 0.9, minP: 0.3 }), mask: null },
    { s: row({ temperature: 1.3, topK: 40, topP: 0.9, minP: 0.01 }), mask },
    { s: row({ temperature: 2, topK: 3, repetitionPenalty: 2, logitBias: new Map([[17, 12]]), promptTokenIds: [17, 131, 1108] }), mask: null },
    { s: row({ temperature: 1, bannedTokenIds: Int32Array.of(131, 1108) }), mask },
  ];
  const draws = 300;
  let agree = 0;
  let total = 0;
  for (const [c, { s, mask: m }] of cases.entries()) {
    const settings = Array.from({ length: draws }, (_, k) => ({ ...s, seed: 1234 + c, outputIndex: k }));
    const logits = new Float32Array(draws * V);
    for (let k = 0; k < draws; k++) logits.set(base, k * V);
    const gpu = gpuSample(logits, V, requestFor(settings, settings.map(() => m), V));
    const cands = hostCandidates(base, s, m);
    const seen = new Set<number>();
    for (let k = 0; k < draws; k++) {
      const t = gpu.tokens[k]!;
      assert.ok(cands.has(t), `case ${c} draw ${k}: token ${t} is outside the host's candidates`);
      seen.add(t);
      const work = new Float32Array(base);
      processLogits(work, settings[k]!, m);
      if (sampleFiltered(work, settings[k]!, counterUniform(1234 + c, k)) === t) agree++;
      total++;
    }
    if (cands.size <= 8) assert.deepEqual([...seen].sort((a, b) => a - b), [...cands].sort((a, b) => a - b), `case ${c}: candidate set`);
  }
  assert.ok(agree >= total * 0.99, `GPU draws equal the host's for ${agree} of ${total}`);
});

test('a seeded row\'s GPU tokens do not depend on its batch neighbours', gpuOnly, () => {
  const V = 3000;
  const target = plantedLogits(1, V, 99);
  const s = row({ temperature: 1, topP: 0.95, seed: 77 });
  const alone: number[] = [];
  const inBatch: number[] = [];
  for (let k = 0; k < 40; k++) {
    const me = { ...s, outputIndex: k };
    alone.push(gpuSample(target, V, requestFor([me], [null], V)).tokens[0]!);
    const others = plantedLogits(6, V, 1000 + k);
    const logits = new Float32Array(7 * V);
    logits.set(others.subarray(0, 3 * V));
    logits.set(target, 3 * V);
    logits.set(others.subarray(3 * V), 4 * V);
    const settings = [row({ temperature: 0.7 }), row({}), row({ temperature: 1, seed: k }), me, row({ topK: 3, temperature: 1 }), row({ logprobs: 3 }), row({ temperature: 2 })];
    inBatch.push(gpuSample(logits, V, requestFor(settings, settings.map(() => null), V, { seed: 1, counter: k * 9 })).tokens[3]!);
  }
  assert.deepEqual(inBatch, alone);
  assert.ok(new Set(alone).size > 1, 'the draws vary with the output index');
});

test('GPU draw distribution matches the filtered probabilities (chi-square, 20,000 draws)', gpuOnly, () => {
  const V = 24;
  const base = Float32Array.from({ length: V }, (_, t) => Math.cos(t * 1.7) * 2 + (t === 3 ? 1.5 : 0));
  const s = row({ temperature: 0.8, topP: 0.97, minP: 0.02 });
  const probs = filteredProbs(new Float32Array(base), s);
  const sum = probs.reduce((a, b) => a + b, 0);
  const N = 20000;
  const logits = new Float32Array(N * V);
  for (let k = 0; k < N; k++) logits.set(base, k * V);
  const settings = Array.from({ length: N }, (_, k) => ({ ...s, seed: 2024, outputIndex: k }));
  const tokens = gpuSample(logits, V, requestFor(settings, settings.map(() => null), V)).tokens;
  const counts = new Array(V).fill(0);
  for (const t of tokens) counts[t]++;
  let chi2 = 0;
  let df = -1;
  for (let t = 0; t < V; t++) {
    if (probs[t] === 0) {
      assert.equal(counts[t], 0, `token ${t} was filtered out but drawn`);
      continue;
    }
    const expected = (N * probs[t]!) / sum;
    chi2 += (counts[t] - expected) ** 2 / expected;
    df++;
  }
  assert.ok(df >= 5, `enough candidates (${df + 1})`);
  // mean df, sd sqrt(2 df): 6 sd above the mean is far beyond any honest sampler's fluctuation
  assert.ok(chi2 < df + 6 * Math.sqrt(2 * df), `chi-square ${chi2.toFixed(1)} with ${df} degrees of freedom`);
});

test('GPU: shared grammar mask rows give the same tokens, logprobs and draws as one mask row per row', gpuOnly, () => {
  const V = STEP_VOCAB;
  const { settings, masks, distinct } = sharedMaskRows(V);
  const req = requestFor(settings, masks, V);
  assert.equal(req.grammarMasks.length, distinct.length * STEP_WORDS);
  const logits = plantedLogits(settings.length, V, 9);
  const shared = gpuSample(logits, V, req);
  const own = gpuSample(logits, V, perRowRequest(req, masks, STEP_WORDS));
  assert.deepEqual([...shared.tokens], [...own.tokens]);
  assert.deepEqual([...shared.logprob], [...own.logprob]);
  assert.deepEqual([...shared.topIds], [...own.topIds]);
  masks.forEach((m, i) => {
    const t = shared.tokens[i]!;
    if (m) assert.ok(t >= 0 && ((m[t >> 5]! >>> (t & 31)) & 1) === 1, `row ${i}: token ${t} passes its mask`);
  });
});

test('GPU: sampled tokens always pass the grammar mask and the allowed/banned lists; nothing allowed gives -1', gpuOnly, () => {
  const V = 4100;
  const words = Math.ceil(V / 32);
  const rows = 200;
  const logits = plantedLogits(rows + 1, V, 3);
  const settings: RowSampling[] = [];
  const masks: Array<Int32Array | null> = [];
  const allowedOf: Array<Set<number>> = [];
  for (let i = 0; i < rows; i++) {
    const ids = Array.from({ length: 1 + (i % 50) }, (_, j) => (i * 97 + j * 83) % V);
    const banned = i % 3 === 0 ? Int32Array.of(ids[0]!) : null;
    const allowedList = i % 4 === 1 ? Int32Array.from(ids.slice(0, Math.ceil(ids.length / 2))) : null;
    settings.push(row({ temperature: 0.5 + (i % 5) * 0.5, topK: i % 7, seed: i, bannedTokenIds: banned, allowedTokenIds: allowedList }));
    masks.push(maskOf(ids, words));
    const ok = new Set(ids.filter((t) => (!banned || !banned.includes(t)) && (!allowedList || allowedList.includes(t))));
    allowedOf.push(ok);
  }
  settings.push(row({ temperature: 1, allowedTokenIds: Int32Array.of() }));
  masks.push(null);
  const tokens = gpuSample(logits, V, requestFor(settings, masks, V)).tokens;
  for (let i = 0; i < rows; i++) {
    const ok = [...allowedOf[i]!].filter((t) => logits[i * V + t] !== -Infinity);
    if (ok.length === 0) assert.equal(tokens[i], -1, `row ${i}`);
    else assert.ok(ok.includes(tokens[i]!), `row ${i}: token ${tokens[i]} is not allowed`);
  }
  assert.equal(tokens[rows], -1, 'an empty allowed list leaves nothing');
});
