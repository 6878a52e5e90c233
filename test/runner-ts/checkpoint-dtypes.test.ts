// The same weights stored as bf16, f32 or f16 load into the same fp32 model.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { float32ToBytes, type StorageDtype } from '../../src/loader/dtype-convert.js';
import { Checkpoint } from '../../src/loader/safetensors.js';
import { writeSafetensors } from '../../src/loader/safetensors-writer.js';
import { makeTestModel } from '../../src/models/make-test-model.js';
import { buildStepBatch } from '../../src/runner/ts/step-batch-builder.js';
import { loadTsModel } from '../../src/runner/ts/ts-model.js';

const root = mkdtempSync(join(tmpdir(), 'serval-dtypes-'));
after(() => rmSync(root, { recursive: true, force: true }));

function convertCopy(src: string, dtype: StorageDtype): string {
  const dst = join(root, dtype);
  mkdirSync(dst, { recursive: true });
  copyFileSync(join(src, 'config.json'), join(dst, 'config.json'));
  const ckpt = Checkpoint.open(src);
  const tensors = ckpt.names().map((name) => {
    const values = ckpt.readFloat32(name);
    return { name, dtype, shape: ckpt.location(name).shape, bytes: () => float32ToBytes(dtype, values) };
  });
  writeSafetensors(join(dst, 'model.safetensors'), tensors);
  ckpt.close();
  return dst;
}

test('bf16, f32 and f16 checkpoints of one model give the same logits', async () => {
  const bf16 = makeTestModel({ arch: 'qwen3', out: join(root, 'bf16'), hidden: 32, layers: 2, vocabSize: 512, seed: 4, tokenizer: false });
  const batch = () => buildStepBatch([{ tokenIds: [3, 1, 4, 1, 5, 9, 2, 6], startPosition: 0, blockTable: [0, 1], sample: true }], 4);
  const logits = async (dir: string) => (await loadTsModel(dir, { numBlocks: 2, blockSize: 4 })).forward(batch()).sampleLogits;
  const reference = await logits(bf16);
  // bf16 → f32 is exact.
  assert.deepEqual(await logits(convertCopy(bf16, 'F32')), reference);
  // bf16 → f16 keeps every value of this model's range except the tiniest (f16 subnormals): nearly equal.
  const f16 = await logits(convertCopy(bf16, 'F16'));
  const worst = f16.reduce((m, v, i) => Math.max(m, Math.abs(v - reference[i]!)), 0);
  assert.ok(worst < 1e-3, `f16 logits differ by ${worst}`);
});
