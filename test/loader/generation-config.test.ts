import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadGenerationConfig } from '../../src/loader/generation-config.js';

const dir = mkdtempSync(join(tmpdir(), 'serval-genconfig-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('no generation_config.json → null', () => {
  assert.equal(loadGenerationConfig(dir), null);
});

test('sampling defaults and a list of EOS ids', () => {
  writeFileSync(
    join(dir, 'generation_config.json'),
    JSON.stringify({ do_sample: true, temperature: 0.7, top_p: 0.8, top_k: 20, min_p: 0.05, repetition_penalty: 1.05, max_new_tokens: 512, eos_token_id: [151645, 151643] }),
  );
  assert.deepEqual(loadGenerationConfig(dir), {
    temperature: 0.7, topP: 0.8, topK: 20, minP: 0.05, repetitionPenalty: 1.05, maxNewTokens: 512, eosTokenIds: [151645, 151643],
  });
});

test('a single EOS id and absent fields stay absent', () => {
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: 2 }));
  assert.deepEqual(loadGenerationConfig(dir), { eosTokenIds: [2] });
});

test('bad fields are named', () => {
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ temperature: 'hot' }));
  assert.throws(() => loadGenerationConfig(dir), /field "temperature" must be a number/);
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: ['x'] }));
  assert.throws(() => loadGenerationConfig(dir), /field "eos_token_id" must be a token id or a list of token ids/);
});
