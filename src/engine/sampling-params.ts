// Validation and resolution of SamplingParams with vLLM's names, defaults and error messages.
// Precedence: the request's value → generation_config.json defaults → vLLM's default.
import type { SamplingParams, StructuredConstraint } from './types.js';

/** defaults a model's generation_config.json may set (vLLM reads exactly these) */
export interface GenerationDefaults {
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  repetitionPenalty?: number;
  maxTokens?: number;
}

export interface ResolvedSamplingParams {
  n: number;
  temperature: number;
  topP: number;
  topK: number;
  minP: number;
  repetitionPenalty: number;
  presencePenalty: number;
  frequencyPenalty: number;
  logitBias: Map<number, number> | null;
  allowedTokenIds: Int32Array | null;
  badWords: string[];
  seed: number | null;
  logprobs: number | null;
  promptLogprobs: number | null;
  /** the request's max_tokens; null = up to max_model_len - prompt length (capped by defaultMaxTokens) */
  maxTokens: number | null;
  /** generation_config's max_new_tokens: a cap on the default, never an error */
  defaultMaxTokens: number | null;
  minTokens: number;
  stop: string[];
  stopTokenIds: number[];
  includeStopStrInOutput: boolean;
  ignoreEos: boolean;
  skipSpecialTokens: boolean;
  spacesBetweenSpecialTokens: boolean;
  structured: StructuredConstraint | null;
}

/** an invalid sampling parameter (an HTTP 400); the message names the field */
export class SamplingParamsError extends Error {
  override name = 'SamplingParamsError';
  readonly status = 400;
}

function fail(msg: string): never {
  throw new SamplingParamsError(msg);
}

function num(name: string, v: unknown): number {
  if (typeof v !== 'number' || Number.isNaN(v)) fail(`${name} must be a number, got ${JSON.stringify(v)}.`);
  return v;
}

function int(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) fail(`${name} must be an integer, got ${JSON.stringify(v)}.`);
  return v;
}

function intList(name: string, v: unknown): number[] {
  if (!Array.isArray(v)) fail(`${name} must be a list of integers, got ${JSON.stringify(v)}.`);
  return v.map((x, i) => int(`${name}[${i}]`, x));
}

export interface ResolveContext {
  vocabSize: number;
  maxLogprobs: number;
  defaults?: GenerationDefaults;
}

export function resolveSamplingParams(p: SamplingParams, ctx: ResolveContext): ResolvedSamplingParams {
  if (p === null || typeof p !== 'object') fail('sampling params must be an object.');
  const d = ctx.defaults ?? {};
  const pick = <K extends keyof GenerationDefaults>(k: K, dflt: number): number => {
    const v = p[k] ?? d[k];
    return v === undefined || v === null ? dflt : num(k, v);
  };

  const n = p.n === undefined ? 1 : int('n', p.n);
  if (n < 1) fail(`n must be at least 1, got ${n}.`);
  const presencePenalty = p.presencePenalty === undefined ? 0 : num('presencePenalty', p.presencePenalty);
  if (!(presencePenalty >= -2 && presencePenalty <= 2)) fail(`presence_penalty must be in [-2, 2], got ${presencePenalty}.`);
  const frequencyPenalty = p.frequencyPenalty === undefined ? 0 : num('frequencyPenalty', p.frequencyPenalty);
  if (!(frequencyPenalty >= -2 && frequencyPenalty <= 2)) fail(`frequency_penalty must be in [-2, 2], got ${frequencyPenalty}.`);
  const repetitionPenalty = pick('repetitionPenalty', 1);
  if (!(repetitionPenalty > 0)) fail(`repetition_penalty must be greater than zero, got ${repetitionPenalty}.`);
  let temperature = pick('temperature', 1);
  if (!(temperature >= 0)) fail(`temperature must be non-negative, got ${temperature}.`);
  if (!Number.isFinite(temperature)) fail(`temperature must be finite, got ${temperature}.`);
  let topP = pick('topP', 1);
  if (!(topP > 0 && topP <= 1)) fail(`top_p must be in (0, 1], got ${topP}.`);
  let topK = pick('topK', 0);
  if (!Number.isInteger(topK) || topK < -1) fail(`top_k must be 0 (disable), or at least 1, got ${topK}.`);
  if (topK === -1) topK = 0;
  if (topK > ctx.vocabSize) fail(`top_k cannot be greater than vocabulary size(${ctx.vocabSize}), but got ${topK}.`);
  let minP = pick('minP', 0);
  if (!(minP >= 0 && minP <= 1)) fail(`min_p must be in [0, 1], got ${minP}.`);

  let maxTokens: number | null = null;
  if (p.maxTokens !== undefined && p.maxTokens !== null) {
    maxTokens = int('max_tokens', p.maxTokens);
    if (maxTokens < 1) fail(`max_tokens must be at least 1, got ${maxTokens}.`);
  }
  const defaultMaxTokens = d.maxTokens !== undefined && d.maxTokens > 0 ? d.maxTokens : null;
  const minTokens = p.minTokens === undefined ? 0 : int('min_tokens', p.minTokens);
  if (minTokens < 0) fail(`min_tokens must be greater than or equal to 0, got ${minTokens}.`);
  if (maxTokens !== null && minTokens > maxTokens) fail(`min_tokens must be less than or equal to max_tokens=${maxTokens}, got ${minTokens}.`);

  let logprobs: number | null = null;
  if (p.logprobs !== undefined && p.logprobs !== null) {
    logprobs = int('logprobs', p.logprobs);
    if (logprobs < 0) fail(`logprobs must be non-negative, got ${logprobs}.`);
    if (logprobs > ctx.maxLogprobs) fail(`Requested sample logprobs of ${logprobs}, which is greater than max allowed: ${ctx.maxLogprobs}`);
  }
  let promptLogprobs: number | null = null;
  if (p.promptLogprobs !== undefined && p.promptLogprobs !== null) {
    promptLogprobs = int('prompt_logprobs', p.promptLogprobs);
    if (promptLogprobs < 0) fail(`prompt_logprobs must be non-negative, got ${promptLogprobs}.`);
    if (promptLogprobs > ctx.maxLogprobs) fail(`Requested prompt logprobs of ${promptLogprobs}, which is greater than max allowed: ${ctx.maxLogprobs}`);
  }

  const stop = p.stop === undefined || p.stop === null ? [] : typeof p.stop === 'string' ? [p.stop] : p.stop;
  if (!Array.isArray(stop) || stop.some((s) => typeof s !== 'string')) fail('stop must be a string or a list of strings.');
  if (stop.some((s) => s === '')) fail('stop cannot contain an empty string.');
  const stopTokenIds = p.stopTokenIds === undefined || p.stopTokenIds === null ? [] : intList('stop_token_ids', p.stopTokenIds);

  let seed: number | null = null;
  if (p.seed !== undefined && p.seed !== null) seed = int('seed', p.seed);

  let allowedTokenIds: Int32Array | null = null;
  if (p.allowedTokenIds !== undefined && p.allowedTokenIds !== null) {
    const ids = intList('allowed_token_ids', p.allowedTokenIds);
    if (ids.length === 0) fail('allowed_token_ids is not None and empty!');
    if (ids.some((t) => t < 0 || t >= ctx.vocabSize)) fail('allowed_token_ids contains out-of-vocab token id!');
    allowedTokenIds = Int32Array.from(ids);
  }

  let logitBias: Map<number, number> | null = null;
  if (p.logitBias !== undefined && p.logitBias !== null) {
    const entries: Array<[unknown, unknown]> = p.logitBias instanceof Map ? [...p.logitBias] : Object.entries(p.logitBias);
    logitBias = new Map();
    const invalid: string[] = [];
    for (const [k, v] of entries) {
      const id = typeof k === 'number' ? k : Number(k);
      if (!Number.isInteger(id)) fail(`logit_bias keys must be token ids, got ${JSON.stringify(k)}.`);
      if (id < 0 || id >= ctx.vocabSize) invalid.push(String(id));
      // OpenAI clamps biases to [-100, 100]
      logitBias.set(id, Math.min(100, Math.max(-100, num(`logit_bias[${id}]`, v))));
    }
    if (invalid.length > 0) fail(`token_id(s) ${invalid.join(', ')} in logit_bias contain out-of-vocab token ids. Vocabulary size: ${ctx.vocabSize}`);
  }

  const badWords = p.badWords === undefined || p.badWords === null ? [] : p.badWords;
  if (!Array.isArray(badWords) || badWords.some((w) => typeof w !== 'string')) fail('bad_words must be a list of strings.');

  // vLLM: greedy ignores the truncation settings
  if (temperature < 1e-5) {
    temperature = 0;
    topP = 1;
    topK = 0;
    minP = 0;
  }

  return {
    n,
    temperature,
    topP,
    topK,
    minP,
    repetitionPenalty,
    presencePenalty,
    frequencyPenalty,
    logitBias,
    allowedTokenIds,
    badWords,
    seed,
    logprobs,
    promptLogprobs,
    maxTokens,
    defaultMaxTokens,
    minTokens,
    stop,
    stopTokenIds,
    includeStopStrInOutput: p.includeStopStrInOutput ?? false,
    ignoreEos: p.ignoreEos ?? false,
    skipSpecialTokens: p.skipSpecialTokens ?? true,
    spacesBetweenSpecialTokens: p.spacesBetweenSpecialTokens ?? true,
    structured: p.structured ?? null,
  };
}
