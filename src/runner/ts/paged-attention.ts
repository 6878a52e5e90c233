// Causal GQA attention over the paged KV cache: the query token at position p of a row attends to that row's
// KV positions 0..p, found through its block table. Softmax in float64 (transformers uses fp32; both are exact
// to well under the reference tolerance).
import type { PagedKvCache } from './paged-kv-cache.js';

export interface AttentionShape {
  numHeads: number;
  numKvHeads: number;
  headDim: number;
}

/**
 * Cache slot of every KV position 0..contextLen-1 of one row, looked up once per step through its block table
 * (every layer and every query token of the row reads the same positions).
 */
export function rowSlotTable(
  blockTables: Int32Array,
  row: number,
  maxBlocksPerRow: number,
  contextLen: number,
  blockSize: number,
  numBlocks: number,
): Int32Array {
  const slots = new Int32Array(contextLen);
  for (let pos = 0; pos < contextLen; pos++) {
    const b = Math.floor(pos / blockSize);
    const block = b < maxBlocksPerRow ? blockTables[row * maxBlocksPerRow + b]! : -1;
    if (block < 0 || block >= numBlocks) {
      throw new Error(`row ${row}: KV position ${pos} falls in block-table entry ${b}, which holds ${block} (no valid block)`);
    }
    slots[pos] = block * blockSize + (pos % blockSize);
  }
  return slots;
}

/**
 * Attention output of one query token, all heads: q holds the token's query heads at qOff; `slots` is its row's
 * rowSlotTable; scores is scratch of at least position + 1 values.
 */
export function attendOneToken(
  cache: PagedKvCache,
  layer: number,
  shape: AttentionShape,
  q: Float32Array,
  qOff: number,
  position: number,
  slots: Int32Array,
  out: Float32Array,
  outOff: number,
  scores: Float64Array,
): void {
  const { numHeads, numKvHeads, headDim } = shape;
  const group = numHeads / numKvHeads;
  const scale = 1 / Math.sqrt(headDim);
  const keys = cache.keys[layer]!;
  const values = cache.values[layer]!;
  const width = cache.slotWidth;
  const n = position + 1;

  for (let h = 0; h < numHeads; h++) {
    const kvOff = Math.floor(h / group) * headDim;
    const qh = qOff + h * headDim;
    let max = -Infinity;
    for (let j = 0; j < n; j++) {
      const kBase = slots[j]! * width + kvOff;
      let dot = 0;
      for (let d = 0; d < headDim; d++) dot += q[qh + d]! * keys[kBase + d]!;
      const s = dot * scale;
      scores[j] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const e = Math.exp(scores[j]! - max);
      scores[j] = e;
      sum += e;
    }
    const oh = outOff + h * headDim;
    for (let d = 0; d < headDim; d++) out[oh + d] = 0;
    for (let j = 0; j < n; j++) {
      const p = scores[j]! / sum;
      const vBase = slots[j]! * width + kvOff;
      for (let d = 0; d < headDim; d++) out[oh + d] = out[oh + d]! + p * values[vBase + d]!;
    }
  }
}
