// POST /v1/chat/completions: OpenAI's chat API, streamed or not, with n, logprobs, tools and structured output.
import type { FastifyInstance } from 'fastify';
import type { RequestOutput, SamplingParams } from '../../engine/types.js';
import { badRequest } from '../api-error.js';
import { encodeChatPrompt } from '../chat-prompt.js';
import { generateForReply, peekFirst } from '../generation.js';
import { chatLogprobs, promptLogprobsVllm, TokenStrings, type ChatTokenLogprob } from '../logprobs-format.js';
import { countCompletionTokens, OutputDeltaTracker } from '../output-deltas.js';
import { checkedLogprobs, resolveMaxTokens, toSamplingParams, truncatePrompt } from '../sampling-params.js';
import { ChatRequestSchema, type ChatRequest } from '../schemas/chat-schema.js';
import { cutForLog, nowSeconds, requestIdFor, resolveModelName, samplingContext, type ServerContext } from '../server-context.js';
import { sendSse } from '../sse.js';
import { usageBody as usage } from '../usage.js';
import { parseStructuredOutput } from '../structured-request.js';
import { HermesToolCallStreamParser, newToolCallId, parseHermesToolCalls, toOpenAIToolCall, type OpenAIToolCall, type ParsedToolCall } from '../tool-calls.js';
import { resolveToolMode, toolChoiceConstraint, type ToolMode } from '../tool-choice.js';

interface PreparedChat {
  id: string;
  created: number;
  model: string;
  params: SamplingParams;
  promptTokenIds: number[];
  toolMode: ToolMode;
  topLogprobs: number | null;
  strs: TokenStrings;
  echoText: string | null;
}

async function prepare(ctx: ServerContext, body: ChatRequest, headerId: string | string[] | undefined): Promise<PreparedChat> {
  const model = resolveModelName(ctx, body.model);
  const sctx = samplingContext(ctx);
  const toolMode = resolveToolMode(body.tools, body.tool_choice);
  const structured = parseStructuredOutput(body, ctx.options.structuredDefaults, toolChoiceConstraint(toolMode, body.tools));
  // encoded on the engine's tokenizer pool: long prompts do not block the thread that runs the engine loop
  const prompt = await encodeChatPrompt(ctx.engine, body.messages, {
    tools: body.tools,
    ...(body.add_generation_prompt !== undefined ? { addGenerationPrompt: body.add_generation_prompt } : {}),
    ...(body.continue_final_message !== undefined ? { continueFinalMessage: body.continue_final_message } : {}),
  });
  prompt.tokenIds = truncatePrompt(prompt.tokenIds, body.truncate_prompt_tokens, sctx.maxModelLen);
  const params = toSamplingParams(body, sctx);
  params.maxTokens = resolveMaxTokens(body.max_completion_tokens ?? body.max_tokens, prompt.tokenIds.length, sctx.maxModelLen, true);
  let topLogprobs: number | null = null;
  if (body.logprobs) {
    topLogprobs = checkedLogprobs(body.top_logprobs ?? 0, 'top_logprobs', sctx);
    params.logprobs = topLogprobs;
  } else if (body.top_logprobs !== undefined && body.top_logprobs !== null && body.top_logprobs > 0) {
    throw badRequest('when using `top_logprobs`, `logprobs` must be set to true', 'top_logprobs');
  }
  if (structured) params.structured = structured;
  const last = body.messages[body.messages.length - 1];
  const echoText = body.echo && last.role === 'assistant' && typeof last.content === 'string' ? last.content : null;
  const id = requestIdFor('chatcmpl', headerId, body.request_id);
  if (ctx.options.enableLogRequests) {
    ctx.log.info(
      { requestId: id, prompt: cutForLog(prompt.text, ctx.options.maxLogLen), promptTokenIds: cutForLog(prompt.tokenIds, ctx.options.maxLogLen), params },
      `Received request ${id}`,
    );
  }
  return {
    id,
    created: nowSeconds(),
    model,
    params,
    promptTokenIds: prompt.tokenIds,
    toolMode,
    topLogprobs,
    strs: new TokenStrings(ctx.engine.tokenizer, body.return_tokens_as_token_ids ?? false),
    echoText,
  };
}

/** Interprets a finished choice's text under the tool mode: content, tool calls and the finish reason. */
function finalMessage(mode: ToolMode, text: string, engineReason: string): { content: string | null; calls: OpenAIToolCall[]; finishReason: string } {
  if (mode.kind === 'auto') {
    const { content, calls } = parseHermesToolCalls(text);
    return { content, calls: calls.map(toOpenAIToolCall), finishReason: calls.length > 0 && engineReason === 'stop' ? 'tool_calls' : engineReason };
  }
  if (mode.kind === 'named') {
    return { content: null, calls: [toOpenAIToolCall({ name: mode.name, arguments: text })], finishReason: engineReason };
  }
  if (mode.kind === 'required') {
    const calls = parseRequiredCalls(text);
    if (calls) return { content: null, calls: calls.map(toOpenAIToolCall), finishReason: engineReason === 'stop' ? 'tool_calls' : engineReason };
  }
  return { content: text, calls: [], finishReason: engineReason };
}

/** tool_choice "required" output: a JSON list of {name, parameters}; null if the output is not one (cut short). */
function parseRequiredCalls(text: string): ParsedToolCall[] | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!Array.isArray(v)) return null;
  const calls: ParsedToolCall[] = [];
  for (const item of v) {
    if (!item || typeof item !== 'object' || typeof (item as { name?: unknown }).name !== 'string') return null;
    const { name, parameters } = item as { name: string; parameters?: unknown };
    calls.push({ name, arguments: JSON.stringify(parameters ?? {}) });
  }
  return calls;
}

async function respond(p: PreparedChat, outputs: AsyncIterable<RequestOutput>): Promise<unknown> {
  let last: RequestOutput | null = null;
  for await (const out of outputs) last = out;
  if (!last) throw new Error('the engine ended the request without an output');
  const final = last;
  const choices = final.outputs.map((o) => {
    const text = (p.echoText ?? '') + o.text;
    const { content, calls, finishReason } = finalMessage(p.toolMode, text, o.finishReason ?? 'abort');
    const message: Record<string, unknown> = { role: 'assistant', content, tool_calls: calls };
    return {
      index: o.index,
      message,
      logprobs: p.topLogprobs !== null && o.logprobs ? { content: chatLogprobs(o.tokenIds, o.logprobs, p.topLogprobs, p.strs) } : null,
      finish_reason: finishReason,
      stop_reason: o.stopReason,
    };
  });
  const body: Record<string, unknown> = {
    id: p.id,
    object: 'chat.completion',
    created: p.created,
    model: p.model,
    choices,
    usage: usage(final.promptTokenIds.length, countCompletionTokens(final)),
  };
  if (p.params.promptLogprobs !== undefined) body.prompt_logprobs = promptLogprobsVllm(final.promptTokenIds, final.promptLogprobs, p.params.promptLogprobs, p.strs);
  return body;
}

/** Per-choice streaming state: tool-call parsing and what was emitted. */
class ChoiceStream {
  readonly parser = new HermesToolCallStreamParser();
  toolCalls = 0;
  namedStarted = false;
  buffered = '';

  constructor(readonly mode: ToolMode) {}

  /** content and tool-call deltas for new text (final = the choice just finished) */
  step(text: string, final: boolean): { content: string; toolCalls: Array<Record<string, unknown>> } {
    const toolCalls: Array<Record<string, unknown>> = [];
    const push = (c: ParsedToolCall): void => {
      toolCalls.push({ index: this.toolCalls++, id: newToolCallId(), type: 'function', function: { name: c.name, arguments: c.arguments } });
    };
    switch (this.mode.kind) {
      case 'none':
        return { content: text, toolCalls };
      case 'auto': {
        const d = this.parser.feed(text);
        let content = d.content;
        d.calls.forEach(push);
        if (final) {
          const f = this.parser.finish();
          content += f.content;
          f.calls.forEach(push);
        }
        return { content, toolCalls };
      }
      case 'named': {
        if (!this.namedStarted) {
          this.namedStarted = true;
          this.toolCalls = 1;
          toolCalls.push({ index: 0, id: newToolCallId(), type: 'function', function: { name: this.mode.name, arguments: text } });
        } else if (text !== '') {
          toolCalls.push({ index: 0, function: { arguments: text } });
        }
        return { content: '', toolCalls };
      }
      case 'required': {
        this.buffered += text;
        if (!final) return { content: '', toolCalls };
        const calls = parseRequiredCalls(this.buffered);
        if (!calls) return { content: this.buffered, toolCalls };
        calls.forEach(push);
        return { content: '', toolCalls };
      }
    }
  }
}

function streamChunks(p: PreparedChat, outputs: AsyncIterable<RequestOutput>, n: number, includeUsage: boolean, continuousUsage: boolean): AsyncIterable<unknown> {
  return (async function* () {
    const tracker = new OutputDeltaTracker(true);
    const choices = Array.from({ length: n }, () => new ChoiceStream(p.toolMode));
    const base = { id: p.id, object: 'chat.completion.chunk', created: p.created, model: p.model };
    let promptTokens = p.promptTokenIds.length;
    let completionTokens = 0;
    const chunk = (choice: Record<string, unknown>): Record<string, unknown> => {
      const c: Record<string, unknown> = { ...base, choices: [choice] };
      if (continuousUsage) c.usage = usage(promptTokens, completionTokens);
      return c;
    };
    let first = true;
    for await (const out of outputs) {
      promptTokens = out.promptTokenIds.length;
      const deltas = tracker.update(out);
      completionTokens = tracker.completionTokens;
      if (first) {
        first = false;
        for (let i = 0; i < n; i++) {
          yield chunk({ index: i, delta: { role: 'assistant', content: p.echoText ?? '' }, logprobs: null, finish_reason: null });
        }
      }
      for (const d of deltas) {
        const state = choices[d.index];
        const finished = d.finishReason !== null;
        const { content, toolCalls } = state.step(d.text, finished);
        const delta: Record<string, unknown> = {};
        if (content !== '') delta.content = content;
        if (toolCalls.length > 0) delta.tool_calls = toolCalls;
        let logprobs: { content: ChatTokenLogprob[] } | null = null;
        if (p.topLogprobs !== null && d.logprobs && d.logprobs.length > 0) {
          logprobs = { content: chatLogprobs(d.tokenIds, d.logprobs, p.topLogprobs, p.strs) };
        }
        if (!finished) {
          if (Object.keys(delta).length === 0 && !logprobs) continue;
          yield chunk({ index: d.index, delta, logprobs, finish_reason: null });
          continue;
        }
        let reason: string = d.finishReason!;
        if (state.toolCalls > 0 && reason === 'stop' && state.mode.kind !== 'named') reason = 'tool_calls';
        yield chunk({ index: d.index, delta, logprobs, finish_reason: reason, stop_reason: d.stopReason });
      }
    }
    if (includeUsage) yield { ...base, choices: [], usage: usage(promptTokens, completionTokens) };
  })();
}

export function registerChatRoute(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: ChatRequest }>(
    '/v1/chat/completions',
    { schema: { body: ChatRequestSchema, tags: ['OpenAI'], summary: 'Create a chat completion (OpenAI-compatible)' } },
    async (request, reply) => {
      const body = request.body;
      if (body.stream_options && !body.stream) throw badRequest('stream_options can only be given when stream is true', 'stream_options');
      const p = await prepare(ctx, body, request.headers['x-request-id']);
      reply.header('x-request-id', p.id);
      const options = { ...(body.priority !== undefined ? { priority: body.priority } : {}), ...(body.cache_salt !== undefined ? { cacheSalt: body.cache_salt } : {}) };
      // streams take the engine's deltas; a whole response only needs the final output
      const mode = body.stream ? { delta: true } : { finalOnly: true };
      const it = generateForReply(ctx.engine, ctx.inflight, reply, { promptTokenIds: p.promptTokenIds }, p.params, p.id, { ...options, ...mode });
      const outputs = await peekFirst(it);
      if (body.stream) {
        const so = body.stream_options ?? null;
        return sendSse(reply, streamChunks(p, outputs, p.params.n ?? 1, so?.include_usage ?? false, so?.continuous_usage_stats ?? false));
      }
      return respond(p, outputs);
    },
  );
}
