// Runs an OpenAI batch file: every non-blank input line yields exactly one output line, written in input order as
// soon as all earlier lines are done (completion order does not matter). Up to `concurrency` requests are in flight
// so the engine's scheduler always has a full queue without holding the whole file's work at once.
import { Semaphore } from '../benchmarks/semaphore.js';
import { invalidLine, parseBatchLine, responseLine, type BatchOutputLine, type BatchUrl } from './batch-format.js';

/** Where the requests go: the OpenAI endpoints, in-process. A request error resolves with its status and body. */
export interface BatchEndpoint {
  call(url: BatchUrl, body: Record<string, unknown>, requestId: string): Promise<{ statusCode: number; body: unknown }>;
}

export interface RunBatchOptions {
  concurrency: number;
  /** called once per finished line (progress) */
  onLineDone?: (line: BatchOutputLine) => void;
}

export interface BatchSummary {
  total: number;
  succeeded: number;
  failed: number;
}

export async function runBatch(
  inputText: string,
  endpoint: BatchEndpoint,
  write: (jsonLine: string) => void | Promise<void>,
  opts: RunBatchOptions,
): Promise<BatchSummary> {
  const work = planLines(inputText);
  const results: Array<BatchOutputLine | undefined> = new Array(work.length);
  let nextToWrite = 0;
  let writing: Promise<void> = Promise.resolve();
  const summary: BatchSummary = { total: work.length, succeeded: 0, failed: 0 };

  const finish = (index: number, line: BatchOutputLine): void => {
    results[index] = line;
    if (line.error === null) summary.succeeded++;
    else summary.failed++;
    opts.onLineDone?.(line);
    // flush the finished prefix, keeping writes in order
    while (nextToWrite < results.length && results[nextToWrite] !== undefined) {
      const text = JSON.stringify(results[nextToWrite]);
      results[nextToWrite] = undefined;
      nextToWrite++;
      writing = writing.then(() => write(text));
    }
  };

  const limit = new Semaphore(opts.concurrency);
  await Promise.all(
    work.map((w, index) => {
      if (w.kind === 'invalid') {
        finish(index, invalidLine(w.customId, w.lineNo, w.message));
        return Promise.resolve();
      }
      return limit.run(async () => {
        const requestId = `batch-${w.lineNo}-${w.request.customId}`;
        let line: BatchOutputLine;
        try {
          const res = await endpoint.call(w.request.url, w.request.body, requestId);
          line = responseLine(w.request.customId, requestId, res.statusCode, res.body);
        } catch (e) {
          const message = e instanceof Error ? e.message : String(e);
          line = responseLine(w.request.customId, requestId, 500, { error: { message, type: 'InternalServerError', param: null, code: 500 } });
        }
        finish(index, line);
      });
    }),
  );
  await writing;
  return summary;
}

type PlannedLine =
  | { kind: 'request'; lineNo: number; request: { customId: string; url: BatchUrl; body: Record<string, unknown> } }
  | { kind: 'invalid'; lineNo: number; customId: string | null; message: string };

/** parses every non-blank line; a repeated custom_id is an error for the later line (ids must be unique) */
function planLines(inputText: string): PlannedLine[] {
  const seen = new Set<string>();
  const out: PlannedLine[] = [];
  inputText.split('\n').forEach((raw, i) => {
    const text = raw.trim();
    if (text === '') return;
    const lineNo = i + 1;
    const parsed = parseBatchLine(text, lineNo);
    if (!parsed.ok) {
      out.push({ kind: 'invalid', lineNo, customId: parsed.customId, message: parsed.message });
      return;
    }
    const id = parsed.request.customId;
    if (seen.has(id)) {
      out.push({ kind: 'invalid', lineNo, customId: id, message: `line ${lineNo}: duplicate custom_id ${JSON.stringify(id)} (custom_id must be unique)` });
      return;
    }
    seen.add(id);
    out.push({ kind: 'request', lineNo, request: parsed.request });
  });
  return out;
}
