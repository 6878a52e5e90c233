// Progress on stderr for long jobs (run-batch, bench): done/total, requests/s and output tokens/s since the start.
// Drawn only on a terminal, so piped logs and test output stay clean.
import cliProgress from 'cli-progress';

export interface ThroughputProgress {
  /** one request finished, having produced `outputTokens` tokens */
  tick(outputTokens: number): void;
  stop(): void;
}

export function createThroughputProgress(total: number, label: string, stream: NodeJS.WriteStream = process.stderr): ThroughputProgress {
  const start = performance.now();
  let tokens = 0;
  let done = 0;
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: `${label} [{bar}] {value}/{total} | {reqRate} req/s | {tokRate} tok/s | {duration_formatted} elapsed | ETA {eta_formatted}`,
      hideCursor: true,
      etaBuffer: 50,
    },
    cliProgress.Presets.shades_classic,
  );
  const rates = (): { reqRate: string; tokRate: string } => {
    const s = Math.max((performance.now() - start) / 1000, 1e-9);
    return { reqRate: (done / s).toFixed(2), tokRate: (tokens / s).toFixed(1) };
  };
  bar.start(total, 0, rates());
  return {
    tick(outputTokens: number): void {
      done++;
      tokens += outputTokens;
      bar.update(done, rates());
    },
    stop(): void {
      bar.stop();
    },
  };
}
