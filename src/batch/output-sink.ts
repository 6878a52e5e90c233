// Where run-batch writes its result lines: a file, or stdout for `-o -`. Waits for the stream to drain so a large
// batch never buffers its whole output in memory.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';

export interface LineSink {
  writeLine(line: string): Promise<void>;
  close(): Promise<void>;
}

export function openLineSink(target: string): LineSink {
  const toStdout = target === '-';
  const stream: Writable = toStdout ? process.stdout : createWriteStream(target, { encoding: 'utf8' });
  const failed = new Promise<never>((_, reject) => stream.once('error', reject));
  failed.catch(() => {});
  return {
    async writeLine(line: string): Promise<void> {
      if (!stream.write(line + '\n')) await Promise.race([once(stream, 'drain'), failed]);
    },
    async close(): Promise<void> {
      if (toStdout) return;
      await Promise.race([new Promise<void>((r) => stream.end(r)), failed]);
    },
  };
}
