// Shared by the per-architecture replay tests: regenerates the test model from its recorded options (make-test-model
// is deterministic), runs the same greedy continuation through the ts backend's paged path, and checks it against
// the log-probabilities transformers recorded on the GPU machine (scripts/reference/hf_logprobs.py).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestModel, type MakeTestModelOptions } from '../../src/models/make-test-model.js';
import { greedyGenerate } from '../../src/runner/ts/greedy-generate.js';
import { loadTsModel } from '../../src/runner/ts/ts-model.js';

export const TOLERANCE = 1e-3;

interface RecordedPrompt {
  name: string;
  tokenIds: number[];
  generated: number[];
  topIds: number[][];
  topLogprobs: number[][];
}

export interface ReferenceRecord {
  arch: string;
  card: string;
  transformers: string;
  model: Omit<MakeTestModelOptions, 'out'>;
  steps: number;
  topK: number;
  prompts: RecordedPrompt[];
}

export function readReference(arch: string): ReferenceRecord {
  return JSON.parse(readFileSync(join('test/fixtures/reference', `${arch}.json`), 'utf8')) as ReferenceRecord;
}

export function logSoftmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) if (v > max) max = v;
  let sum = 0;
  for (const v of logits) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i]! - lse;
  return out;
}

export function topK(values: Float64Array, k: number): Array<{ id: number; value: number }> {
  const best: Array<{ id: number; value: number }> = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (best.length === k && v <= best[k - 1]!.value) continue;
    best.push({ id: i, value: v });
    best.sort((a, b) => b.value - a.value);
    if (best.length > k) best.pop();
  }
  return best;
}

/** replays every recorded prompt; returns the largest logprob difference seen */
export async function replayReference(arch: string): Promise<number> {
  const ref = readReference(arch);
  const dir = mkdtempSync(join(tmpdir(), `serval-ref-${arch}-`));
  let worst = 0;
  try {
    makeTestModel({ ...ref.model, out: dir, tokenizer: false });
    const maxLen = Math.max(...ref.prompts.map((p) => p.tokenIds.length)) + ref.steps;
    const blockSize = 16;
    const model = await loadTsModel(dir, { numBlocks: Math.ceil(maxLen / blockSize), blockSize });
    for (const prompt of ref.prompts) {
      const { tokenIds, stepLogits } = greedyGenerate(model, prompt.tokenIds, ref.steps);
      assert.deepEqual(tokenIds, prompt.generated, `${arch}/${prompt.name}: greedy tokens differ from transformers`);
      stepLogits.forEach((logits, step) => {
        const lp = logSoftmax(logits);
        const ours = topK(lp, ref.topK);
        prompt.topIds[step]!.forEach((id, j) => {
          const theirs = prompt.topLogprobs[step]![j]!;
          const diff = Math.abs(lp[id]! - theirs);
          worst = Math.max(worst, diff, Math.abs(ours[j]!.value - theirs));
          assert.ok(diff <= TOLERANCE, `${arch}/${prompt.name} step ${step}: token ${id} logprob ${lp[id]} vs transformers ${theirs}`);
          assert.ok(
            Math.abs(ours[j]!.value - theirs) <= TOLERANCE,
            `${arch}/${prompt.name} step ${step}: top-${j + 1} logprob ${ours[j]!.value} vs transformers ${theirs}`,
          );
        });
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return worst;
}
