// OpenAI/vLLM request fields (snake_case) → the engine's SamplingParams, with vLLM's checks of max_tokens against
// the context length and of logprob counts against --max-logprobs.
import type { SamplingParams } from '../engine/types.js';
import { badRequest } from './api-error.js';

export interface SamplingFieldsIn {
  n?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  min_p?: number | null;
  repetition_penalty?: number | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  logit_bias?: Record<string, number> | null;
  seed?: number | null;
  stop?: string | string[] | null;
  stop_token_ids?: number[] | null;
  include_stop_str_in_output?: boolean;
  ignore_eos?: boolean;
  min_tokens?: number;
  skip_special_tokens?: boolean;
  spaces_between_special_tokens?: boolean;
  allowed_token_ids?: number[] | null;
  bad_words?: string[];
  prompt_logprobs?: number | null;
}

export interface SamplingContext {
  maxModelLen: number;
  maxLogprobs: number;
  vocabSize: number;
}

function checkLogprobCount(n: number, field: string, max: number): void {
  if (n > max) throw badRequest(`Requested ${field} of ${n}, which is greater than max allowed: ${max}`, field);
}

function checkTokenIds(ids: number[], field: string, vocabSize: number): void {
  for (const id of ids) if (id >= vocabSize) throw badRequest(`${field} contains token id ${id}, outside the vocabulary (size ${vocabSize})`, field);
}

/** vLLM's checks: a prompt that fills the context is refused; max_tokens must fit in what is left. */
export function resolveMaxTokens(requested: number | null | undefined, promptTokens: number, maxModelLen: number, messages: boolean): number {
  if (promptTokens >= maxModelLen) {
    throw badRequest(
      `This model's maximum context length is ${maxModelLen} tokens. However, your request has ${promptTokens} input tokens. ` +
        `Please reduce the length of the input ${messages ? 'messages' : 'prompt'}.`,
      messages ? 'messages' : 'prompt',
    );
  }
  const left = maxModelLen - promptTokens;
  if (requested === undefined || requested === null) return left;
  if (requested > left) {
    throw badRequest(
      `'max_tokens' or 'max_completion_tokens' is too large: ${requested}. This model's maximum context length is ${maxModelLen} tokens ` +
        `and your request has ${promptTokens} input tokens (${requested} > ${maxModelLen} - ${promptTokens}).`,
      'max_tokens',
    );
  }
  return requested;
}

/** Everything but maxTokens, logprobs and structured (which depend on the route and the prompt). */
export function toSamplingParams(b: SamplingFieldsIn, ctx: SamplingContext): SamplingParams {
  const p: SamplingParams = {};
  if (b.n != null) p.n = b.n;
  if (b.temperature !== undefined && b.temperature !== null) p.temperature = b.temperature;
  if (b.top_p !== undefined && b.top_p !== null) p.topP = b.top_p;
  if (b.top_k !== undefined && b.top_k !== null) p.topK = b.top_k;
  if (b.min_p !== undefined && b.min_p !== null) p.minP = b.min_p;
  if (b.repetition_penalty !== undefined && b.repetition_penalty !== null) p.repetitionPenalty = b.repetition_penalty;
  if (b.presence_penalty !== undefined && b.presence_penalty !== null) p.presencePenalty = b.presence_penalty;
  if (b.frequency_penalty !== undefined && b.frequency_penalty !== null) p.frequencyPenalty = b.frequency_penalty;
  if (b.logit_bias) {
    for (const k of Object.keys(b.logit_bias)) {
      if (!/^\d+$/.test(k)) throw badRequest(`logit_bias keys must be token ids, got '${k}'`, 'logit_bias');
      checkTokenIds([Number(k)], 'logit_bias', ctx.vocabSize);
    }
    p.logitBias = b.logit_bias;
  }
  if (b.seed !== undefined && b.seed !== null) p.seed = b.seed;
  if (b.stop !== undefined && b.stop !== null) p.stop = b.stop;
  if (b.stop_token_ids) {
    checkTokenIds(b.stop_token_ids, 'stop_token_ids', ctx.vocabSize);
    p.stopTokenIds = b.stop_token_ids;
  }
  if (b.include_stop_str_in_output !== undefined) p.includeStopStrInOutput = b.include_stop_str_in_output;
  if (b.ignore_eos !== undefined) p.ignoreEos = b.ignore_eos;
  if (b.min_tokens !== undefined) p.minTokens = b.min_tokens;
  if (b.skip_special_tokens !== undefined) p.skipSpecialTokens = b.skip_special_tokens;
  if (b.spaces_between_special_tokens !== undefined) p.spacesBetweenSpecialTokens = b.spaces_between_special_tokens;
  if (b.allowed_token_ids) {
    checkTokenIds(b.allowed_token_ids, 'allowed_token_ids', ctx.vocabSize);
    p.allowedTokenIds = b.allowed_token_ids;
  }
  if (b.bad_words) p.badWords = b.bad_words;
  if (b.prompt_logprobs !== undefined && b.prompt_logprobs !== null && b.prompt_logprobs >= 0) {
    checkLogprobCount(b.prompt_logprobs, 'prompt_logprobs', ctx.maxLogprobs);
    p.promptLogprobs = b.prompt_logprobs;
  }
  return p;
}

export function checkedLogprobs(n: number, field: string, ctx: SamplingContext): number {
  checkLogprobCount(n, field, ctx.maxLogprobs);
  return n;
}

/** vLLM's truncate_prompt_tokens: keep the last k tokens of the prompt (-1 = as many as the context holds) */
export function truncatePrompt(ids: number[], k: number | null | undefined, maxModelLen: number): number[] {
  if (k === undefined || k === null) return ids;
  const keep = k === -1 ? maxModelLen : k;
  if (keep < 1) throw badRequest('truncate_prompt_tokens must be -1 or at least 1', 'truncate_prompt_tokens');
  if (keep > maxModelLen) {
    throw badRequest(`truncate_prompt_tokens (${keep}) is larger than the model's maximum context length (${maxModelLen})`, 'truncate_prompt_tokens');
  }
  return ids.length > keep ? ids.slice(ids.length - keep) : ids;
}
