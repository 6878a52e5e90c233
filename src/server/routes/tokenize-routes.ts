// POST /tokenize (a prompt, or chat messages through the chat template) and POST /detokenize, as vLLM has them.
import type { FastifyInstance } from 'fastify';
import { badRequest } from '../api-error.js';
import { renderChatPrompt } from '../chat-prompt.js';
import { DetokenizeRequestSchema, TokenizeRequestSchema, type DetokenizeRequest, type TokenizeRequest } from '../schemas/tokenize-schema.js';
import { resolveModelName, samplingContext, type ServerContext } from '../server-context.js';

export function registerTokenizeRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const tokenizer = ctx.engine.tokenizer;
  app.post<{ Body: TokenizeRequest }>(
    '/tokenize',
    { schema: { body: TokenizeRequestSchema, tags: ['Tokenizer'], summary: 'Tokenize a prompt or chat messages' } },
    async (request) => {
      const body = request.body;
      resolveModelName(ctx, body.model);
      let tokens: number[];
      if ('messages' in body) {
        tokens = renderChatPrompt(
          ctx.engine,
          body.messages,
          {
            tools: body.tools,
            ...(body.add_generation_prompt !== undefined ? { addGenerationPrompt: body.add_generation_prompt } : {}),
            ...(body.continue_final_message !== undefined ? { continueFinalMessage: body.continue_final_message } : {}),
          },
          body.add_special_tokens ?? false,
        ).tokenIds;
      } else {
        tokens = tokenizer.encode(body.prompt, { addSpecialTokens: body.add_special_tokens ?? true });
      }
      const tokenStrs = body.return_token_strs ? tokens.map((t) => tokenizer.idToToken(t) ?? '') : null;
      return { count: tokens.length, max_model_len: ctx.engine.maxModelLen, tokens, token_strs: tokenStrs };
    },
  );
  app.post<{ Body: DetokenizeRequest }>(
    '/detokenize',
    { schema: { body: DetokenizeRequestSchema, tags: ['Tokenizer'], summary: 'Turn token ids back into text' } },
    async (request) => {
      resolveModelName(ctx, request.body.model);
      const vocab = samplingContext(ctx).vocabSize;
      for (const t of request.body.tokens) if (t >= vocab) throw badRequest(`token id ${t} is outside the vocabulary (size ${vocab})`, 'tokens');
      return { prompt: tokenizer.decode(request.body.tokens) };
    },
  );
}
