// Flattens the scheduled rows into the backend's StepBatch and advances each row's computed-token count.
// Hot path (runs every step for up to maxNumSeqs rows): typed arrays, no per-token allocation.
import type { RowSampling, StepBatch } from '../runner/batch.js';
import type { Sequence } from './sequence.js';

export function buildStepBatch(rows: Sequence[], counts: number[], blockSize: number): { batch: StepBatch; sampleSeqs: Sequence[] } {
  const numRows = rows.length;
  let numTokens = 0;
  let maxBlocksPerRow = 0;
  for (let r = 0; r < numRows; r++) {
    numTokens += counts[r];
    if (rows[r].kv.blocks.length > maxBlocksPerRow) maxBlocksPerRow = rows[r].kv.blocks.length;
  }
  const tokenIds = new Int32Array(numTokens);
  const positions = new Int32Array(numTokens);
  const slotMapping = new Int32Array(numTokens);
  const queryStartLoc = new Int32Array(numRows + 1);
  const contextLens = new Int32Array(numRows);
  const blockTables = new Int32Array(numRows * maxBlocksPerRow).fill(-1);
  const sampleRowList: number[] = [];
  const sampling: RowSampling[] = [];
  const sampleSeqs: Sequence[] = [];
  let promptLogitsRows: Uint8Array | null = null;
  let promptLogprobs: StepBatch['promptLogprobs'] = null;

  let t = 0;
  for (let r = 0; r < numRows; r++) {
    const seq = rows[r];
    const n = counts[r];
    const start = seq.numComputedTokens;
    const blocks = seq.kv.blocks;
    queryStartLoc[r] = t;
    for (let j = 0; j < n; j++, t++) {
      const p = start + j;
      tokenIds[t] = seq.tokenIds[p];
      positions[t] = p;
      slotMapping[t] = blocks[(p / blockSize) | 0] * blockSize + (p % blockSize);
    }
    const end = start + n;
    contextLens[r] = end;
    for (let b = 0; b < blocks.length; b++) blockTables[r * maxBlocksPerRow + b] = blocks[b];
    if (end === seq.numTokens) {
      sampleRowList.push(r);
      sampling.push(seq.sampling);
      sampleSeqs.push(seq);
    }
    if (seq.sampling.promptLogprobs >= 0 && start < seq.promptLength) {
      promptLogitsRows ??= new Uint8Array(numRows);
      promptLogprobs ??= new Array(numRows).fill(null);
      promptLogitsRows[r] = 1;
      // query position p predicts token p + 1; the last prompt position predicts the (unknown) first output token
      const targets = new Int32Array(n);
      for (let j = 0; j < n; j++) targets[j] = start + j + 1 < seq.promptLength ? seq.tokenIds[start + j + 1] : -1;
      promptLogprobs[r] = { numLogprobs: seq.sampling.promptLogprobs, targetTokenIds: targets };
    }
    seq.numComputedTokens = end;
  }
  queryStartLoc[numRows] = t;
  const batch: StepBatch = {
    numTokens,
    tokenIds,
    positions,
    slotMapping,
    numRows,
    queryStartLoc,
    contextLens,
    blockTables,
    maxBlocksPerRow,
    sampleRows: Int32Array.from(sampleRowList),
    sampling,
    grammarBitmask: null,
    grammarRows: null,
    promptLogitsRows,
    promptLogprobs,
  };
  return { batch, sampleSeqs };
}
