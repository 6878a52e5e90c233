// Greedy sampling on the GPU for "simple" rows: the CUDA kernel takes the argmax of the LM-head output and only the
// token id comes back, instead of 151,936 fp32 logits per row sampled in JavaScript. The choice is per row and reads
// only that row's own RowSampling, so a request's tokens never depend on its batch neighbours; every other row keeps
// the host path (its logits copied back and sampled by src/runner/sampler.ts, unchanged).
import type { Backend, BackendInfo, RowSampling, StepBatch, StepResult, TokenLogprobs } from '../runner/batch.js';
import { Sampler } from '../runner/sampler.js';
import { computePromptLogprobs, type TsBackendOptions } from '../runner/ts-backend.js';
import type { NativeCudaModel, NativeGreedyRequest } from './addon.js';
import { logitLayout, toNativeBatch, type LogitLayout } from './native-forward.js';

/** the host sampler's greedy threshold (vLLM's _SAMPLING_EPS): below it a row takes the argmax */
const SAMPLING_EPS = 1e-5;

/** greedy, no logprobs, nothing that changes logits but the grammar bitmask (which the kernel applies) */
export function isGpuGreedyRow(s: RowSampling): boolean {
  return (
    s.temperature < SAMPLING_EPS &&
    s.logprobs < 0 &&
    s.repetitionPenalty === 1 &&
    s.presencePenalty === 0 &&
    s.frequencyPenalty === 0 &&
    (s.logitBias === null || s.logitBias.size === 0) &&
    s.allowedTokenIds === null &&
    s.bannedTokenIds === null
  );
}

export interface GreedyStepPlan {
  request: NativeGreedyRequest;
  /** indices into batch.sampleRows that the host samples, ascending */
  hostSampleIdx: number[];
  /** the step seen by the host sampler: only hostSampleIdx's rows (their sampling and bitmask rows) */
  hostBatch: StepBatch;
}

/** Splits a step's sample rows between the GPU kernel and the host sampler; layout: the forward's logit rows. */
export function planGreedyStep(batch: StepBatch, layout: LogitLayout, vocabSize: number): GreedyStepPlan {
  const nSample = batch.sampleRows.length;
  const nLogit = layout.tokenIndices.length;
  const words = Math.ceil(vocabSize / 32);
  const rowMask = new Int32Array(nLogit).fill(-2);
  const hostSampleIdx: number[] = [];
  const gpuMaskRows: number[] = [];
  const usesMask = (i: number) => batch.grammarBitmask !== null && batch.grammarRows?.[i] === 1;
  for (let i = 0; i < nSample; i++) {
    if (!isGpuGreedyRow(batch.sampling[i]!)) {
      hostSampleIdx.push(i);
      continue;
    }
    if (usesMask(i)) {
      rowMask[i] = gpuMaskRows.length;
      gpuMaskRows.push(i);
    } else {
      rowMask[i] = -1;
    }
  }
  const masks = new Int32Array(gpuMaskRows.length * words);
  gpuMaskRows.forEach((i, k) => masks.set(batch.grammarBitmask!.subarray(i * words, (i + 1) * words), k * words));
  // host sample rows first, then every prompt-logit row (they follow the sample rows in the forward's output)
  const copyRows = new Int32Array(hostSampleIdx.length + (nLogit - nSample));
  copyRows.set(hostSampleIdx);
  for (let j = nSample; j < nLogit; j++) copyRows[hostSampleIdx.length + j - nSample] = j;

  const hostMaskRows = hostSampleIdx.filter(usesMask);
  let hostBitmask: Int32Array | null = null;
  let hostGrammarRows: Uint8Array | null = null;
  if (hostMaskRows.length > 0) {
    hostBitmask = new Int32Array(hostSampleIdx.length * words);
    hostGrammarRows = new Uint8Array(hostSampleIdx.length);
    hostSampleIdx.forEach((i, k) => {
      if (!usesMask(i)) return;
      hostGrammarRows![k] = 1;
      hostBitmask!.set(batch.grammarBitmask!.subarray(i * words, (i + 1) * words), k * words);
    });
  }
  const hostBatch: StepBatch = {
    ...batch,
    sampleRows: Int32Array.from(hostSampleIdx, (i) => batch.sampleRows[i]!),
    sampling: hostSampleIdx.map((i) => batch.sampling[i]!),
    grammarBitmask: hostBitmask,
    grammarRows: hostGrammarRows,
  };
  return { request: { rowMask, masks, copyRows }, hostSampleIdx, hostBatch };
}

/** what one forward with GPU greedy sampling gives back */
export interface GreedyForwardOutput {
  plan: GreedyStepPlan;
  /** per sample row: the GPU's token (-1: the mask left nothing), -2 for the rows the host samples */
  gpuTokens: Int32Array;
  /** [plan.hostSampleIdx.length, vocab]: the logits of the host-sampled rows */
  hostSampleLogits: Float32Array;
  /** per batch row, as ForwardOutput.promptLogits */
  promptLogits: Array<Float32Array | null>;
}

/** the model side: NativeCudaForwardModel */
export interface GreedyForwardModel {
  readonly vocabSize: number;
  forwardGreedy(batch: StepBatch): GreedyForwardOutput;
}

export function nativeForwardGreedy(
  model: Pick<NativeCudaModel, 'forwardGreedy'>,
  batch: StepBatch,
  vocabSize: number,
): GreedyForwardOutput {
  const layout = logitLayout(batch);
  const plan = planGreedyStep(batch, layout, vocabSize);
  const { tokens, logits } = model.forwardGreedy(toNativeBatch(batch, layout.tokenIndices), plan.request);
  const nSample = batch.sampleRows.length;
  const nHost = plan.hostSampleIdx.length;
  const promptLogits: Array<Float32Array | null> = [];
  for (let r = 0; r < batch.numRows; r++) {
    const start = layout.promptStart[r]!;
    if (start < 0) {
      promptLogits.push(null);
      continue;
    }
    // prompt rows sit after the sample rows in the forward's output; only nHost of those came back
    const at = start - nSample + nHost;
    const n = batch.queryStartLoc[r + 1]! - batch.queryStartLoc[r]!;
    promptLogits.push(logits.subarray(at * vocabSize, (at + n) * vocabSize));
  }
  return {
    plan,
    gpuTokens: tokens.subarray(0, nSample),
    hostSampleLogits: logits.subarray(0, nHost * vocabSize),
    promptLogits,
  };
}

/** The cuda backend's composition: GPU greedy for simple rows, the host sampler (unchanged) for the others. */
export function createCudaSamplingBackend(model: GreedyForwardModel, opts: TsBackendOptions): Backend {
  const sampler = new Sampler(opts.seed);
  const V = model.vocabSize;
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
      const out = model.forwardGreedy(batch);
      const host = sampler.sample(out.hostSampleLogits, V, out.plan.hostBatch);
      const n = batch.sampleRows.length;
      const sampledTokenIds = Int32Array.from(out.gpuTokens);
      const logprobs: Array<TokenLogprobs | null> = new Array(n).fill(null);
      out.plan.hostSampleIdx.forEach((i, k) => {
        sampledTokenIds[i] = host.sampledTokenIds[k]!;
        logprobs[i] = host.logprobs[k] ?? null;
      });
      for (let i = 0; i < n; i++) {
        if (sampledTokenIds[i]! < -1) throw new Error(`cuda backend: sample row ${i} got no token (GPU/host split bug)`);
      }
      return { sampledTokenIds, logprobs, promptLogprobs: computePromptLogprobs(batch, out.promptLogits, V) };
    },
    async close() {
      closed = true;
    },
  };
}
