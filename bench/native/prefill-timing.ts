// One eager prefill step's time (best of 3 after a warm-up), as cuda-check and dtype-check measure it: `rows`
// prompts of `len` tokens from position 0, block size 16, each row's blocks 130 apart (room for 2,048 tokens).
import type { StepBatch } from '../../src/runner/batch.js';
import { buildStepBatch } from '../../src/runner/ts/step-batch-builder.js';

export function timePrefill(gpu: { forward(batch: StepBatch): unknown }, rows: number, len: number): number {
  const b = buildStepBatch(
    Array.from({ length: rows }, (_, r) => ({
      tokenIds: Array.from({ length: len }, (_, i) => (i * 13 + r) % 150000),
      startPosition: 0,
      blockTable: Array.from({ length: Math.ceil(len / 16) }, (_, i) => r * 130 + i),
      sample: true,
    })),
    16,
  );
  gpu.forward(b);
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    gpu.forward(b);
    times.push(performance.now() - t);
  }
  return Math.min(...times);
}
