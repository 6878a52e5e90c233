// The log of the in-process commands (run-batch, bench throughput): serve's line format, on stderr, because stdout
// may carry the results (`-o -`).
import pino, { type Logger } from 'pino';
import { formatLogLine } from '../server/logger.js';

export function createStderrLogger(name: string): Logger {
  return pino({ name, level: 'info', base: undefined }, { write: (line: string) => void process.stderr.write(formatLogLine(line)) });
}
