import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadModelConfig } from '../../src/loader/model-config.js';
import { DEMO_MODEL_VERSION, ensureDemoModel } from '../../src/models/demo-model.js';
import { QWEN_TOKENIZER_VOCAB } from '../../src/models/make-test-model.js';
import { greedyGenerate } from '../../src/runner/ts/greedy-generate.js';
import { loadTsModel } from '../../src/runner/ts/ts-model.js';

const cache = mkdtempSync(join(tmpdir(), 'serval-cache-'));
const previous = process.env['SERVAL_CACHE'];
after(() => {
  if (previous === undefined) delete process.env['SERVAL_CACHE'];
  else process.env['SERVAL_CACHE'] = previous;
  rmSync(cache, { recursive: true, force: true });
});

test('demo model is built once under $SERVAL_CACHE and reused', async () => {
  process.env['SERVAL_CACHE'] = cache;
  const dir = await ensureDemoModel();
  assert.equal(dir, join(cache, DEMO_MODEL_VERSION));
  assert.equal(loadModelConfig(dir).architecture, 'Qwen3ForCausalLM');
  // No temp folder left behind.
  assert.deepEqual(readdirSync(cache), [DEMO_MODEL_VERSION]);
  const before = statSync(join(dir, 'model.safetensors')).mtimeMs;
  assert.equal(await ensureDemoModel(), dir);
  assert.equal(statSync(join(dir, 'model.safetensors')).mtimeMs, before);
  // It runs, and never produces the padding ids past the tokenizer's vocabulary.
  const model = await loadTsModel(dir, { numBlocks: 4, blockSize: 16 });
  const { tokenIds } = greedyGenerate(model, [9707, 11, 1879, 0], 8);
  assert.equal(new Set(tokenIds).size > 1, true);
  assert.ok(tokenIds.every((id) => id >= 0 && id < QWEN_TOKENIZER_VOCAB));
});
