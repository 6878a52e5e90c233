// The engine flags of `serval serve` (same Option definitions, names, parsers and defaults), offered again by the
// in-process commands run-batch and bench throughput, and turned into EngineArgs by serve's own resolver.
import type { Command, Option } from 'commander';
import { resolveServeConfig, ServeConfigError, type ServeConfig, type ServeFlags } from '../config/serve-config.js';
import { createServeCommand } from '../config/serve-flags.js';

/** serve flags that configure the model and engine (server-only flags such as --port stay with serve) */
const ENGINE_FLAGS = new Set([
  '--model', '--served-model-name', '--tokenizer', '--revision', '--download-dir', '--load-format', '--dtype',
  '--kv-cache-dtype', '--max-model-len', '--trust-remote-code', '--chat-template', '--generation-config', '--seed',
  '--device', '--tensor-parallel-size',
  '--pipeline-parallel-size', '--gpu-memory-utilization', '--max-num-seqs', '--max-num-batched-tokens', '--block-size',
  '--enable-prefix-caching', '--no-enable-prefix-caching', '--scheduling-policy', '--max-logprobs', '--enforce-eager',
  '--num-kv-blocks', '--guided-decoding-backend', '--structured-outputs-config', '--structured-output-workers',
  '--structured-output-mask-grace-ms', '--tokenizer-pool-size',
]);

export function engineFlagOptions(): Option[] {
  return createServeCommand().options.filter((o) => o.long !== undefined && ENGINE_FLAGS.has(o.long));
}

/** parsed engine flags → serve's configuration (engine args, structured-output defaults, notes); server fields keep
 * serve's defaults, since these commands open no port */
export function resolveEngineFlags(model: string | undefined, flags: Record<string, unknown>): ServeConfig {
  const defaults: Record<string, unknown> = {};
  for (const o of createServeCommand().options) if (o.defaultValue !== undefined) defaults[o.attributeName()] = o.defaultValue;
  return resolveServeConfig(model, { ...defaults, ...flags } as unknown as ServeFlags);
}

/** resolveEngineFlags for a command's action: a bad flag value ends the command with its message (exit 1) */
export function resolveEngineFlagsOrExit(cmd: Command, model: string | undefined, flags: Record<string, unknown>): ServeConfig {
  try {
    return resolveEngineFlags(model, flags);
  } catch (e) {
    if (e instanceof ServeConfigError) cmd.error(`error: ${e.message}`, { exitCode: 1 });
    throw e;
  }
}
