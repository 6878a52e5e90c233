// A native model with an asynchronous forward composed with the host sampler: the Backend contract as the ts
// backend implements it, without blocking the event loop during the forward.
import type { Backend, BackendInfo, StepBatch, StepResult } from '../runner/batch.js';
import { Sampler } from '../runner/sampler.js';
import { computePromptLogprobs } from '../runner/ts-backend.js';
import type { ForwardOutput } from '../runner/ts/ts-model.js';

export interface AsyncLogitsModel {
  readonly vocabSize: number;
  forwardAsync(batch: StepBatch): Promise<ForwardOutput>;
}

export interface NativeBackendOptions {
  numBlocks: number;
  blockSize: number;
  /** engine seed for rows without their own seed */
  seed: number;
  kind: BackendInfo['kind'];
  device: string;
  /** releases the model (called once by close) */
  release?: () => void;
}

export function createNativeBackend(model: AsyncLogitsModel, opts: NativeBackendOptions): Backend {
  const sampler = new Sampler(opts.seed);
  const info: BackendInfo = {
    kind: opts.kind,
    device: opts.device,
    numBlocks: opts.numBlocks,
    blockSize: opts.blockSize,
    vocabSize: model.vocabSize,
  };
  let closed = false;
  let running: Promise<unknown> | null = null;
  return {
    info,
    async execute(batch: StepBatch): Promise<StepResult> {
      if (closed) throw new Error(`${opts.kind} backend: execute after close`);
      const step = model.forwardAsync(batch);
      running = step;
      const out = await step.finally(() => {
        running = null;
      });
      const { sampledTokenIds, logprobs } = sampler.sample(out.sampleLogits, model.vocabSize, batch);
      return { sampledTokenIds, logprobs, promptLogprobs: computePromptLogprobs(batch, out.promptLogits, model.vocabSize) };
    },
    async close() {
      if (closed) return;
      closed = true;
      if (running) await running.catch(() => undefined); // a forward in flight still owns the model
      opts.release?.();
    },
  };
}
