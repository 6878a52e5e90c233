import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundledQwen3TokenizerDir, loadBenchTokenizer } from '../../src/benchmarks/bench-tokenizer.js';
import { sampleDataset, type DatasetOptions } from '../../src/benchmarks/datasets/load-dataset.js';
import { CPE_INSTRUCTION_PREFIX, CPE_SCHEMA } from '../../src/benchmarks/datasets/cpe-dataset.js';
import { SeededRandom } from '../../src/benchmarks/rng.js';

const tok = loadBenchTokenizer(bundledQwen3TokenizerDir());
const base: DatasetOptions = { dataset: 'random', numPrompts: 20, randomInputLen: 64, randomOutputLen: 16, randomPrefixLen: 0, randomRangeRatio: 0, outputLen: 32 };

test('random dataset: prompts re-encode to the exact requested length; same seed, same prompts', () => {
  const a = sampleDataset(base, tok, new SeededRandom(0));
  assert.equal(a.length, 20);
  for (const r of a) {
    assert.equal(tok.encode(r.prompt).length, 64);
    assert.equal(r.promptLen, 64);
    assert.equal(r.expectedOutputLen, 16);
  }
  assert.deepEqual(sampleDataset(base, tok, new SeededRandom(0)), a);
  assert.notDeepEqual(sampleDataset(base, tok, new SeededRandom(1))[0], a[0]);
});

test('random dataset: shared prefix and range ratio', () => {
  const r = sampleDataset({ ...base, randomPrefixLen: 32, randomRangeRatio: 0.5 }, tok, new SeededRandom(3));
  const inLens = r.map((x) => x.promptLen - 32);
  const outLens = r.map((x) => x.expectedOutputLen);
  for (const l of inLens) assert.ok(l >= 32 && l <= 96, `input len ${l}`);
  for (const l of outLens) assert.ok(l >= 8 && l <= 24, `output len ${l}`);
  assert.ok(new Set(outLens).size > 1, 'lengths vary');
  // the prefix is the same tokens for everyone: the first characters agree
  const head = r[0]!.prompt.slice(0, 20);
  for (const x of r) assert.equal(x.prompt.slice(0, 20), head);
  assert.throws(() => sampleDataset({ ...base, randomRangeRatio: 1 }, tok, new SeededRandom(0)), /random-range-ratio/);
});

test('cpe dataset: shared instruction prefix, English and Chinese reports, schema', () => {
  const r = sampleDataset({ ...base, dataset: 'cpe', numPrompts: 40 }, tok, new SeededRandom(5));
  assert.equal(r.length, 40);
  for (const x of r) {
    assert.ok(x.prompt.startsWith(CPE_INSTRUCTION_PREFIX));
    assert.ok(x.prompt.length > CPE_INSTRUCTION_PREFIX.length + 50);
    assert.equal(x.promptLen, tok.encode(x.prompt).length);
    assert.equal(x.expectedOutputLen, 32);
  }
  const reports = r.map((x) => x.prompt.slice(CPE_INSTRUCTION_PREFIX.length));
  assert.ok(reports.some((t) => /[\u4e00-\u9fff]{4}/.test(t) && t.includes('漏洞')), 'some Chinese reports');
  assert.ok(reports.some((t) => /vulnerability|advisory|exploitation/i.test(t)), 'some English reports');
  assert.ok(new Set(reports).size > 30, 'reports differ');
  assert.deepEqual(CPE_SCHEMA, { type: 'object', properties: { cpe: { type: 'array', items: { type: 'string' } } }, required: ['cpe'] });
});

test('jsonl dataset: prompt + optional output_tokens; bad lines name the line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'serval-jsonl-'));
  const good = join(dir, 'good.jsonl');
  writeFileSync(good, '{"prompt": "hello there", "output_tokens": 5}\n\n{"prompt": "second"}\n');
  const r = sampleDataset({ ...base, dataset: 'jsonl', datasetPath: good, numPrompts: 2 }, tok, new SeededRandom(0));
  assert.deepEqual(r.map((x) => [x.prompt, x.expectedOutputLen, x.promptLen]), [['hello there', 5, 2], ['second', 32, 1]]);
  assert.throws(() => sampleDataset({ ...base, dataset: 'jsonl', datasetPath: good, numPrompts: 3 }, tok, new SeededRandom(0)), /fewer than --num-prompts 3/);
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, '{"prompt": "ok"}\n{"prompt": 3}\n');
  assert.throws(() => sampleDataset({ ...base, dataset: 'jsonl', datasetPath: bad, numPrompts: 2 }, tok, new SeededRandom(0)), /bad\.jsonl:2: field "prompt"/);
  assert.throws(() => sampleDataset({ ...base, dataset: 'jsonl', numPrompts: 2 }, tok, new SeededRandom(0)), /--dataset-path/);
});
