// Builds a StepBatch from per-row descriptions. The engine has its own scheduler-driven builder; this one serves
// the reference helpers (greedyGenerate) and tests that drive a model directly.
import { defaultRowSampling } from '../sampler.js';
import type { RowSampling, StepBatch } from '../batch.js';

export interface BatchRowSpec {
  /** the new tokens of this row in this step */
  tokenIds: readonly number[];
  /** KV position of the first new token (= tokens already in the cache for this row) */
  startPosition: number;
  /** cache block ids of this row, in position order */
  blockTable: readonly number[];
  /** sample after the last token (false for a partial prefill chunk) */
  sample: boolean;
  /** also return logits for every new token */
  promptLogits?: boolean;
}

export function greedyRowSampling(promptTokenIds: ArrayLike<number> = [], outputTokenIds: ArrayLike<number> = []): RowSampling {
  return { ...defaultRowSampling(), outputIndex: outputTokenIds.length, promptTokenIds, outputTokenIds };
}

export function buildStepBatch(rows: readonly BatchRowSpec[], blockSize: number): StepBatch {
  const numTokens = rows.reduce((a, r) => a + r.tokenIds.length, 0);
  const maxBlocksPerRow = Math.max(1, ...rows.map((r) => r.blockTable.length));
  const tokenIds = new Int32Array(numTokens);
  const positions = new Int32Array(numTokens);
  const slotMapping = new Int32Array(numTokens);
  const queryStartLoc = new Int32Array(rows.length + 1);
  const contextLens = new Int32Array(rows.length);
  const blockTables = new Int32Array(rows.length * maxBlocksPerRow).fill(-1);
  const sampleRows: number[] = [];
  const promptLogitsRows = new Uint8Array(rows.length);
  let t = 0;
  rows.forEach((row, r) => {
    queryStartLoc[r] = t;
    blockTables.set(row.blockTable, r * maxBlocksPerRow);
    row.tokenIds.forEach((id, j) => {
      const pos = row.startPosition + j;
      const block = row.blockTable[Math.floor(pos / blockSize)];
      if (block === undefined) throw new Error(`row ${r}: position ${pos} needs more blocks than its block table has (${row.blockTable.length})`);
      tokenIds[t] = id;
      positions[t] = pos;
      slotMapping[t] = block * blockSize + (pos % blockSize);
      t++;
    });
    contextLens[r] = row.startPosition + row.tokenIds.length;
    if (row.sample) sampleRows.push(r);
    if (row.promptLogits) promptLogitsRows[r] = 1;
  });
  queryStartLoc[rows.length] = t;
  return {
    numTokens,
    tokenIds,
    positions,
    slotMapping,
    numRows: rows.length,
    queryStartLoc,
    contextLens,
    blockTables,
    maxBlocksPerRow,
    sampleRows: Int32Array.from(sampleRows),
    sampling: sampleRows.map(() => greedyRowSampling()),
    grammarBitmask: null,
    grammarRows: null,
    promptLogitsRows,
  };
}
