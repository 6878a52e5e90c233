// Test doubles for the engine: a deterministic "model" that reads its context back from its own paged KV store
// (so any block-table, slot-mapping or prefix-cache mistake changes its outputs), and a tiny tokenizer.
import type { StepBatch } from '../../src/runner/batch.js';
import type { LogitsModel } from '../../src/runner/ts-backend.js';
import { createTsBackend } from '../../src/runner/ts-backend.js';
import type { Backend } from '../../src/runner/batch.js';
import type { TextTokenizer } from '../../src/tokenizer/types.js';
import type { DetokenizerFactory } from '../../src/engine/detokenizer.js';
import { EngineCore, type EngineCoreOptions } from '../../src/engine/engine-core.js';

function mix(h: number, x: number): number {
  h = Math.imul(h ^ x, 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca77);
  return (h ^ (h >>> 13)) >>> 0;
}

export class FakeKvModel implements LogitsModel {
  readonly kvToken: Int32Array;
  readonly kvPos: Int32Array;
  forwardCalls = 0;
  computedTokens = 0;
  constructor(
    readonly vocabSize: number,
    readonly numBlocks: number,
    readonly blockSize: number,
  ) {
    this.kvToken = new Int32Array(numBlocks * blockSize).fill(-1);
    this.kvPos = new Int32Array(numBlocks * blockSize).fill(-1);
  }

  forward(batch: StepBatch): { sampleLogits: Float32Array; promptLogits: Array<Float32Array | null> } {
    this.forwardCalls++;
    this.computedTokens += batch.numTokens;
    const bs = this.blockSize;
    // write every row's new KV first (as a real model does per layer), then read contexts
    for (let r = 0; r < batch.numRows; r++) {
      for (let t = batch.queryStartLoc[r]; t < batch.queryStartLoc[r + 1]; t++) {
        const p = batch.positions[t];
        const block = batch.blockTables[r * batch.maxBlocksPerRow + Math.floor(p / bs)];
        const slot = batch.slotMapping[t];
        if (block < 0 || slot !== block * bs + (p % bs)) throw new Error(`fake model: slot ${slot} does not match the block table at position ${p}`);
        this.kvToken[slot] = batch.tokenIds[t];
        this.kvPos[slot] = p;
      }
    }
    const V = this.vocabSize;
    const sampleLogits = new Float32Array(batch.sampleRows.length * V);
    batch.sampleRows.forEach((r, i) => this.logitsAt(batch, r, batch.contextLens[r], sampleLogits, i * V));
    const promptLogits = Array.from({ length: batch.numRows }, (_, r) => {
      if (!batch.promptLogitsRows?.[r]) return null;
      const n = batch.queryStartLoc[r + 1] - batch.queryStartLoc[r];
      const out = new Float32Array(n * V);
      const start = batch.positions[batch.queryStartLoc[r]];
      for (let j = 0; j < n; j++) this.logitsAt(batch, r, start + j + 1, out, j * V);
      return out;
    });
    return { sampleLogits, promptLogits };
  }

  /** logits after a context of `len` tokens, read back from the KV store through the row's block table */
  private logitsAt(batch: StepBatch, r: number, len: number, out: Float32Array, off: number): void {
    const bs = this.blockSize;
    let h = 0x12345;
    for (let p = 0; p < len; p++) {
      const slot = batch.blockTables[r * batch.maxBlocksPerRow + Math.floor(p / bs)] * bs + (p % bs);
      if (this.kvPos[slot] !== p) throw new Error(`fake model: KV slot ${slot} holds position ${this.kvPos[slot]}, expected ${p}`);
      h = mix(h, this.kvToken[slot]);
    }
    for (let v = 0; v < this.vocabSize; v++) out[off + v] = (mix(h, v + 1) % 10007) / 1000;
  }
}

/** vocabulary: 0 = <eos> (special), 1 = <bos> (special), then single characters and a few multi-char pieces */
const PIECES = ['<eos>', '<bos>', ...'abcdefghijklmnopqrstuvwxyz .,!?'.split(''), 'he', 'llo', ' wor', 'ld', 'STOP', 'ST', 'OP', 'xy', 'zz'];
export const FAKE_VOCAB = 64;

export class FakeTokenizer implements TextTokenizer {
  readonly size = FAKE_VOCAB;
  readonly eosTokenId = 0;
  readonly bosTokenId = 1;
  readonly padTokenId = null;
  encode(text: string): number[] {
    const out: number[] = [];
    let i = 0;
    while (i < text.length) {
      let best = -1;
      for (let id = 2; id < PIECES.length; id++) if (text.startsWith(PIECES[id], i) && (best < 0 || PIECES[id].length > PIECES[best].length)) best = id;
      if (best < 0) throw new Error(`fake tokenizer: cannot encode ${JSON.stringify(text[i])}`);
      out.push(best);
      i += PIECES[best].length;
    }
    return out;
  }
  decode(ids: ArrayLike<number>, opts?: { skipSpecialTokens?: boolean }): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) {
      if ((opts?.skipSpecialTokens ?? true) && this.isSpecial(ids[i])) continue;
      s += this.idToToken(ids[i]) ?? '';
    }
    return s;
  }
  idToToken(id: number): string | undefined {
    return PIECES[id] ?? `<${id}>`;
  }
  tokenToId(token: string): number | undefined {
    const i = PIECES.indexOf(token);
    return i >= 0 ? i : undefined;
  }
  isSpecial(id: number): boolean {
    return id < 2;
  }
}

export const fakeDetokenizer = (tok: TextTokenizer): DetokenizerFactory => (_prompt, opts) => ({
  push: (ids) => tok.decode(ids, opts),
  flush: () => '',
});

export function fakeBackend(numBlocks: number, blockSize = 4, vocab = FAKE_VOCAB, seed = 0): { backend: Backend; model: FakeKvModel } {
  const model = new FakeKvModel(vocab, numBlocks, blockSize);
  return { backend: createTsBackend(model, { numBlocks, blockSize, seed }), model };
}

export function makeCore(over: Partial<EngineCoreOptions> & { numBlocks?: number; blockSize?: number } = {}) {
  const { backend, model } = fakeBackend(over.numBlocks ?? 256, over.blockSize ?? 4);
  const tokenizer = new FakeTokenizer();
  const core = new EngineCore({
    backend,
    tokenizer,
    detokenizer: fakeDetokenizer(tokenizer),
    maxModelLen: 512,
    maxNumSeqs: 64,
    maxNumBatchedTokens: 256,
    schedulingPolicy: 'fcfs',
    enablePrefixCaching: true,
    seed: 0,
    maxLogprobs: 20,
    eosTokenIds: [0],
    ...over,
  });
  return { core, model, tokenizer };
}
