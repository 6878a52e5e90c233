// Server-sent events as OpenAI/vLLM send them: `data: <json>\n\n` per chunk, `data: [DONE]\n\n` at the end; an
// error after the stream started is sent as a `data: {"error": ...}` event before [DONE].
import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';
import { toApiError } from './api-error.js';

export function sseEvent(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}

export const SSE_DONE = 'data: [DONE]\n\n';

/** Sends the events a generator yields (each a JSON-able chunk) and ends with [DONE]. */
export function sendSse(reply: FastifyReply, chunks: AsyncIterable<unknown>): FastifyReply {
  async function* events(): AsyncGenerator<string> {
    try {
      for await (const c of chunks) yield sseEvent(c);
    } catch (e) {
      const err = toApiError(e);
      reply.log.error({ err: e }, 'error while streaming');
      yield sseEvent(err.toBody());
    }
    yield SSE_DONE;
  }
  reply.header('content-type', 'text/event-stream; charset=utf-8');
  reply.header('cache-control', 'no-cache');
  reply.header('x-accel-buffering', 'no');
  return reply.send(Readable.from(events(), { objectMode: false }));
}
