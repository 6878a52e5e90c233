// The GPU throughput harness (bench/gpu/throughput-run.ts) checked on the ts backend with a tiny model: both runs
// (plain and under the cpe schema, ignore_eos — past the grammar's end, as in vLLM) finish with exactly the requested output tokens, and the shared
// prefix is served from the prefix cache (a 64-token budget puts the prompts in different steps: blocks are cached
// only after the step that computed them). The speed itself is measured on the GPU machine only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestModel } from '../../src/models/make-test-model.js';
import { runGpuThroughput } from '../../bench/gpu/throughput-run.js';

test('throughput harness: plain and guided runs produce every output token and hit the shared prefix', async () => {
  const modelDir = makeTestModel({ arch: 'qwen2', out: mkdtempSync(join(tmpdir(), 'serval-tp-')), hidden: 32, layers: 1, heads: 2, kvHeads: 1, seed: 4 });
  const workload = { promptLen: 48, sharedPrefixLen: 32, outputLen: 24 };
  const n = 6;
  // greedy + schema: the JSON closes within 24 tokens on this model, so ignore_eos runs on past the grammar's EOS
  const specs = [{ numRequests: n, temperature: 0, guided: false }, { numRequests: n, temperature: 0, guided: true }, { numRequests: n, temperature: 1, guided: true }];
  const r = await runGpuThroughput({ modelDir, device: 'ts' }, workload, specs, { maxNumSeqs: 8, maxNumBatchedTokens: 64, gpuMemoryUtilization: 0.9 }, () => {});
  assert.deepEqual(r.runs.map((x) => [x.guided, x.temperature]), [[false, 0], [true, 0], [true, 1]]);
  for (const run of r.runs) {
    assert.equal(run.error, undefined, run.error);
    assert.equal(run.total_output_tokens, n * workload.outputLen);
    assert.ok(run.output_tokens_per_second > 0);
    assert.ok(run.prefixCacheHitRate > 0, 'the 32 shared prompt tokens must come from the prefix cache');
  }
});
