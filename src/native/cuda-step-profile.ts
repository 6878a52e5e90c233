// Per-step phase timers of the cuda backend (issue 6's "where do the 72 ms go"): host time of each phase on the JS
// thread, the worker's enqueue and wait times, and the GPU's own forward/sampling time from cudaEvents. Collected only
// when a profile is attached (SERVAL_CUDA_PROFILE=1 for engines built by createCudaEngineBackend).

export interface StepTimes {
  /** decode: one token per row; mixed: at least one prefill chunk */
  kind: 'decode' | 'mixed';
  rows: number;
  tokens: number;
  /** JS thread, from the previous step's result to this execute(): the engine's apply/detokenize + schedule/prepare */
  engineJsMs: number;
  /** await of forwardBegin: the worker hop and the host enqueue (metadata upload, graph launch) */
  forwardBeginMs: number;
  /** of which on the worker: validate, plan, upload, launch */
  enqueueHostMs: number;
  /** await of batch.masksReady (the engine filling grammar masks while the GPU runs) */
  masksWaitMs: number;
  /** building the sampling request in JS */
  buildRequestMs: number;
  /** await of sample(): the rest of the forward, sampling, the copies back, the worker hop */
  sampleAwaitMs: number;
  forwardGpuMs: number;
  /** GPU idle between the forward's end and the sampling's start */
  gpuGapMs: number;
  sampleGpuMs: number;
  /** the sampling call's host time on the worker: request upload + launches, then the wait for the stream */
  sampleHostPrepMs: number;
  sampleHostWaitMs: number;
  /** turning the sampler's arrays into the StepResult (prompt logprobs included) */
  resultMs: number;
  /** execute() from call to resolution */
  executeMs: number;
}

type Numeric = Exclude<keyof StepTimes, 'kind'>;

export class StepProfile {
  readonly steps: StepTimes[] = [];
  private lastEnd: number | null = null;
  private resetAt = performance.now();
  private firstStart: number | null = null;

  /** the time since the previous step's result was handed back (0 for the first step) */
  engineGap(now: number): number {
    return this.lastEnd === null ? 0 : now - this.lastEnd;
  }

  record(t: StepTimes, end: number): void {
    this.steps.push(t);
    this.firstStart ??= end - t.executeMs;
    this.lastEnd = end;
  }

  /** forget everything (between benchmark runs) */
  reset(): void {
    this.steps.length = 0;
    this.lastEnd = null;
    this.firstStart = null;
    this.resetAt = performance.now();
  }

  /**
   * per step kind: the number of steps and the mean of every field, in ms; `total`: from reset() to the first step,
   * from there to the last step's end, and the sums of execute() and of the engine's JS time between steps
   */
  summary(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    const sum = (k: Numeric) => Number(this.steps.reduce((a, s) => a + s[k], 0).toFixed(1));
    out['total'] = {
      steps: this.steps.length,
      beforeFirstStepMs: Number(((this.firstStart ?? this.resetAt) - this.resetAt).toFixed(1)),
      firstToLastStepMs: Number(((this.lastEnd ?? this.resetAt) - (this.firstStart ?? this.resetAt)).toFixed(1)),
      executeMs: sum('executeMs'),
      engineJsMs: sum('engineJsMs'),
      forwardGpuMs: sum('forwardGpuMs'),
      sampleGpuMs: sum('sampleGpuMs'),
    };
    for (const kind of ['decode', 'mixed'] as const) {
      const steps = this.steps.filter((s) => s.kind === kind);
      if (steps.length === 0) continue;
      const mean: Record<string, number> = { steps: steps.length };
      const keys = Object.keys(steps[0]!).filter((k) => k !== 'kind') as Numeric[];
      for (const k of keys) mean[k] = Number((steps.reduce((a, s) => a + s[k], 0) / steps.length).toFixed(3));
      out[kind] = mean;
    }
    return out;
  }
}

/** the profile of the cuda engine backend created last with profiling on (read by bench/gpu) */
export const activeCudaStepProfile: { current: StepProfile | null } = { current: null };
