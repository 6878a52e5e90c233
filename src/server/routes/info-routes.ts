// GET /v1/models, /health, /ping, /version.
import type { FastifyInstance } from 'fastify';
import { SERVAL_VERSION } from '../../version.js';
import { ApiError } from '../api-error.js';
import { nowSeconds, type ServerContext } from '../server-context.js';

export function registerInfoRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const created = nowSeconds();
  const card = (name: string) => ({
    id: name,
    object: 'model',
    created,
    owned_by: 'serval',
    root: ctx.options.modelRoot,
    parent: null,
    max_model_len: ctx.engine.maxModelLen,
    permission: [
      {
        id: `modelperm-${name}`,
        object: 'model_permission',
        created,
        allow_create_engine: false,
        allow_sampling: true,
        allow_logprobs: true,
        allow_search_indices: false,
        allow_view: true,
        allow_fine_tuning: false,
        organization: '*',
        group: null,
        is_blocking: false,
      },
    ],
  });
  app.get('/v1/models', { schema: { tags: ['OpenAI'], summary: 'List the served model names' } }, async () => ({
    object: 'list',
    data: ctx.options.servedModelNames.map(card),
  }));
  app.get<{ Params: { '*': string } }>('/v1/models/*', { schema: { tags: ['OpenAI'], summary: 'One served model (names may hold slashes)' } }, async (request) => {
    const name = request.params['*'];
    if (!ctx.options.servedModelNames.includes(name)) throw new ApiError(404, `The model \`${name}\` does not exist.`, 'model');
    return card(name);
  });
  app.get('/health', { schema: { tags: ['Server'], summary: 'Health: 200 while the engine serves, 503 once its steps keep failing' } }, async (_req, reply) => {
    const h = ctx.engine.health?.() ?? { healthy: true, error: null };
    if (h.healthy) return reply.code(200).send();
    throw new ApiError(503, `the engine is unhealthy: ${h.error}`, null);
  });
  app.get('/ping', { schema: { tags: ['Server'], summary: 'Liveness (SageMaker style)' } }, async (_req, reply) => reply.code(200).send());
  app.get('/version', { schema: { tags: ['Server'], summary: 'serval version' } }, async () => ({ version: SERVAL_VERSION }));
}
