// The OpenAI batch file format: one request object per input line, one result object per output line.
// Every input line gets exactly one output line; failures carry both an HTTP-style response (status + OpenAI error
// body) and an `error` object, so consumers that check either field see them.
import { randomUUID } from 'node:crypto';

export const BATCH_URLS = ['/v1/chat/completions', '/v1/completions'] as const;
export type BatchUrl = (typeof BATCH_URLS)[number];

export interface BatchRequest {
  customId: string;
  url: BatchUrl;
  body: Record<string, unknown>;
}

export interface BatchOutputLine {
  id: string;
  custom_id: string | null;
  response: { status_code: number; request_id: string; body: unknown } | null;
  error: { code: string; message: string; line?: number } | null;
}

export type ParsedBatchLine = { ok: true; request: BatchRequest } | { ok: false; customId: string | null; message: string };

/** validates one input line (1-based `lineNo` for messages); the body itself is checked by the endpoint */
export function parseBatchLine(text: string, lineNo: number): ParsedBatchLine {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (e) {
    return { ok: false, customId: null, message: `line ${lineNo}: not valid JSON (${(e as Error).message})` };
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    return { ok: false, customId: null, message: `line ${lineNo}: expected a JSON object with custom_id, method, url and body` };
  }
  const rec = obj as Record<string, unknown>;
  const customId = typeof rec.custom_id === 'string' && rec.custom_id !== '' ? rec.custom_id : null;
  const fail = (message: string): ParsedBatchLine => ({ ok: false, customId, message: `line ${lineNo}: ${message}` });
  if (customId === null) return fail('field "custom_id" must be a non-empty string');
  if (rec.method !== undefined && rec.method !== 'POST') return fail(`field "method" must be "POST", got ${JSON.stringify(rec.method)}`);
  if (!BATCH_URLS.includes(rec.url as BatchUrl)) return fail(`field "url" must be one of ${BATCH_URLS.join(', ')}, got ${JSON.stringify(rec.url)}`);
  if (typeof rec.body !== 'object' || rec.body === null || Array.isArray(rec.body)) return fail('field "body" must be a JSON object');
  return { ok: true, request: { customId, url: rec.url as BatchUrl, body: rec.body as Record<string, unknown> } };
}

const newId = (prefix: string): string => `${prefix}${randomUUID().replace(/-/g, '')}`;

export function responseLine(customId: string, requestId: string, statusCode: number, body: unknown): BatchOutputLine {
  const error = statusCode === 200 ? null : { code: errorCode(body, statusCode), message: errorMessage(body, statusCode) };
  return { id: newId('batch_req_'), custom_id: customId, response: { status_code: statusCode, request_id: requestId, body }, error };
}

/** a line that never reached the engine (bad JSON, unknown url, duplicate custom_id, ...) */
export function invalidLine(customId: string | null, lineNo: number, message: string): BatchOutputLine {
  const body = { error: { message, type: 'BadRequestError', param: null, code: 400 } };
  return {
    id: newId('batch_req_'),
    custom_id: customId,
    response: { status_code: 400, request_id: newId('batch-'), body },
    error: { code: 'invalid_request', message, line: lineNo },
  };
}

function errorMessage(body: unknown, status: number): string {
  const m = (body as { error?: { message?: unknown } } | null)?.error?.message;
  return typeof m === 'string' ? m : `request failed with HTTP status ${status}`;
}

function errorCode(body: unknown, status: number): string {
  const t = (body as { error?: { type?: unknown } } | null)?.error?.type;
  return typeof t === 'string' ? t : String(status);
}
