// pino loggers for `serval serve`: serval's own log at --log-level and the HTTP access log at
// --uvicorn-log-level. Lines are human-readable (vLLM-like) unless SERVAL_LOG_JSON=1; API keys and
// Authorization headers are redacted wherever they appear.
import pino, { type Logger } from 'pino';
import type { LogLevelName } from '../config/serve-flags.js';

const PINO_LEVEL: Record<LogLevelName, pino.LevelWithSilent> = {
  critical: 'fatal',
  error: 'error',
  warning: 'warn',
  info: 'info',
  debug: 'debug',
  trace: 'trace',
};

export function pinoLevel(level: LogLevelName): pino.LevelWithSilent {
  return PINO_LEVEL[level];
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARNING', 50: 'ERROR', 60: 'CRITICAL' };
const REDACT = ['apiKey', 'apiKeys', '*.apiKey', '*.apiKeys', 'headers.authorization', 'req.headers.authorization', '*.headers.authorization'];
const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'reqId']);

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** one JSON log record → "INFO 11-26 20:51:01 [serve] message key=value" */
export function formatLogLine(line: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const d = new Date(typeof o.time === 'number' ? o.time : Date.now());
  const stamp = `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const level = LEVEL_NAMES[o.level as number] ?? String(o.level);
  const extras = Object.entries(o)
    .filter(([k]) => !OMIT.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v)}`)
    .join(' ');
  return `${level} ${stamp} [${String(o.name ?? 'serval')}] ${String(o.msg ?? '')}${extras ? ` ${extras}` : ''}\n`;
}

export interface ServeLoggers {
  log: Logger;
  http: Logger;
}

export function createServeLoggers(level: LogLevelName, httpLevel: LogLevelName, json = process.env.SERVAL_LOG_JSON === '1'): ServeLoggers {
  const destination = json ? pino.destination(1) : { write: (line: string) => void process.stdout.write(formatLogLine(line)) };
  const log = pino({ name: 'serve', level: pinoLevel(level), redact: { paths: REDACT, censor: '[redacted]' }, base: undefined }, destination);
  const http = log.child({ name: 'http' }, { level: pinoLevel(httpLevel) });
  return { log, http };
}
