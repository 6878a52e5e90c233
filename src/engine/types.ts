// Public request/response types of the engine (library API). Names follow vLLM's SamplingParams in camelCase;
// the HTTP layer maps OpenAI/vLLM snake_case fields onto these.
import type { TokenLogprobs } from '../runner/batch.js';

/** Structured-output constraint of a request (exactly one kind). */
export type StructuredConstraint =
  | { kind: 'json'; schema: unknown; whitespacePattern?: string; disableAnyWhitespace?: boolean; disableAdditionalProperties?: boolean }
  | { kind: 'json_object'; disableAnyWhitespace?: boolean }
  | { kind: 'regex'; pattern: string }
  | { kind: 'choice'; choices: string[] }
  | { kind: 'grammar'; grammar: string };

export interface SamplingParams {
  n?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  repetitionPenalty?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  logitBias?: Record<string, number> | Map<number, number>;
  allowedTokenIds?: number[];
  badWords?: string[];
  seed?: number;
  logprobs?: number;
  promptLogprobs?: number;
  maxTokens?: number;
  minTokens?: number;
  stop?: string | string[];
  stopTokenIds?: number[];
  includeStopStrInOutput?: boolean;
  ignoreEos?: boolean;
  skipSpecialTokens?: boolean;
  spacesBetweenSpecialTokens?: boolean;
  structured?: StructuredConstraint;
}

export interface RequestOptions {
  priority?: number;
  cacheSalt?: string;
  /** when true, the output text of each step is only the new part (streaming); default false = cumulative */
  delta?: boolean;
  /** when true, only the final (cumulative) output is emitted: vLLM's FINAL_ONLY, what LLM.generate uses */
  finalOnly?: boolean;
}

export type FinishReason = 'stop' | 'length' | 'abort';

export interface CompletionOutput {
  index: number;
  text: string;
  tokenIds: number[];
  logprobs: TokenLogprobs[] | null;
  finishReason: FinishReason | null;
  /** the stop string or stop token id that ended the sequence */
  stopReason: string | number | null;
}

export interface RequestMetrics {
  arrivalTime: number;
  firstScheduledTime: number | null;
  firstTokenTime: number | null;
  lastTokenTime: number | null;
  finishedTime: number | null;
  numCachedTokens: number;
}

export interface RequestOutput {
  requestId: string;
  prompt: string | null;
  promptTokenIds: number[];
  promptLogprobs: Array<TokenLogprobs | null> | null;
  outputs: CompletionOutput[];
  finished: boolean;
  metrics: RequestMetrics;
}
