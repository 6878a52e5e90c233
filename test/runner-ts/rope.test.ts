// RoPE against transformers' own tables (scripts/reference/hf_rope.py) at far positions, where Llama 3's frequency
// rescaling matters (the greedy replay stays below position ~60), and the rotate_half pairing of dimensions.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseModelConfig } from '../../src/loader/model-config.js';
import { resolveTestModelShape } from '../../src/models/make-test-model.js';
import { testConfigJson } from '../../src/models/test-model-config.js';
import { applyRope, ropeInverseFrequencies } from '../../src/runner/ts/rope.js';

interface RopeRecord {
  positions: number[];
  models: Record<string, { invFreq: number[]; cos: number[][]; sin: number[][] }>;
}
const record = JSON.parse(readFileSync('test/fixtures/reference/rope.json', 'utf8')) as RopeRecord;
const inputs = JSON.parse(readFileSync('test/fixtures/reference/inputs.json', 'utf8')) as { models: Array<{ arch: 'llama' | 'qwen3' }> };

for (const arch of ['llama', 'qwen3'] as const) {
  test(`${arch}: inverse frequencies and cos/sin equal transformers' up to position 131071`, () => {
    const spec = inputs.models.find((m) => m.arch === arch)!;
    const config = parseModelConfig(testConfigJson(resolveTestModelShape(spec)));
    const ref = record.models[arch]!;
    const inv = ropeInverseFrequencies(config.headDim, config.ropeTheta, config.ropeScaling);
    assert.equal(inv.length, ref.invFreq.length);
    assert.deepEqual([...inv], ref.invFreq, "inverse frequencies are bit-identical");
    // Rotating the unit vector e_i gives (cos, sin) of its angle in dimensions i and i + half.
    const half = config.headDim / 2;
    const cos = new Float64Array(half);
    const sin = new Float64Array(half);
    record.positions.forEach((pos, p) => {
      for (let i = 0; i < half; i++) {
        const x = new Float32Array(config.headDim);
        x[i] = 1;
        applyRope(x, 0, 1, config.headDim, pos, inv, cos, sin);
        assert.ok(Math.abs(x[i]! - ref.cos[p]![i]!) <= 1e-6, `${arch} pos ${pos} cos[${i}]`);
        assert.ok(Math.abs(x[i + half]! - ref.sin[p]![i]!) <= 1e-6, `${arch} pos ${pos} sin[${i}]`);
      }
    });
  });
}

test('llama3 scaling leaves high frequencies, divides low ones by the factor, and blends the band between', () => {
  const config = parseModelConfig(testConfigJson(resolveTestModelShape({ arch: 'llama' })));
  const plain = ropeInverseFrequencies(config.headDim, config.ropeTheta, { type: 'default' });
  const scaled = ropeInverseFrequencies(config.headDim, config.ropeTheta, config.ropeScaling);
  const kinds = [...plain].map((f, i) => {
    const ratio = scaled[i]! / f;
    return Math.abs(ratio - 1) < 1e-6 ? 'high' : Math.abs(ratio - 1 / 8) < 1e-6 ? 'low' : 'medium';
  });
  assert.ok(kinds.includes('high') && kinds.includes('low') && kinds.includes('medium'), kinds.join(','));
});
