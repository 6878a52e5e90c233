import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Checkpoint } from '../../src/loader/safetensors.js';
import { writeSafetensors } from '../../src/loader/safetensors-writer.js';
import { makeTestModel } from '../../src/models/make-test-model.js';
import { buildStepBatch } from '../../src/runner/ts/step-batch-builder.js';
import { loadTsModel } from '../../src/runner/ts/ts-model.js';

const root = mkdtempSync(join(tmpdir(), 'serval-tsm-'));
after(() => rmSync(root, { recursive: true, force: true }));
const shape = { hidden: 32, layers: 1, heads: 4, kvHeads: 2, vocabSize: 512, tokenizer: false } as const;

test('missing tensor: loading names it', async () => {
  const dir = makeTestModel({ arch: 'llama', out: join(root, 'missing'), ...shape });
  const ckpt = Checkpoint.open(dir);
  const keep = ckpt.names().filter((n) => n !== 'model.layers.0.mlp.up_proj.weight');
  const tensors = keep.map((name) => {
    const loc = ckpt.location(name);
    const raw = ckpt.readRaw(name);
    return { name, dtype: loc.dtype as 'BF16', shape: loc.shape, bytes: () => raw };
  });
  ckpt.close();
  writeSafetensors(join(dir, 'model.safetensors'), tensors);
  await assert.rejects(loadTsModel(dir, { numBlocks: 4, blockSize: 4 }), /tensor "model\.layers\.0\.mlp\.up_proj\.weight" is missing/);
});

test('config that disagrees with the weights: wrong shape names expected and actual', async () => {
  const dir = makeTestModel({ arch: 'qwen3', out: join(root, 'shape'), ...shape });
  const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
  cfg.intermediate_size = 48;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
  await assert.rejects(loadTsModel(dir, { numBlocks: 4, blockSize: 4 }), /tensor "model\.layers\.0\.mlp\.gate_proj\.weight" has the wrong shape: expected \[48, 32\], got \[64, 32\]/);
});

test('load format dummy needs only config.json and reports the KV block size', async () => {
  const dir = makeTestModel({ arch: 'mistral', out: join(root, 'dummy'), ...shape });
  rmSync(join(dir, 'model.safetensors'));
  await assert.rejects(loadTsModel(dir, { numBlocks: 4, blockSize: 4 }), /has neither model\.safetensors/);
  const m = await loadTsModel(dir, { numBlocks: 4, blockSize: 4, loadFormat: 'dummy' });
  // K and V, 1 layer, 4 slots, 2 kv heads of 8 floats.
  assert.equal(m.kvBytesPerBlock, 2 * 1 * 4 * 2 * 8 * 4);
  const out = m.forward(buildStepBatch([{ tokenIds: [1, 2, 3], startPosition: 0, blockTable: [0], sample: true }], 4));
  assert.ok(out.sampleLogits.every(Number.isFinite));
  await assert.rejects(loadTsModel(dir, { numBlocks: 0, blockSize: 4, loadFormat: 'dummy' }), /numBlocks must be a positive integer/);
});

test('malformed batches get errors naming the problem', async () => {
  const dir = makeTestModel({ arch: 'qwen2', out: join(root, 'batch'), ...shape });
  const m = await loadTsModel(dir, { numBlocks: 4, blockSize: 4 });
  const good = () => buildStepBatch([{ tokenIds: [1, 2, 3, 4, 5], startPosition: 0, blockTable: [2, 3], sample: true }], 4);
  const slot = good();
  slot.slotMapping[4] = 0;
  assert.throws(() => m.forward(slot), /slotMapping 0 disagrees with the block table \(position 4 → slot 12\)/);
  const table = good();
  table.blockTables[1] = -1;
  assert.throws(() => m.forward(table), /KV position 4 falls in block-table entry 1, which holds -1/);
  const token = good();
  token.tokenIds[0] = 512;
  assert.throws(() => m.forward(token), /token id 512 .* outside the vocabulary \(0\.\.511\)/);
  const ctx = good();
  ctx.contextLens[0] = 3;
  assert.throws(() => m.forward(ctx), /row 0: contextLens 3 is shorter than its 5 new tokens/);
  const pos = good();
  pos.positions[4] = 7;
  assert.throws(() => m.forward(pos), /token 4 of row 0 has position 7, outside the row's context length 5/);
});
