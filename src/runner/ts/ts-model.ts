// The `ts` reference model: a readable fp32 forward pass over a paged KV cache. It is the numerical oracle that
// every faster backend is checked against (and it is itself checked against transformers, test/runner-ts).
import type { ModelConfig } from '../../loader/model-config-types.js';
import { loadModelConfig } from '../../loader/model-config.js';
import type { StepBatch } from '../batch.js';
import { addInPlace, linear, rmsNorm, swiGlu } from './math.js';
import { attendOneToken, rowSlotTable } from './paged-attention.js';
import { PagedKvCache } from './paged-kv-cache.js';
import { applyRope, ropeInverseFrequencies } from './rope.js';
import { loadTsWeights, type LoadFormat, type TsWeights } from './ts-weights.js';

export interface ForwardOutput {
  /** [batch.sampleRows.length, vocabSize]: row i = logits after the last token of row batch.sampleRows[i] */
  sampleLogits: Float32Array;
  /** per batch row: [numQueryTokens, vocabSize] when batch.promptLogitsRows?.[row] === 1, else null */
  promptLogits: Array<Float32Array | null>;
}

export interface TsModel {
  config: ModelConfig;
  vocabSize: number;
  numBlocks: number;
  blockSize: number;
  kvBytesPerBlock: number;
  forward(batch: StepBatch): ForwardOutput;
}

export interface LoadTsModelOptions {
  numBlocks: number;
  blockSize: number;
  loadFormat?: LoadFormat;
}

export async function loadTsModel(dir: string, opts: LoadTsModelOptions): Promise<TsModel> {
  const config = loadModelConfig(dir);
  const weights = loadTsWeights(dir, config, opts.loadFormat ?? 'auto');
  return new ReferenceModel(config, weights, opts.numBlocks, opts.blockSize);
}

export class ReferenceModel implements TsModel {
  readonly vocabSize: number;
  readonly kvBytesPerBlock: number;
  private readonly cache: PagedKvCache;
  private readonly invFreq: Float64Array;

  constructor(
    readonly config: ModelConfig,
    private readonly weights: TsWeights,
    readonly numBlocks: number,
    readonly blockSize: number,
  ) {
    this.vocabSize = config.vocabSize;
    this.cache = new PagedKvCache(config.numLayers, numBlocks, blockSize, config.numKvHeads, config.headDim);
    this.kvBytesPerBlock = PagedKvCache.bytesPerBlock(config.numLayers, blockSize, config.numKvHeads, config.headDim);
    this.invFreq = ropeInverseFrequencies(config.headDim, config.ropeTheta, config.ropeScaling);
  }

  forward(batch: StepBatch): ForwardOutput {
    const rowSlots = this.validateAndMapSlots(batch);
    const c = this.config;
    const T = batch.numTokens;
    const H = c.hiddenSize;
    const qWidth = c.numHeads * c.headDim;
    const kvWidth = c.numKvHeads * c.headDim;
    const rowOfToken = this.rowOfToken(batch);

    const x = this.embed(batch.tokenIds.subarray(0, T));
    const normed = new Float32Array(T * H);
    const q = new Float32Array(T * qWidth);
    const k = new Float32Array(T * kvWidth);
    const v = new Float32Array(T * kvWidth);
    const attn = new Float32Array(T * qWidth);
    const proj = new Float32Array(T * H);
    const gate = new Float32Array(T * c.intermediateSize);
    const up = new Float32Array(T * c.intermediateSize);
    const maxPos = batch.positions.subarray(0, T).reduce((m, p) => Math.max(m, p), 0);
    const scores = new Float64Array(maxPos + 1);
    const cos = new Float64Array(c.headDim / 2);
    const sin = new Float64Array(c.headDim / 2);

    for (let l = 0; l < c.numLayers; l++) {
      const w = this.weights.layers[l]!;
      // Attention block.
      rmsNorm(x, T, H, w.inputNorm, c.rmsNormEps, normed);
      linear(normed, T, w.qProj, w.qBias, H, qWidth, q);
      linear(normed, T, w.kProj, w.kBias, H, kvWidth, k);
      linear(normed, T, w.vProj, w.vBias, H, kvWidth, v);
      if (w.qNorm && w.kNorm) {
        // Qwen3 normalizes each head of q and k before RoPE.
        rmsNorm(q, T * c.numHeads, c.headDim, w.qNorm, c.rmsNormEps, q);
        rmsNorm(k, T * c.numKvHeads, c.headDim, w.kNorm, c.rmsNormEps, k);
      }
      for (let t = 0; t < T; t++) {
        const pos = batch.positions[t]!;
        applyRope(q, t * qWidth, c.numHeads, c.headDim, pos, this.invFreq, cos, sin);
        applyRope(k, t * kvWidth, c.numKvHeads, c.headDim, pos, this.invFreq, cos, sin);
        this.cache.write(l, batch.slotMapping[t]!, k, t * kvWidth, v, t * kvWidth);
      }
      for (let t = 0; t < T; t++) {
        attendOneToken(this.cache, l, c, q, t * qWidth, batch.positions[t]!, rowSlots[rowOfToken[t]!]!, attn, t * qWidth, scores);
      }
      linear(attn, T, w.oProj, null, qWidth, H, proj);
      addInPlace(x, proj);
      // MLP block (SwiGLU).
      rmsNorm(x, T, H, w.postNorm, c.rmsNormEps, normed);
      linear(normed, T, w.gateProj, null, H, c.intermediateSize, gate);
      linear(normed, T, w.upProj, null, H, c.intermediateSize, up);
      swiGlu(gate, up, gate);
      linear(gate, T, w.downProj, null, c.intermediateSize, H, proj);
      addInPlace(x, proj);
    }
    return this.logits(batch, x);
  }

  private embed(tokenIds: Int32Array): Float32Array {
    const H = this.config.hiddenSize;
    const x = new Float32Array(tokenIds.length * H);
    tokenIds.forEach((id, t) => {
      if (id < 0 || id >= this.vocabSize) throw new Error(`token id ${id} at batch position ${t} is outside the vocabulary (0..${this.vocabSize - 1})`);
      x.set(this.weights.embedTokens.subarray(id * H, (id + 1) * H), t * H);
    });
    return x;
  }

  /** final norm + LM head, only for the tokens whose logits are asked for */
  private logits(batch: StepBatch, x: Float32Array): ForwardOutput {
    const c = this.config;
    const H = c.hiddenSize;
    const V = this.vocabSize;
    const wanted: number[] = [];
    for (const r of batch.sampleRows) wanted.push(batch.queryStartLoc[r + 1]! - 1);
    const promptRowStart: number[] = [];
    for (let r = 0; r < batch.numRows; r++) {
      promptRowStart.push(wanted.length);
      if (batch.promptLogitsRows?.[r] === 1) {
        for (let t = batch.queryStartLoc[r]!; t < batch.queryStartLoc[r + 1]!; t++) wanted.push(t);
      }
    }
    const gathered = new Float32Array(wanted.length * H);
    wanted.forEach((t, i) => gathered.set(x.subarray(t * H, (t + 1) * H), i * H));
    rmsNorm(gathered, wanted.length, H, this.weights.finalNorm, c.rmsNormEps, gathered);
    const all = linear(gathered, wanted.length, this.weights.lmHead, null, H, V);

    const nSample = batch.sampleRows.length;
    const sampleLogits = all.slice(0, nSample * V);
    const promptLogits: Array<Float32Array | null> = [];
    for (let r = 0; r < batch.numRows; r++) {
      if (batch.promptLogitsRows?.[r] !== 1) {
        promptLogits.push(null);
        continue;
      }
      const n = batch.queryStartLoc[r + 1]! - batch.queryStartLoc[r]!;
      const start = promptRowStart[r]!;
      promptLogits.push(all.slice(start * V, (start + n) * V));
    }
    return { sampleLogits, promptLogits };
  }

  private rowSlots(batch: StepBatch): Int32Array[] {
    return Array.from({ length: batch.numRows }, (_, r) =>
      rowSlotTable(batch.blockTables, r, batch.maxBlocksPerRow, batch.contextLens[r]!, this.blockSize, this.numBlocks),
    );
  }

  private rowOfToken(batch: StepBatch): Int32Array {
    const rows = new Int32Array(batch.numTokens);
    for (let r = 0; r < batch.numRows; r++) rows.fill(r, batch.queryStartLoc[r]!, batch.queryStartLoc[r + 1]!);
    return rows;
  }

  /**
   * Catches malformed batches with an error naming the field instead of silently reading garbage, and returns each
   * row's KV position → cache slot table.
   */
  private validateAndMapSlots(b: StepBatch): Int32Array[] {
    const T = b.numTokens;
    const need = (ok: boolean, msg: string) => {
      if (!ok) throw new Error(`ts model: invalid batch: ${msg}`);
    };
    need(b.tokenIds.length >= T && b.positions.length >= T && b.slotMapping.length >= T, 'tokenIds/positions/slotMapping shorter than numTokens');
    need(b.queryStartLoc.length === b.numRows + 1, `queryStartLoc has ${b.queryStartLoc.length} entries, expected numRows + 1 = ${b.numRows + 1}`);
    need(b.queryStartLoc[0] === 0 && b.queryStartLoc[b.numRows] === T, 'queryStartLoc must start at 0 and end at numTokens');
    need(b.blockTables.length >= b.numRows * b.maxBlocksPerRow, 'blockTables shorter than numRows * maxBlocksPerRow');
    need(b.contextLens.length >= b.numRows, 'contextLens shorter than numRows');
    for (let r = 0; r < b.numRows; r++) {
      const newTokens = b.queryStartLoc[r + 1]! - b.queryStartLoc[r]!;
      need(newTokens >= 0, `queryStartLoc decreases at row ${r}`);
      need(b.contextLens[r]! >= newTokens, `row ${r}: contextLens ${b.contextLens[r]} is shorter than its ${newTokens} new tokens`);
    }
    for (const r of b.sampleRows) {
      need(r >= 0 && r < b.numRows && b.queryStartLoc[r + 1]! > b.queryStartLoc[r]!, `sample row ${r} has no tokens this step`);
    }
    const slots = this.rowSlots(b);
    for (let r = 0; r < b.numRows; r++) {
      for (let t = b.queryStartLoc[r]!; t < b.queryStartLoc[r + 1]!; t++) {
        const pos = b.positions[t]!;
        need(pos >= 0 && pos < b.contextLens[r]!, `token ${t} of row ${r} has position ${pos}, outside the row's context length ${b.contextLens[r]}`);
        const slot = slots[r]![pos]!;
        need(b.slotMapping[t] === slot, `token ${t} of row ${r}: slotMapping ${b.slotMapping[t]} disagrees with the block table (position ${pos} → slot ${slot})`);
      }
    }
    return slots;
  }
}
