// The `ts` backend: a model that turns a StepBatch into logits (TsModel, fp32 typed arrays) composed with the
// host sampler. The CUDA backend does the same composition on the GPU.
import type { Backend, BackendInfo, StepBatch, StepResult, TokenLogprobs } from './batch.js';
import { Sampler } from './sampler.js';
import { logSumExp, tokenLogprobs } from './sampler-logprobs.js';

/** what the ts backend needs from a model: TsModel satisfies it */
export interface LogitsModel {
  readonly vocabSize: number;
  forward(batch: StepBatch): {
    /** [sampleRows.length, vocab] */
    sampleLogits: Float32Array;
    /** per row, [numQueryTokens, vocab] when batch.promptLogitsRows?.[row] === 1 */
    promptLogits: Array<Float32Array | null>;
  };
}

export interface TsBackendOptions {
  numBlocks: number;
  blockSize: number;
  /** engine seed for rows without their own seed */
  seed: number;
  device?: string;
  kind?: BackendInfo['kind'];
}

export function createTsBackend(model: LogitsModel, opts: TsBackendOptions): Backend {
  const sampler = new Sampler(opts.seed);
  const info: BackendInfo = {
    kind: opts.kind ?? 'ts',
    device: opts.device ?? 'cpu (TypeScript reference, fp32)',
    numBlocks: opts.numBlocks,
    blockSize: opts.blockSize,
    vocabSize: model.vocabSize,
  };
  let closed = false;
  return {
    info,
    async execute(batch: StepBatch): Promise<StepResult> {
      if (closed) throw new Error('ts backend: execute after close');
      const out = model.forward(batch);
      // the engine fills the grammar masks once execute has been called; the sampler reads them
      batch.logitsReady?.();
      if (batch.masksReady) await batch.masksReady;
      const { sampledTokenIds, logprobs } = sampler.sample(out.sampleLogits, model.vocabSize, batch);
      return { sampledTokenIds, logprobs, promptLogprobs: computePromptLogprobs(batch, out.promptLogits, model.vocabSize) };
    },
    async close() {
      closed = true;
    },
  };
}

export function computePromptLogprobs(
  batch: StepBatch,
  promptLogits: Array<Float32Array | null>,
  vocabSize: number,
): Array<TokenLogprobs[] | null> | null {
  const spec = batch.promptLogprobs;
  if (!spec) return null;
  return spec.map((rowSpec, r) => {
    if (!rowSpec) return null;
    const logits = promptLogits[r];
    if (!logits) throw new Error(`ts backend: the model returned no prompt logits for row ${r}`);
    const out: TokenLogprobs[] = [];
    rowSpec.targetTokenIds.forEach((target, j) => {
      if (target < 0) return;
      const row = logits.subarray(j * vocabSize, (j + 1) * vocabSize);
      out.push(tokenLogprobs(row, target, rowSpec.numLogprobs, logSumExp(row)));
    });
    return out;
  });
}
