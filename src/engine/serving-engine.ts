// What the HTTP server, run-batch and benchmarks need from the engine. AsyncEngine implements it; keeping the
// surface this small is what lets handlers talk to the loop only through per-request async iterators.
import type { EngineArgs } from '../config/engine-args.js';
import type { ModelConfig } from '../loader/model-config-types.js';
import type { RequestOptions, RequestOutput, SamplingParams } from './types.js';
import type { StructuredMaskStats } from './mask-deadline.js';

/** text (tokenized with special tokens), or token ids; `prompt` optionally carries their text for the output */
export type PromptInput = string | { promptTokenIds: number[]; prompt?: string };

export interface EngineStats {
  numRunning: number;
  numWaiting: number;
  /** fraction of KV blocks in use, 0..1 */
  kvCacheUsage: number;
  prefixCacheQueries: number;
  prefixCacheHits: number;
  numPreemptions: number;
  promptTokensTotal: number;
  generationTokensTotal: number;
}

/** Per-request timings reported when a request finishes (seconds). */
export interface FinishedRequestStats {
  requestId: string;
  finishReason: string;
  promptTokens: number;
  generationTokens: number;
  queueTime: number;
  timeToFirstToken: number | null;
  interTokenLatencies: number[];
  e2eLatency: number;
}

/** whether the engine can still serve: a backend that keeps failing (e.g. a sticky CUDA error) makes it unhealthy */
export interface EngineHealth {
  healthy: boolean;
  /** why not (the last step's error), null while healthy */
  error: string | null;
}

export interface ServingEngine {
  readonly args: EngineArgs;
  readonly modelConfig: ModelConfig;
  readonly maxModelLen: number;
  /** async iterator of outputs for one request; ends after the output with finished = true */
  generate(prompt: PromptInput, params: SamplingParams, requestId: string, options?: RequestOptions): AsyncIterable<RequestOutput>;
  /** frees everything the request holds at once; its iterator ends with finishReason 'abort' */
  abort(requestId: string): void;
  stats(): EngineStats;
  /** called once per finished request (for metrics) */
  onRequestFinished(listener: (s: FinishedRequestStats) => void): void;
  /** absent: always healthy (test fakes) */
  health?(): EngineHealth;
  /** the grammar masks' counters since start (absent in test fakes) */
  maskStats?(): StructuredMaskStats;
  shutdown(): Promise<void>;
}
