// A byte progress bar on stderr for downloads (only drawn on a terminal, as huggingface_hub's tqdm bars are).
import cliProgress from 'cli-progress';

export interface ByteProgress {
  add(n: number): void;
  stop(): void;
}

/** what draws a download's progress: byteProgress here, or a stand-in that sends it to the thread that draws it */
export type ProgressBarFactory = (label: string, totalBytes: number, enabled: boolean) => ByteProgress;

export function byteProgress(label: string, totalBytes: number, enabled: boolean): ByteProgress {
  if (!enabled || totalBytes === 0 || !process.stderr.isTTY) {
    if (enabled && totalBytes > 0) process.stderr.write(`${label}: downloading ${formatBytes(totalBytes)}\n`);
    return { add: () => {}, stop: () => {} };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% | {done} / {all} | {eta_formatted}`,
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let done = 0;
  bar.start(totalBytes, 0, { done: formatBytes(0), all: formatBytes(totalBytes) });
  return {
    add(n: number) {
      done += n;
      bar.update(done, { done: formatBytes(done) });
    },
    stop() {
      bar.stop();
    },
  };
}

function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
