// What every route handler needs: the engine, the server options, in-flight tracking and model-name checks.
import { randomBytes } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { ApiError } from './api-error.js';
import type { InflightRequests } from './inflight.js';
import type { SamplingContext } from './sampling-params.js';
import type { ServerEngine } from './server-engine.js';
import type { ServerOptions } from './server-options.js';

export interface ServerContext {
  engine: ServerEngine;
  options: ServerOptions;
  inflight: InflightRequests;
  log: FastifyBaseLogger;
}

/** The name reported in responses: the first served name. Any served name (or none) is accepted. */
export function resolveModelName(ctx: ServerContext, requested: string | null | undefined): string {
  const names = ctx.options.servedModelNames;
  if (requested === undefined || requested === null || requested === '' || names.includes(requested)) return names[0];
  throw new ApiError(404, `The model \`${requested}\` does not exist.`, 'model');
}

export function samplingContext(ctx: ServerContext): SamplingContext {
  return {
    maxModelLen: ctx.engine.maxModelLen,
    maxLogprobs: ctx.engine.args.maxLogprobs,
    vocabSize: Math.max(ctx.engine.modelConfig.vocabSize, ctx.engine.tokenizer.size),
  };
}

/** vLLM's request ids: `<prefix>-<X-Request-Id header | body request_id | random hex>` */
export function requestIdFor(prefix: string, headerId: string | string[] | undefined, bodyId: unknown): string {
  const given = typeof headerId === 'string' && headerId !== '' ? headerId : typeof bodyId === 'string' && bodyId !== '' ? bodyId : null;
  return `${prefix}-${given ?? randomBytes(16).toString('hex')}`;
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** "prompt: '…'" for request logs, cut to --max-log-len */
export function cutForLog<T>(value: string | T[], maxLen: number | null): string | T[] {
  if (maxLen === null) return value;
  return value.slice(0, maxLen) as string | T[];
}
