// POST /v1/completions: OpenAI's legacy completions API — prompt as text, texts, token ids or lists of ids; echo;
// logprobs; n; streaming. One engine request per prompt; choice index = prompt index * n + output index.
import type { FastifyInstance } from 'fastify';
import type { RequestOutput, SamplingParams } from '../../engine/types.js';
import type { TokenLogprobs } from '../../runner/batch.js';
import { badRequest } from '../api-error.js';
import { generateForReply, mergeTagged, peekFirst, type PeekedIterable } from '../generation.js';
import { completionLogprobs, concatCompletionLogprobs, promptLogprobsVllm, TokenStrings, type CompletionLogprobs } from '../logprobs-format.js';
import { countCompletionTokens, OutputDeltaTracker } from '../output-deltas.js';
import { checkedLogprobs, resolveMaxTokens, toSamplingParams, truncatePrompt } from '../sampling-params.js';
import { CompletionRequestSchema, type CompletionRequest } from '../schemas/completion-schema.js';
import { cutForLog, nowSeconds, requestIdFor, resolveModelName, samplingContext, type ServerContext } from '../server-context.js';
import { sendSse } from '../sse.js';
import { usageBody as usage } from '../usage.js';
import { parseStructuredOutput } from '../structured-request.js';
import { promptEncoderOf } from '../../tokenizer/prompt-encoder.js';

interface PreparedPrompt {
  text: string;
  tokenIds: number[];
  params: SamplingParams;
}

function normalizePrompts(prompt: CompletionRequest['prompt']): Array<string | number[]> {
  if (typeof prompt === 'string') return [prompt];
  if (prompt.length > 0 && typeof prompt[0] === 'number') return [prompt as number[]];
  return prompt as Array<string | number[]>;
}

export function registerCompletionsRoute(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: CompletionRequest }>(
    '/v1/completions',
    { schema: { body: CompletionRequestSchema, tags: ['OpenAI'], summary: 'Create a completion (OpenAI-compatible)' } },
    async (request, reply) => {
      const body = request.body;
      const model = resolveModelName(ctx, body.model);
      if (body.suffix !== undefined && body.suffix !== null && body.suffix !== '') {
        throw badRequest('suffix is not supported: serval (like vLLM) has no fill-in-the-middle for completions', 'suffix');
      }
      const n = body.n ?? 1;
      if (body.best_of !== undefined && body.best_of !== null && body.best_of !== n) {
        throw badRequest(`best_of (${body.best_of}) different from n (${n}) is not supported`, 'best_of');
      }
      if (body.stream_options && !body.stream) throw badRequest('stream_options can only be given when stream is true', 'stream_options');
      const sctx = samplingContext(ctx);
      const structured = parseStructuredOutput(body, ctx.options.structuredDefaults);
      const topN = body.logprobs === undefined || body.logprobs === null ? null : checkedLogprobs(body.logprobs, 'logprobs', sctx);
      const echo = body.echo ?? false;
      const wantedPromptLogprobs = body.prompt_logprobs !== undefined && body.prompt_logprobs !== null && body.prompt_logprobs >= 0 ? body.prompt_logprobs : null;
      const tokenizer = ctx.engine.tokenizer;
      const raws = normalizePrompts(body.prompt);
      // text prompts are encoded together by the engine's tokenizer pool, off the thread that runs the engine loop
      const encoder = promptEncoderOf(ctx.engine);
      const encoded = await Promise.all(raws.map((raw) => (typeof raw === 'string' ? encoder.encode(raw, { addSpecialTokens: body.add_special_tokens ?? true }) : raw)));
      const prompts: PreparedPrompt[] = raws.map((raw, pi) => {
        const tokenIds = truncatePrompt(encoded[pi]!, body.truncate_prompt_tokens, sctx.maxModelLen);
        if (typeof raw !== 'string') {
          for (const id of raw) if (id >= sctx.vocabSize) throw badRequest(`prompt contains token id ${id}, outside the vocabulary (size ${sctx.vocabSize})`, 'prompt');
        }
        const text = typeof raw === 'string' ? raw : tokenizer.decode(raw, { skipSpecialTokens: false });
        const params = toSamplingParams(body, sctx);
        params.maxTokens = resolveMaxTokens(body.max_tokens, tokenIds.length, sctx.maxModelLen, false);
        if (topN !== null) params.logprobs = topN;
        // echo with logprobs needs the prompt's logprobs too
        if (echo && topN !== null) params.promptLogprobs = Math.max(params.promptLogprobs ?? 0, topN);
        if (structured) params.structured = structured;
        return { text, tokenIds, params };
      });
      const id = requestIdFor('cmpl', request.headers['x-request-id'], body.request_id);
      reply.header('x-request-id', id);
      const created = nowSeconds();
      const strs = new TokenStrings(tokenizer, body.return_tokens_as_token_ids ?? false);
      if (ctx.options.enableLogRequests) {
        prompts.forEach((pp, i) =>
          ctx.log.info(
            { requestId: `${id}-${i}`, prompt: cutForLog(pp.text, ctx.options.maxLogLen), promptTokenIds: cutForLog(pp.tokenIds, ctx.options.maxLogLen), params: pp.params },
            `Received request ${id}-${i}`,
          ),
        );
      }
      const options = { ...(body.priority !== undefined ? { priority: body.priority } : {}), ...(body.cache_salt !== undefined ? { cacheSalt: body.cache_salt } : {}) };
      // streams take the engine's deltas; a whole response only needs the final output
      const mode = body.stream ? { delta: true } : { finalOnly: true };
      const started = await Promise.allSettled(
        prompts.map((pp, i) => peekFirst(generateForReply(ctx.engine, ctx.inflight, reply, { promptTokenIds: pp.tokenIds }, pp.params, `${id}-${i}`, { ...options, ...mode }))),
      );
      const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        // one prompt was refused: stop the others before answering with its error
        for (const r of started) if (r.status === 'fulfilled') await r.value.close();
        throw failed.reason;
      }
      const sources = started.map((r) => (r as PromiseFulfilledResult<PeekedIterable<RequestOutput>>).value);

      /** echoed prompt logprobs: the first prompt token has none */
      const promptLogprobs = (pi: number, lps: Array<TokenLogprobs | null> | null): CompletionLogprobs =>
        completionLogprobs(prompts[pi].tokenIds, lps ?? prompts[pi].tokenIds.map(() => null), topN ?? 0, strs, 0);

      if (!body.stream) {
        const finals: RequestOutput[] = [];
        for await (const { source, value } of mergeTagged(sources)) finals[source] = value;
        let promptTokens = 0;
        let completionTokens = 0;
        const choices = finals.flatMap((final, pi) => {
          promptTokens += final.promptTokenIds.length;
          completionTokens += countCompletionTokens(final);
          const prefix = echo ? prompts[pi].text : '';
          return final.outputs.map((o) => {
            let logprobs: CompletionLogprobs | null = null;
            if (topN !== null) {
              const gen = completionLogprobs(o.tokenIds, o.logprobs ?? [], topN, strs, prefix.length);
              logprobs = echo ? concatCompletionLogprobs(promptLogprobs(pi, final.promptLogprobs), gen) : gen;
            }
            const promptLps = wantedPromptLogprobs !== null ? promptLogprobsVllm(final.promptTokenIds, final.promptLogprobs, wantedPromptLogprobs, strs) : null;
            return { index: pi * n + o.index, text: prefix + o.text, logprobs, finish_reason: o.finishReason, stop_reason: o.stopReason, prompt_logprobs: promptLps };
          });
        });
        return { id, object: 'text_completion', created, model, choices, usage: usage(promptTokens, completionTokens) };
      }

      const includeUsage = body.stream_options?.include_usage ?? false;
      const continuous = body.stream_options?.continuous_usage_stats ?? false;
      async function* chunks(): AsyncGenerator<unknown> {
        const trackers = prompts.map(() => new OutputDeltaTracker(true));
        const offsets = new Map<number, number>();
        const promptTokens = prompts.map((pp) => pp.tokenIds.length);
        const completionTokens = prompts.map(() => 0);
        const total = () => usage(promptTokens.reduce((a, b) => a + b, 0), completionTokens.reduce((a, b) => a + b, 0));
        for await (const { source: pi, value: out } of mergeTagged(sources)) {
          const deltas = trackers[pi].update(out);
          completionTokens[pi] = trackers[pi].completionTokens;
          for (const d of deltas) {
            const index = pi * n + d.index;
            const firstChunk = !offsets.has(index);
            const prefix = echo && firstChunk ? prompts[pi].text : '';
            const start = offsets.get(index) ?? 0;
            let logprobs: CompletionLogprobs | null = null;
            if (topN !== null) {
              const gen = completionLogprobs(d.tokenIds, d.logprobs ?? [], topN, strs, start + prefix.length);
              logprobs = echo && firstChunk ? concatCompletionLogprobs(promptLogprobs(pi, trackers[pi].promptLogprobs), gen) : gen;
            }
            offsets.set(index, start + prefix.length + d.text.length);
            const text = prefix + d.text;
            if (text === '' && d.finishReason === null && (!logprobs || logprobs.tokens.length === 0)) continue;
            const c: Record<string, unknown> = {
              id,
              object: 'text_completion',
              created,
              model,
              choices: [{ index, text, logprobs, finish_reason: d.finishReason, stop_reason: d.stopReason }],
            };
            if (continuous) c.usage = total();
            yield c;
          }
        }
        if (includeUsage) yield { id, object: 'text_completion', created, model, choices: [], usage: total() };
      }
      return sendSse(reply, chunks());
    },
  );
}
