// Greedy decoding straight through the model's paged path (prefill, then one token per step), for tests and
// reference comparisons. Uses blocks 0, 1, 2, ... of the model's cache.
import { buildStepBatch } from './step-batch-builder.js';
import type { TsModel } from './ts-model.js';

export interface GreedyResult {
  tokenIds: number[];
  /** logits [vocab] that chose tokenIds[i] */
  stepLogits: Float32Array[];
}

export function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

export function greedyGenerate(model: TsModel, promptIds: readonly number[], n: number): GreedyResult {
  if (promptIds.length === 0) throw new Error('greedyGenerate needs at least one prompt token');
  const total = promptIds.length + n;
  const blocksNeeded = Math.ceil(total / model.blockSize);
  if (blocksNeeded > model.numBlocks) {
    throw new Error(`greedyGenerate: ${total} tokens need ${blocksNeeded} blocks of ${model.blockSize}, the cache has ${model.numBlocks}`);
  }
  const blockTable = Array.from({ length: blocksNeeded }, (_, i) => i);
  const tokenIds: number[] = [];
  const stepLogits: Float32Array[] = [];
  let pending: readonly number[] = promptIds;
  let start = 0;
  for (let step = 0; step < n; step++) {
    const batch = buildStepBatch([{ tokenIds: pending, startPosition: start, blockTable, sample: true }], model.blockSize);
    const logits = model.forward(batch).sampleLogits;
    const next = argmax(logits);
    tokenIds.push(next);
    stepLogits.push(logits);
    start += pending.length;
    pending = [next];
  }
  return { tokenIds, stepLogits };
}
