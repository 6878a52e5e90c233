// Builds the fastify app: CORS, API-key auth on /v1, OpenAI error envelopes, OpenAPI docs, and the routes.
import { readFileSync } from 'node:fs';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { SERVAL_VERSION } from '../version.js';
import { createVllmMetrics, type VllmMetrics } from '../metrics/vllm-metrics.js';
import { mergeExtraBody } from './extra-body.js';
import { ignoredFields } from './ignored-fields.js';
import { ApiError, errorBody, toApiError } from './api-error.js';
import { ApiKeyChecker, requiresApiKey } from './auth.js';
import { InflightRequests } from './inflight.js';
import { registerChatRoute } from './routes/chat-completions.js';
import { registerCompletionsRoute } from './routes/completions.js';
import { registerInfoRoutes } from './routes/info-routes.js';
import { registerTokenizeRoutes } from './routes/tokenize-routes.js';
import type { ServerContext } from './server-context.js';
import type { ServerEngine } from './server-engine.js';
import type { ServerOptions } from './server-options.js';

export interface BuiltServer {
  app: FastifyInstance;
  inflight: InflightRequests;
  metrics: VllmMetrics;
}

export interface BuildServerOptions {
  /** pino logger (serve passes its own); false/undefined = silent */
  logger?: FastifyBaseLogger;
  /** where access-log lines go (serve: the --uvicorn-log-level logger); default the app's logger */
  accessLogger?: FastifyBaseLogger;
}

/** "body/max_tokens must be >= 1" → param "max_tokens" and a message naming the field */
function validationError(e: FastifyError): ApiError {
  const v = e.validation?.[0];
  const path = (v?.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
  const missing = v?.keyword === 'required' ? String((v.params as { missingProperty?: string }).missingProperty ?? '') : '';
  // an object that takes only the members it names (structured_outputs): the member it does not know, named
  const extra = v?.keyword === 'additionalProperties' ? String((v.params as { additionalProperty?: string }).additionalProperty ?? '') : '';
  const field = [path, missing, extra].filter((x) => x !== '').join('.');
  const detail = extra ? `is not a field ${path || 'the request'} takes` : (unionTypes(e, v) ?? v?.message ?? 'is invalid');
  const message = field ? `${field}: ${detail}` : (e.message ?? 'invalid request');
  return new ApiError(400, message, field || null);
}

/**
 * a field of several types or values (a union: each branch fails, then anyOf) is reported as its first branch's error
 * ("must be string" for a guided_json of 5): name every type or value it takes instead; null if it is no such union
 */
function unionTypes(e: FastifyError, first: NonNullable<FastifyError['validation']>[number] | undefined): string | null {
  if (!first || (first.keyword !== 'type' && first.keyword !== 'const')) return null;
  const at = first.instancePath;
  const errors = e.validation ?? [];
  if (!errors.some((x) => x.keyword === 'anyOf' && x.instancePath === at)) return null;
  const branch = (x: (typeof errors)[number]) => (x.keyword === 'type' ? String((x.params as { type?: unknown }).type) : JSON.stringify((x.params as { allowedValue?: unknown }).allowedValue));
  const taken = [...new Set(errors.filter((x) => (x.keyword === 'type' || x.keyword === 'const') && x.instancePath === at).map(branch))];
  if (taken.length < 2) return null;
  return `must be ${first.keyword === 'const' ? 'one of ' : ''}${taken.slice(0, -1).join(', ')} or ${taken.at(-1)}`;
}

export async function buildServer(engine: ServerEngine, options: ServerOptions, build: BuildServerOptions = {}): Promise<BuiltServer> {
  const https = options.tls ? { key: readFileSync(options.tls.keyFile), cert: readFileSync(options.tls.certFile) } : null;
  const base = {
    bodyLimit: options.bodyLimit,
    // the access log is our own onResponse line (uvicorn's format), not fastify's two lines per request
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    ...(build.logger ? { loggerInstance: build.logger } : { logger: false }),
  };
  const app = (https ? Fastify({ ...base, https }) : Fastify(base)) as unknown as FastifyInstance;

  const inflight = new InflightRequests(engine);
  const metrics = createVllmMetrics(engine, options.servedModelNames[0]);
  const ctx: ServerContext = { engine, options, inflight, log: app.log };
  const keys = new ApiKeyChecker(options.apiKeys);

  await app.register(cors, {
    origin: options.cors.origins.includes('*') ? true : options.cors.origins,
    methods: options.cors.methods.includes('*') ? ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE', 'OPTIONS'] : options.cors.methods,
    ...(options.cors.headers.includes('*') ? {} : { allowedHeaders: options.cors.headers }),
    credentials: options.cors.credentials,
  });

  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0];
    if (keys.enabled && requiresApiKey(request.method, path) && !keys.check(request.headers.authorization)) {
      return reply
        .code(401)
        .send(errorBody(401, 'Missing or invalid API key: send it as "Authorization: Bearer <key>"', null));
    }
  });
  // before the routes' schemas check the body: extra_body's fields are top-level fields (extra-body.ts)
  app.addHook('preValidation', async (request) => {
    if (request.method === 'POST') mergeExtraBody(request.body);
  });
  // fields the route does not know are ignored, and named in the log (as vLLM does)
  app.addHook('preHandler', async (request) => {
    const ignored = ignoredFields(request.body, request.routeOptions.schema?.body);
    if (ignored.length > 0) request.log.warn(`The following fields were present in the request but ignored: ${ignored.join(', ')}`);
  });
  if (options.accessLog) {
    app.addHook('onResponse', async (request, reply) => {
      (build.accessLogger ?? request.log).info(`${request.ip} "${request.method} ${request.url} HTTP/${request.raw.httpVersion}" ${reply.statusCode} ${reply.elapsedTime.toFixed(1)}ms`);
    });
  }

  app.setErrorHandler((error: FastifyError, request, reply) => {
    let api: ApiError;
    if (error.validation) api = validationError(error);
    else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') api = new ApiError(413, `request body larger than the limit of ${options.bodyLimit} bytes`);
    else if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') api = new ApiError(415, `unsupported content type ${request.headers['content-type'] ?? '(none)'}: send application/json`);
    else if (error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error instanceof SyntaxError) api = new ApiError(400, `invalid JSON body: ${error.message}`);
    else api = toApiError(error);
    if (api.status >= 500) request.log.error({ err: error }, 'request failed');
    return reply.code(api.status).send(api.toBody());
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody(404, `Route ${request.method}:${request.url.split('?')[0]} not found`));
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'serval', description: 'OpenAI-compatible LLM inference server (vLLM-compatible API)', version: SERVAL_VERSION },
      servers: options.rootPath ? [{ url: options.rootPath }] : [],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  registerInfoRoutes(app, ctx);
  registerChatRoute(app, ctx);
  registerCompletionsRoute(app, ctx);
  registerTokenizeRoutes(app, ctx);
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/metrics', { schema: { tags: ['Server'], summary: 'Prometheus metrics (vLLM names)' } }, async (_req, reply) =>
    reply.header('content-type', metrics.contentType).send(await metrics.render()),
  );
  return { app, inflight, metrics };
}
