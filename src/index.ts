// Package entry point: the in-process API.
export type { EngineArgs } from './config/engine-args.js';
export type { SamplingParams, RequestOutput, CompletionOutput, StructuredConstraint } from './engine/types.js';
export type { ModelConfig } from './loader/model-config-types.js';
export { AsyncEngine } from './engine/async-engine.js';
export { LLM } from './engine/llm.js';
export type { LLMOptions, ChatOptions, GenerateOptions } from './engine/llm.js';
export type { ServingEngine, EngineStats, FinishedRequestStats, PromptInput } from './engine/serving-engine.js';
export type { RequestOptions, RequestMetrics, FinishReason } from './engine/types.js';
export type { TokenLogprobs } from './runner/batch.js';
export type { EngineFactoryExtras, GrammarContext } from './engine/engine-factory.js';
export type { GrammarProvider, RequestGrammar } from './engine/grammar.js';
