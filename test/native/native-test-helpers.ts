// Shared by the native backend tests: test models of the four architectures and a batch script that covers
// chunked prefill, prefix-cached context, mixed prefill+decode steps, prompt logits and non-contiguous blocks.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestModel } from '../../src/models/make-test-model.js';
import type { TestArch } from '../../src/models/test-model-config.js';
import type { StepBatch } from '../../src/runner/batch.js';
import { buildStepBatch, type BatchRowSpec } from '../../src/runner/ts/step-batch-builder.js';
import { NativeCudaForwardModel, type CudaModelOptions } from '../../src/native/cuda-backend.js';

export const NATIVE_TEST_BLOCK_SIZE = 4;
export const NATIVE_TEST_NUM_BLOCKS = 32;

export function makeNativeTestModel(arch: TestArch, vocabSize = 4096): string {
  const dir = mkdtempSync(join(tmpdir(), `serval-native-${arch}-`));
  return makeTestModel({ arch, out: dir, vocabSize, seed: 7, tokenizer: false });
}

function tokens(n: number, seed: number, vocab: number): number[] {
  return Array.from({ length: n }, (_, i) => (seed * 7919 + i * 104729) % vocab);
}

/**
 * A fixed sequence of steps over two sequences: A (11-token prompt, prefilled in chunks of 6 and 5) and B
 * (7-token prompt), then decode steps for both in one batch. Blocks are deliberately out of order.
 */
export function scriptedSteps(vocab: number): StepBatch[] {
  const bs = NATIVE_TEST_BLOCK_SIZE;
  const blocksA = [5, 2, 9, 0, 13];
  const blocksB = [7, 1, 11, 3];
  const promptA = tokens(11, 1, vocab);
  const promptB = tokens(7, 2, vocab);
  const steps: BatchRowSpec[][] = [
    [{ tokenIds: promptA.slice(0, 6), startPosition: 0, blockTable: blocksA, sample: false, promptLogits: true }],
    [
      { tokenIds: promptA.slice(6), startPosition: 6, blockTable: blocksA, sample: true },
      { tokenIds: promptB, startPosition: 0, blockTable: blocksB, sample: true, promptLogits: true },
    ],
  ];
  let posA = 11;
  let posB = 7;
  for (let i = 0; i < 4; i++) {
    steps.push([
      { tokenIds: [(101 + i * 13) % vocab], startPosition: posA++, blockTable: blocksA, sample: true },
      { tokenIds: [(202 + i * 17) % vocab], startPosition: posB++, blockTable: blocksB, sample: true },
    ]);
  }
  return steps.map((rows) => buildStepBatch(rows, bs));
}

/** max |a - b| over two logit arrays of equal length */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

/** a CUDA model three ways for the attention tests: eager, replaying CUDA graphs, and eager on the legacy kernels */
export function loadAttentionVariants(dir: string, opts: CudaModelOptions): { eager: NativeCudaForwardModel; graphs: NativeCudaForwardModel; legacy: NativeCudaForwardModel; close(): void } {
  const eager = NativeCudaForwardModel.load(dir, { ...opts, enforceEager: true });
  const graphs = NativeCudaForwardModel.load(dir, opts);
  process.env['SERVAL_ATTENTION'] = 'legacy';
  let legacy: NativeCudaForwardModel;
  try {
    legacy = NativeCudaForwardModel.load(dir, { ...opts, enforceEager: true });
  } finally {
    delete process.env['SERVAL_ATTENTION'];
  }
  return {
    eager,
    graphs,
    legacy,
    close: () => {
      eager.close();
      graphs.close();
      legacy.close();
    },
  };
}
