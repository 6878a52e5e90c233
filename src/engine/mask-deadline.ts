// When a step stops waiting for grammar masks still being computed on worker threads. A cached mask costs
// microseconds, a cold one up to tens of ms; one cold row must not hold the sampling of every other row of the step.
// The backend says when the forward's logits are ready (StepBatch.logitsReady); rows whose masks are not done a
// short grace after that are deferred to the next step (engine-core.ts).

/**
 * default grace after the logits are ready (vLLM would call the knob structured_output_mask_grace_ms): long enough
 * for a worker's answer in flight (a cached mask and the message back: ~0.1 ms), far shorter than a cold tail
 * (3-27 ms)
 */
export const DEFAULT_STRUCTURED_OUTPUT_MASK_GRACE_MS = 1;

/**
 * the grace of a row deferred `deferrals` times in a row: doubled at each (from at least 1 ms), so that a mask that
 * takes T ms defers its request at most about log2(T / grace) + 1 times, while no step waits longer for it than the
 * time it has already been computing
 */
export function maskGraceFor(graceMs: number, deferrals: number): number {
  return deferrals === 0 ? graceMs : Math.max(graceMs, 1) * 2 ** deferrals;
}

export function checkMaskGraceMs(ms: number): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new Error(`structuredOutputMaskGraceMs must be a finite number of milliseconds >= 0, got ${ms}`);
  }
  return ms;
}

/** counters of the structured-output masks of the steps so far (benchmarks, diagnostics) */
export interface StructuredMaskStats {
  /** steps that had grammar rows */
  steps: number;
  /** grammar rows filled from the engine thread's cache while the workers computed the cold ones */
  rowsCachedOnEngine: number;
  /** grammar rows handed to the mask workers (cold, or a grammar that cannot tell) */
  rowsOnWorkers: number;
  /** of them, rows handed over before the engine thread fed them their tokens (likely cold: fillWithWorkers) */
  rowsPostedAhead: number;
  /** steps that deferred at least one row, and the rows deferred */
  stepsDeferred: number;
  rowsDeferred: number;
  /** total time the backends waited for masks after their logits were ready (ms) */
  maskWaitMs: number;
  /** the longest such wait of one step (ms) */
  maxMaskWaitMs: number;
}

export function emptyMaskStats(): StructuredMaskStats {
  return { steps: 0, rowsCachedOnEngine: 0, rowsOnWorkers: 0, rowsPostedAhead: 0, stepsDeferred: 0, rowsDeferred: 0, maskWaitMs: 0, maxMaskWaitMs: 0 };
}

/** the step's logits-ready signal: the backend calls `signal`; `at` is when (performance.now), null before */
export class LogitsSignal {
  at: number | null = null;
  readonly ready: Promise<void>;
  private resolve!: () => void;

  constructor() {
    this.ready = new Promise<void>((r) => (this.resolve = r));
  }

  readonly signal = (): void => {
    if (this.at !== null) return;
    this.at = performance.now();
    this.resolve();
  };

  /** resolves `graceMs` after the logits are ready; cancel() drops the timer once it is not needed */
  deadline(graceMs: number): { passed: Promise<void>; cancel: () => void } {
    let timer: NodeJS.Timeout | null = null;
    let cancelled = false;
    const passed =
      graceMs === 0
        ? this.ready
        : this.ready.then(
            () =>
              new Promise<void>((resolve) => {
                if (cancelled) return;
                timer = setTimeout(resolve, graceMs);
              }),
          );
    return {
      passed,
      cancel: () => {
        cancelled = true;
        if (timer) clearTimeout(timer);
      },
    };
  }
}
