// run-batch's endpoints are the HTTP server's own routes, called in-process through fastify's inject (no socket,
// no port): request validation, the OpenAI → SamplingParams mapping, chat templating, response bodies and error
// envelopes are exactly those of `serval serve`, with nothing duplicated here.
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../server/app.js';
import type { ServerEngine } from '../server/server-engine.js';
import { DEFAULT_SERVER_OPTIONS, type StructuredDefaults } from '../server/server-options.js';
import type { BatchEndpoint } from './run-batch.js';

export interface ServerBatchEndpoint extends BatchEndpoint {
  close(): Promise<void>;
}

export interface ServerBatchEndpointOptions {
  /** names a request's "model" may use; the first is reported in responses */
  servedModelNames: string[];
  /** what the model is loaded from (reported as the model root) */
  modelRoot: string;
  /** --structured-outputs-config defaults, as serve applies them */
  structuredDefaults?: StructuredDefaults;
}

export async function createServerBatchEndpoint(engine: ServerEngine, opts: ServerBatchEndpointOptions): Promise<ServerBatchEndpoint> {
  const { app } = await buildServer(engine, {
    ...DEFAULT_SERVER_OPTIONS,
    servedModelNames: opts.servedModelNames,
    modelRoot: opts.modelRoot,
    structuredDefaults: opts.structuredDefaults ?? {},
    accessLog: false,
  });
  await app.ready();
  return {
    call: (url, body, requestId) => callRoute(app, url, body, requestId),
    close: () => app.close(),
  };
}

async function callRoute(app: FastifyInstance, url: string, body: Record<string, unknown>, requestId: string): Promise<{ statusCode: number; body: unknown }> {
  if (body.stream === true) {
    // a batch result line holds one complete response body; streaming has no meaning here
    return { statusCode: 400, body: { error: { message: 'stream: true is not supported in batch requests', type: 'BadRequestError', param: 'stream', code: 400 } } };
  }
  const res = await app.inject({ method: 'POST', url, payload: body, headers: { 'content-type': 'application/json', 'x-request-id': requestId } });
  let parsed: unknown;
  try {
    parsed = res.json();
  } catch {
    throw new Error(`${url} answered HTTP ${res.statusCode} with a body that is not JSON: ${res.body.slice(0, 200)}`);
  }
  return { statusCode: res.statusCode, body: parsed };
}
