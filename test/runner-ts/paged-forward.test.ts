// The paged path must not depend on where blocks live, on the block size, on how a prefill is chunked, or on which
// other rows share the batch: all of these give bit-identical logits.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeTestModel } from '../../src/models/make-test-model.js';
import { greedyGenerate } from '../../src/runner/ts/greedy-generate.js';
import { buildStepBatch } from '../../src/runner/ts/step-batch-builder.js';
import { loadTsModel, type TsModel } from '../../src/runner/ts/ts-model.js';

const root = mkdtempSync(join(tmpdir(), 'serval-paged-'));
after(() => rmSync(root, { recursive: true, force: true }));
const VOCAB = 1024;
const prompt = [5, 900, 17, 23, 42, 7, 311, 1000, 64, 2, 999, 123, 77];
const other = [400, 401, 402, 403, 404, 405, 406];
let dir = '';

before(() => {
  dir = makeTestModel({ arch: 'qwen2', out: join(root, 'qwen2'), hidden: 32, layers: 2, heads: 4, kvHeads: 2, vocabSize: VOCAB, seed: 9, tokenizer: false });
});

async function model(blockSize: number, numBlocks = 64): Promise<TsModel> {
  return loadTsModel(dir, { numBlocks, blockSize });
}

/** one-shot prefill of `tokens` through `blockTable`, logits after the last token */
function prefill(m: TsModel, tokens: number[], blockTable: number[]): Float32Array {
  return m.forward(buildStepBatch([{ tokenIds: tokens, startPosition: 0, blockTable, sample: true }], m.blockSize)).sampleLogits;
}

test('contiguous and scattered block tables give identical logits', async () => {
  const m = await model(4);
  const contiguous = prefill(m, prompt, [0, 1, 2, 3]);
  const scattered = prefill(m, prompt, [37, 5, 60, 12]);
  assert.equal(contiguous.length, VOCAB);
  assert.deepEqual(scattered, contiguous);
});

test('block sizes 1, 4 and 16 give identical logits', async () => {
  const one = prefill(await model(1), prompt, Array.from({ length: 13 }, (_, i) => 50 - i));
  const four = prefill(await model(4), prompt, [3, 2, 1, 0]);
  const sixteen = prefill(await model(16), prompt, [7]);
  assert.deepEqual(four, one);
  assert.deepEqual(sixteen, one);
});

test('chunked prefill (5 + 5 + 3, earlier chunks unsampled) equals one-shot prefill', async () => {
  const m = await model(4);
  const table = [9, 4, 30, 2];
  const oneShot = prefill(m, prompt, table);
  let last: Float32Array | null = null;
  for (const [start, end] of [[0, 5], [5, 10], [10, 13]] as const) {
    const sample = end === prompt.length;
    const out = m.forward(buildStepBatch([{ tokenIds: prompt.slice(start, end), startPosition: start, blockTable: table, sample }], 4));
    assert.equal(out.sampleLogits.length, sample ? VOCAB : 0);
    if (sample) last = out.sampleLogits;
  }
  assert.deepEqual(last, oneShot);
});

test('prompt logits of a prefill equal the logits of token-by-token decoding', async () => {
  const m = await model(4);
  const out = m.forward(buildStepBatch([{ tokenIds: prompt, startPosition: 0, blockTable: [0, 1, 2, 3], sample: true, promptLogits: true }], 4));
  const all = out.promptLogits[0]!;
  assert.equal(all.length, prompt.length * VOCAB);
  assert.deepEqual(all.subarray((prompt.length - 1) * VOCAB), out.sampleLogits);
  const table = [10, 11, 12, 13];
  prompt.forEach((tok, pos) => {
    const step = m.forward(buildStepBatch([{ tokenIds: [tok], startPosition: pos, blockTable: table, sample: true }], 4)).sampleLogits;
    assert.deepEqual(step, all.subarray(pos * VOCAB, (pos + 1) * VOCAB), `position ${pos}`);
  });
});

test('rows sharing a batch do not affect each other (a partial prefill row and a decoding row)', async () => {
  const m = await model(4);
  // Row A alone: prefill 8 tokens, then decode token 8.
  const aTable = [0, 1, 2, 3];
  prefill(m, prompt.slice(0, 8), aTable);
  const aAlone = m.forward(buildStepBatch([{ tokenIds: [prompt[8]!], startPosition: 8, blockTable: aTable, sample: true }], 4)).sampleLogits;
  // Row B alone: prefill 7 tokens, sampled.
  const bAlone = prefill(m, other, [20, 21]);
  // Together: B's first chunk (unsampled) + A's decode; then B's rest alongside nothing.
  const aTable2 = [40, 41, 42, 43];
  prefill(m, prompt.slice(0, 8), aTable2);
  const mixed = m.forward(
    buildStepBatch(
      [
        { tokenIds: other.slice(0, 4), startPosition: 0, blockTable: [30, 31], sample: false, promptLogits: true },
        { tokenIds: [prompt[8]!], startPosition: 8, blockTable: aTable2, sample: true },
      ],
      4,
    ),
  );
  assert.deepEqual(mixed.sampleLogits, aAlone);
  assert.equal(mixed.promptLogits[0]!.length, 4 * VOCAB);
  assert.equal(mixed.promptLogits[1], null);
  const bRest = m.forward(buildStepBatch([{ tokenIds: other.slice(4), startPosition: 4, blockTable: [30, 31], sample: true }], 4)).sampleLogits;
  assert.deepEqual(bRest, bAlone);
});

test('greedyGenerate decodes through the cache like repeated full prefills', async () => {
  const m = await model(4);
  const { tokenIds } = greedyGenerate(m, prompt, 6);
  const seq = [...prompt];
  for (let i = 0; i < 6; i++) {
    const logits = prefill(m, seq, [50, 51, 52, 53, 54]);
    let best = 0;
    for (let v = 1; v < VOCAB; v++) if (logits[v]! > logits[best]!) best = v;
    assert.equal(tokenIds[i], best, `step ${i}`);
    seq.push(best);
  }
  assert.throws(() => greedyGenerate(m, prompt, 1000), /need \d+ blocks of 4, the cache has 64/);
});
