import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadModelConfig, parseModelConfig } from '../../src/loader/model-config.js';
import { resolveTestModelShape } from '../../src/models/make-test-model.js';
import { testConfigJson, type TestArch } from '../../src/models/test-model-config.js';

const root = mkdtempSync(join(tmpdir(), 'serval-config-'));
after(() => rmSync(root, { recursive: true, force: true }));

function writeConfig(name: string, json: unknown): string {
  const dir = join(root, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(json));
  return dir;
}

function configFor(arch: TestArch, ropeStyle: 'old' | 'new') {
  return testConfigJson(resolveTestModelShape({ arch, ropeStyle }));
}

test('both rope styles give the same ModelConfig for every architecture', () => {
  for (const arch of ['qwen2', 'qwen3', 'llama', 'mistral'] as const) {
    const oldStyle = loadModelConfig(writeConfig(`${arch}-old`, configFor(arch, 'old')));
    const newStyle = loadModelConfig(writeConfig(`${arch}-new`, configFor(arch, 'new')));
    assert.deepEqual(newStyle, oldStyle, arch);
    assert.equal(oldStyle.dtype, 'bfloat16'); // torch_dtype (old) and dtype (new) both read
  }
});

test('Qwen2: qkv bias, tied embeddings, derived head_dim', () => {
  const c = parseModelConfig(configFor('qwen2', 'old'));
  assert.equal(c.architecture, 'Qwen2ForCausalLM');
  assert.equal(c.attentionBias, true);
  assert.equal(c.qkNorm, false);
  assert.equal(c.tieWordEmbeddings, true);
  assert.equal(c.ropeTheta, 1000000);
  assert.deepEqual(c.ropeScaling, { type: 'default' });
  assert.deepEqual(c.eosTokenIds, [151645]);
  assert.equal(c.bosTokenId, 151643);
});

test('Qwen3: q/k norm and an explicit head_dim unlike hidden / heads', () => {
  const c = parseModelConfig(configFor('qwen3', 'new'));
  assert.equal(c.qkNorm, true);
  assert.equal(c.attentionBias, false);
  assert.notEqual(c.headDim, c.hiddenSize / c.numHeads);
  assert.equal(c.headDim, 32);
});

test('Llama: untied, llama3 rope scaling from rope_scaling (old) and rope_parameters (new), "type" or "rope_type"', () => {
  const expected = { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 };
  const oldCfg = parseModelConfig(configFor('llama', 'old'));
  assert.equal(oldCfg.tieWordEmbeddings, false);
  assert.deepEqual(oldCfg.ropeScaling, expected);
  assert.equal(oldCfg.ropeTheta, 500000);
  const json = configFor('llama', 'old');
  json['rope_scaling'] = { type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 };
  assert.deepEqual(parseModelConfig(json).ropeScaling, expected);
  const newCfg = parseModelConfig(configFor('llama', 'new'));
  assert.deepEqual(newCfg.ropeScaling, expected);
  assert.equal(newCfg.ropeTheta, 500000);
});

test('Mistral parses; eos_token_id as a list; num_key_value_heads defaults to num_attention_heads', () => {
  const json = configFor('mistral', 'new');
  json['eos_token_id'] = [2, 7];
  delete json['num_key_value_heads'];
  const c = parseModelConfig(json);
  assert.equal(c.architecture, 'MistralForCausalLM');
  assert.deepEqual(c.eosTokenIds, [2, 7]);
  assert.equal(c.numKvHeads, c.numHeads);
});

test('missing config.json names the directory', () => {
  const dir = join(root, 'empty');
  mkdirSync(dir, { recursive: true });
  assert.throws(() => loadModelConfig(dir), /has no config\.json/);
});

test('unsupported architecture lists the supported ones', () => {
  const json = { ...configFor('llama', 'old'), architectures: ['GPT2LMHeadModel'] };
  assert.throws(
    () => loadModelConfig(writeConfig('gpt2', json)),
    /unsupported architecture GPT2LMHeadModel \(supported: Qwen2ForCausalLM, Qwen3ForCausalLM, LlamaForCausalLM, MistralForCausalLM\)/,
  );
});

test('missing required fields are named', () => {
  for (const field of ['hidden_size', 'num_hidden_layers', 'vocab_size', 'intermediate_size', 'num_attention_heads']) {
    const json = configFor('llama', 'old');
    delete json[field];
    assert.throws(() => parseModelConfig(json), new RegExp(`missing required field "${field}"`), field);
  }
  const qwen3 = configFor('qwen3', 'new');
  delete qwen3['head_dim'];
  assert.throws(() => parseModelConfig(qwen3), /missing required field "head_dim"/);
  const llama3 = configFor('llama', 'new');
  delete (llama3['rope_parameters'] as Record<string, unknown>)['factor'];
  assert.throws(() => parseModelConfig(llama3), /missing required field "factor"/);
});

test('bad values and unsupported features get errors naming them', () => {
  const bad = configFor('llama', 'old');
  bad['hidden_size'] = 'big';
  assert.throws(() => parseModelConfig(bad), /field "hidden_size" must be a number/);
  const yarn = configFor('llama', 'old');
  yarn['rope_scaling'] = { rope_type: 'yarn', factor: 4 };
  assert.throws(() => parseModelConfig(yarn), /rope type "yarn" is not supported \(supported: default, llama3\)/);
  const dtype = configFor('qwen2', 'new');
  dtype['dtype'] = 'float8_e4m3fn';
  assert.throws(() => parseModelConfig(dtype), /unsupported dtype "float8_e4m3fn"/);
  const window = configFor('mistral', 'old');
  window['sliding_window'] = 4096;
  assert.throws(() => parseModelConfig(window), /sliding_window attention \(4096 tokens\) is not supported/);
  const heads = configFor('qwen2', 'old');
  heads['num_key_value_heads'] = 3;
  assert.throws(() => parseModelConfig(heads), /must be a multiple of num_key_value_heads/);
  assert.throws(() => loadModelConfig(writeConfig('broken', 'not json')), /expected a JSON object/);
});

test('published-style configs: Qwen2.5 (rope_scaling null, unused sliding window) and Llama 3.2 (tied, llama3)', () => {
  const qwen25 = parseModelConfig({
    architectures: ['Qwen2ForCausalLM'], attention_dropout: 0.0, bos_token_id: 151643, eos_token_id: 151645, hidden_act: 'silu',
    hidden_size: 896, initializer_range: 0.02, intermediate_size: 4864, max_position_embeddings: 32768, max_window_layers: 21,
    model_type: 'qwen2', num_attention_heads: 14, num_hidden_layers: 24, num_key_value_heads: 2, rms_norm_eps: 1e-6,
    rope_scaling: null, rope_theta: 1000000.0, sliding_window: 32768, tie_word_embeddings: true, torch_dtype: 'bfloat16',
    transformers_version: '4.43.1', use_cache: true, use_sliding_window: false, vocab_size: 151936,
  });
  assert.equal(qwen25.headDim, 64);
  assert.equal(qwen25.numKvHeads, 2);
  assert.deepEqual(qwen25.ropeScaling, { type: 'default' });
  assert.equal(qwen25.attentionBias, true);
  const llama32 = parseModelConfig({
    architectures: ['LlamaForCausalLM'], attention_bias: false, bos_token_id: 128000, eos_token_id: [128001, 128008, 128009],
    head_dim: 64, hidden_size: 2048, intermediate_size: 8192, max_position_embeddings: 131072, mlp_bias: false,
    model_type: 'llama', num_attention_heads: 32, num_hidden_layers: 16, num_key_value_heads: 8, rms_norm_eps: 1e-5,
    rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
    rope_theta: 500000.0, tie_word_embeddings: true, torch_dtype: 'bfloat16', vocab_size: 128256,
  });
  assert.equal(llama32.tieWordEmbeddings, true);
  assert.equal(llama32.rmsNormEps, 1e-5);
  assert.deepEqual(llama32.eosTokenIds, [128001, 128008, 128009]);
  assert.equal(llama32.ropeScaling.type === 'llama3' && llama32.ropeScaling.factor, 32);
});
