// Package entry point: the in-process API.
export type { EngineArgs } from './config/engine-args.js';
export type { SamplingParams, RequestOutput, CompletionOutput, StructuredConstraint } from './engine/types.js';
export type { ModelConfig } from './loader/model-config-types.js';
