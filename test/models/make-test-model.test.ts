import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadGenerationConfig } from '../../src/loader/generation-config.js';
import { loadModelConfig } from '../../src/loader/model-config.js';
import { Checkpoint } from '../../src/loader/safetensors.js';
import { makeTestModel, QWEN_TOKENIZER_VOCAB } from '../../src/models/make-test-model.js';
import { weightLayout } from '../../src/models/weight-layout.js';

const root = mkdtempSync(join(tmpdir(), 'serval-mtm-'));
after(() => rmSync(root, { recursive: true, force: true }));
const small = { hidden: 32, layers: 2, vocabSize: 2048 };

function readAll(dir: string): Map<string, Float32Array> {
  const ckpt = Checkpoint.open(dir);
  try {
    return new Map(ckpt.names().map((n) => [n, ckpt.readFloat32(n)]));
  } finally {
    ckpt.close();
  }
}

test('same options → byte-identical files; another seed → different weights', () => {
  const a = makeTestModel({ arch: 'qwen3', out: join(root, 'a'), seed: 5, ...small, tokenizer: false });
  const b = makeTestModel({ arch: 'qwen3', out: join(root, 'b'), seed: 5, ...small, tokenizer: false });
  const c = makeTestModel({ arch: 'qwen3', out: join(root, 'c'), seed: 6, ...small, tokenizer: false });
  for (const f of ['config.json', 'generation_config.json', 'model.safetensors']) {
    assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), f);
  }
  assert.ok(!readFileSync(join(a, 'model.safetensors')).equals(readFileSync(join(c, 'model.safetensors'))));
});

test('sharded output holds exactly the tensors of the single-file output', () => {
  const single = makeTestModel({ arch: 'llama', out: join(root, 'single'), seed: 1, ...small, tokenizer: false });
  const sharded = makeTestModel({ arch: 'llama', out: join(root, 'sharded'), seed: 1, shards: 3, ...small, tokenizer: false });
  const shardFiles = readdirSync(sharded).filter((f) => f.endsWith('.safetensors')).sort();
  assert.deepEqual(shardFiles, ['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors']);
  assert.ok(existsSync(join(sharded, 'model.safetensors.index.json')));
  const a = readAll(single);
  const b = readAll(sharded);
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
  for (const [name, t] of a) assert.deepEqual(b.get(name), t, name);
  // Rewriting the folder as a single file removes the old shards and index (they would shadow it).
  makeTestModel({ arch: 'llama', out: sharded, seed: 2, ...small, tokenizer: false });
  assert.deepEqual(readdirSync(sharded).filter((f) => f.startsWith('model')), ['model.safetensors']);
});

test('per-architecture defaults: qwen2 bias+tied, qwen3 q/k norm with its own head_dim, llama3 rope, untied llama/mistral', () => {
  const cfg = (arch: 'qwen2' | 'qwen3' | 'llama' | 'mistral') =>
    loadModelConfig(makeTestModel({ arch, out: join(root, `d-${arch}`), ...small, tokenizer: false }));
  const q2 = cfg('qwen2');
  assert.equal(q2.attentionBias, true);
  assert.equal(q2.tieWordEmbeddings, true);
  const q3 = cfg('qwen3');
  assert.equal(q3.qkNorm, true);
  assert.notEqual(q3.headDim, q3.hiddenSize / q3.numHeads);
  const ll = cfg('llama');
  assert.equal(ll.ropeScaling.type, 'llama3');
  assert.equal(ll.tieWordEmbeddings, false);
  assert.equal(cfg('mistral').tieWordEmbeddings, false);
  // The checkpoint holds exactly the layout's tensors (lm_head only when untied).
  for (const [arch, config] of [['qwen2', q2], ['qwen3', q3], ['llama', ll]] as const) {
    const names = readAll(join(root, `d-${arch}`));
    assert.deepEqual([...names.keys()].sort(), weightLayout(config).map((s) => s.name).sort(), arch);
  }
});

test('real vocabulary: tokenizer files copied, embedding padded to 151936 with zero rows past the tokenizer', () => {
  const dir = makeTestModel({ arch: 'qwen2', out: join(root, 'vocab'), hidden: 16, heads: 2, layers: 1 });
  const tok = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } };
  assert.ok(Object.keys(tok.model.vocab).length > 150000);
  assert.ok(existsSync(join(dir, 'tokenizer_config.json')));
  const config = loadModelConfig(dir);
  assert.equal(config.vocabSize, 151936);
  const embed = readAll(dir).get('model.embed_tokens.weight')!;
  const row = (id: number) => embed.subarray(id * 16, (id + 1) * 16);
  assert.ok(row(QWEN_TOKENIZER_VOCAB - 1).some((v) => v !== 0));
  assert.ok(row(QWEN_TOKENIZER_VOCAB).every((v) => v === 0));
  assert.deepEqual(loadGenerationConfig(dir)?.eosTokenIds, [151645, 151643]);
});

test('bad shapes get clear errors', () => {
  assert.throws(() => makeTestModel({ arch: 'llama', out: join(root, 'bad'), heads: 4, kvHeads: 3, ...small }), /multiple of num_key_value_heads/);
  assert.throws(() => makeTestModel({ arch: 'gpt2' as never, out: join(root, 'bad2') }), /unknown test-model arch "gpt2" \(supported: qwen2, qwen3, llama, mistral\)/);
});

test('CLI: serval make-test-model writes a sharded model with the requested shape', () => {
  const out = join(root, 'cli');
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'make-test-model', '--arch', 'mistral', '--out', out, '--hidden', '32', '--layers', '1',
      '--heads', '4', '--kv-heads', '1', '--vocab-size', '1024', '--shards', '2', '--seed', '3', '--rope-style', 'old'],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const config = loadModelConfig(out);
  assert.equal(config.architecture, 'MistralForCausalLM');
  assert.equal(config.numKvHeads, 1);
  assert.equal(config.vocabSize, 1024);
  assert.ok('rope_theta' in JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')));
  assert.ok(existsSync(join(out, 'model-00002-of-00002.safetensors')));
  const bad = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'make-test-model', '--arch', 'gpt2', '--out', out], { encoding: 'utf8' });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /Allowed choices are qwen2, qwen3, llama, mistral/);
});
