// The cuda backend's step: the forward is enqueued from the addon's worker thread, the engine's grammar masks are
// awaited (batch.masksReady: filled on the JS thread while the GPU runs), then every row is sampled on the GPU
// (cuda-sampling.ts) from a second worker call that waits for the GPU. The JS event loop never blocks on the GPU.
import type { Backend, BackendInfo, StepBatch, StepResult } from '../runner/batch.js';
import type { TsBackendOptions } from '../runner/ts-backend.js';
import type { NativeForwardBatch, NativeSampleRequest, NativeSampleResult } from './addon.js';
import { buildSampleRequest, sampleResultToStep, type GlobalRngStream } from './cuda-sampling.js';
import type { StepProfile } from './cuda-step-profile.js';
import { logitLayout, toNativeBatch } from './native-forward.js';

/** the model side (NativeCudaForwardModel) */
export interface GpuSamplingModel {
  readonly vocabSize: number;
  /** enqueues the forward (worker thread) and resolves without waiting for the GPU; sample() must follow */
  forwardBegin(batch: NativeForwardBatch): Promise<{ hostMs: number }>;
  /** after forwardBegin: resolves once the GPU has finished that forward, and settles before its sample() does */
  forwardDone(): Promise<void>;
  sample(request: NativeSampleRequest): Promise<NativeSampleResult>;
}

/** a request that samples nothing: ends a begun step whose real request could not be built */
function emptyRequest(): NativeSampleRequest {
  const none = new Int32Array(0);
  return { numRows: 0, rowInts: none, rowFloats: new Float64Array(0), grammarMasks: none, listMasks: none, biasIds: none, biasValues: new Float64Array(0), penaltyIds: none, copyRows: none };
}

export interface CudaSamplingBackendOptions extends TsBackendOptions {
  /** per-step phase timers (cuda-step-profile.ts) */
  profile?: StepProfile | null;
}

export function createCudaSamplingBackend(model: GpuSamplingModel, opts: CudaSamplingBackendOptions): Backend {
  const V = model.vocabSize;
  const rng: GlobalRngStream = { seed: opts.seed, counter: 0 };
  const profile = opts.profile ?? null;
  const info: BackendInfo = {
    kind: opts.kind ?? 'cuda',
    device: opts.device ?? 'cuda',
    numBlocks: opts.numBlocks,
    blockSize: opts.blockSize,
    vocabSize: V,
  };
  let closed = false;
  return {
    info,
    async execute(batch: StepBatch): Promise<StepResult> {
      if (closed) throw new Error('cuda backend: execute after close');
      const t0 = performance.now();
      const engineJsMs = profile?.engineGap(t0) ?? 0;
      const layout = logitLayout(batch);
      const begun = await model.forwardBegin(toNativeBatch(batch, layout.tokenIndices));
      const t1 = performance.now();
      let request: NativeSampleRequest;
      let tMasks = t1;
      // forwardBegin resolves once the forward is enqueued, while the GPU still runs it: the engine's deadline for
      // late masks starts when forwardDone says the GPU has finished it (so within this step: it settles before
      // sample() does). Only a step with a deadline asks: each ask holds a libuv worker thread in a wait for the
      // forward's length. A failed forward never has logits: sample() reports its error, the masks are not cut short.
      if (batch.logitsReady) model.forwardDone().then(batch.logitsReady, () => {});
      try {
        if (batch.masksReady) await batch.masksReady; // never rejects (batch.ts)
        tMasks = performance.now();
        request = buildSampleRequest(batch, layout, V, rng);
      } catch (e) {
        await model.sample(emptyRequest()); // ends the begun step: the model accepts the next one
        throw e;
      }
      const t2 = performance.now();
      const sampled = await model.sample(request);
      const t3 = performance.now();
      const result = sampleResultToStep(batch, layout, V, sampled);
      const t4 = performance.now();
      if (profile) {
        const tm = sampled.timing;
        profile.record(
          {
            kind: batch.numTokens === batch.numRows ? 'decode' : 'mixed',
            rows: batch.numRows,
            tokens: batch.numTokens,
            engineJsMs,
            forwardBeginMs: t1 - t0,
            enqueueHostMs: begun.hostMs,
            masksWaitMs: tMasks - t1,
            buildRequestMs: t2 - tMasks,
            sampleAwaitMs: t3 - t2,
            forwardGpuMs: tm.forwardGpuMs,
            gpuGapMs: tm.gpuGapMs,
            sampleGpuMs: tm.sampleGpuMs,
            sampleHostPrepMs: tm.hostPrepMs,
            sampleHostWaitMs: tm.hostWaitMs,
            resultMs: t4 - t3,
            executeMs: t4 - t0,
          },
          t4,
        );
      }
      return result;
    },
    async close() {
      closed = true;
    },
  };
}
