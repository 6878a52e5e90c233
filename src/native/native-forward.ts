// StepBatch → native forward → ForwardOutput (the ts model's contract): chooses which tokens need logits (the last
// token of every sample row, then every query token of rows that asked for prompt logits) and splits the result.
import type { StepBatch } from '../runner/batch.js';
import type { ForwardOutput } from '../runner/ts/ts-model.js';
import type { NativeForwardBatch, NativeForwardModel } from './addon.js';

export interface LogitLayout {
  /** flat token indices, in output order */
  tokenIndices: Int32Array;
  /** per batch row: index of its first prompt-logit row in the output, or -1 */
  promptStart: Int32Array;
}

export function logitLayout(batch: StepBatch): LogitLayout {
  const wanted: number[] = [];
  for (const r of batch.sampleRows) {
    const end = batch.queryStartLoc[r + 1]!;
    if (end <= batch.queryStartLoc[r]!) throw new Error(`native forward: sample row ${r} has no tokens this step`);
    wanted.push(end - 1);
  }
  const promptStart = new Int32Array(batch.numRows).fill(-1);
  for (let r = 0; r < batch.numRows; r++) {
    if (batch.promptLogitsRows?.[r] !== 1) continue;
    promptStart[r] = wanted.length;
    for (let t = batch.queryStartLoc[r]!; t < batch.queryStartLoc[r + 1]!; t++) wanted.push(t);
  }
  return { tokenIndices: Int32Array.from(wanted), promptStart };
}

export function toNativeBatch(batch: StepBatch, logitTokenIndices: Int32Array): NativeForwardBatch {
  return {
    numTokens: batch.numTokens,
    tokenIds: batch.tokenIds,
    positions: batch.positions,
    slotMapping: batch.slotMapping,
    numRows: batch.numRows,
    queryStartLoc: batch.queryStartLoc,
    contextLens: batch.contextLens,
    blockTables: batch.blockTables,
    maxBlocksPerRow: batch.maxBlocksPerRow,
    logitTokenIndices,
  };
}

/** Runs the native forward for a StepBatch and returns logits shaped like the ts model's ForwardOutput. */
export function nativeForward(model: NativeForwardModel, batch: StepBatch, vocabSize: number): ForwardOutput {
  const layout = logitLayout(batch);
  return splitLogits(model.forward(toNativeBatch(batch, layout.tokenIndices)), layout, batch, vocabSize);
}

/** nativeForward on the addon's worker thread: the event loop keeps running while the model computes. */
export async function nativeForwardAsync(model: NativeForwardModel, batch: StepBatch, vocabSize: number): Promise<ForwardOutput> {
  const layout = logitLayout(batch);
  return splitLogits(await model.forwardAsync(toNativeBatch(batch, layout.tokenIndices)), layout, batch, vocabSize);
}

function splitLogits(all: Float32Array, layout: LogitLayout, batch: StepBatch, vocabSize: number): ForwardOutput {
  const nSample = batch.sampleRows.length;
  const sampleLogits = all.subarray(0, nSample * vocabSize);
  const promptLogits: Array<Float32Array | null> = [];
  for (let r = 0; r < batch.numRows; r++) {
    const start = layout.promptStart[r]!;
    if (start < 0) {
      promptLogits.push(null);
      continue;
    }
    const n = batch.queryStartLoc[r + 1]! - batch.queryStartLoc[r]!;
    promptLogits.push(all.subarray(start * vocabSize, (start + n) * vocabSize));
  }
  return { sampleLogits, promptLogits };
}
