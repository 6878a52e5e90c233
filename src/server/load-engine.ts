// Loads the engine `serval serve` runs: the model folder (the built-in demo model when none is named, else the
// local folder or HF id resolved through the HF cache), the structured-output provider over its vocabulary, and
// AsyncEngine — then checks it has what the server needs (a tokenizer; a chat template only for chat requests).
import type { Logger } from 'pino';
import type { ServeConfig } from '../config/serve-config.js';
import { AsyncEngine } from '../engine/async-engine.js';
import { resolveModelPathOffThread } from '../hub/resolve-off-thread.js';
import { ensureDemoModel } from '../models/demo-model.js';
import { ApiError, badRequest } from './api-error.js';
import type { ChatTemplateRenderer, ServerEngine } from './server-engine.js';

/** AsyncEngine → ServerEngine: a missing tokenizer is fatal; a missing chat template makes chat requests 400. */
export function asServerEngine(engine: AsyncEngine): ServerEngine {
  const tokenizer = engine.tokenizer;
  if (!tokenizer) throw new Error('the model has no tokenizer (tokenizer.json); serve it with --tokenizer NAME_OR_DIR');
  const chatTemplate: ChatTemplateRenderer = {
    render: (messages, opts) => {
      let template;
      try {
        template = engine.requireChatTemplate();
      } catch (e) {
        throw new ApiError(400, `this model has no chat template, so chat messages cannot be formatted (${(e as Error).message}); use /v1/completions or start serval with --chat-template`, 'messages');
      }
      return template.render(messages, opts);
    },
  };
  return {
    args: engine.args,
    modelConfig: engine.modelConfig,
    maxModelLen: engine.maxModelLen,
    tokenizer,
    chatTemplate,
    generate: (prompt, params, requestId, options) => engine.generate(prompt, params, requestId, options),
    abort: (requestId) => engine.abort(requestId),
    stats: () => engine.stats(),
    maskStats: () => engine.maskStats(),
    health: () => engine.health(),
    onRequestFinished: (listener) => engine.onRequestFinished(listener),
    shutdown: () => engine.shutdown(),
  };
}

async function demoModelDir(log: Logger): Promise<string> {
  const dir = await ensureDemoModel();
  log.warn(`no model given: serving the built-in demo model from ${dir}. Its weights are RANDOM, so it answers with gibberish; pass a model (HF id or folder) for real answers`);
  return dir;
}

/** the server answers its first request only with the tokenizer workers loaded (else that request waits ~1 s); a
 *  pool that cannot start stops the server at start-up, naming the way around it */
export async function awaitPromptWorkers(engine: Pick<AsyncEngine, 'promptEncoder' | 'shutdown'>): Promise<void> {
  try {
    await engine.promptEncoder?.whenReady();
  } catch (e) {
    await engine.shutdown();
    throw new Error(`the prompt tokenizer workers could not start (--tokenizer-pool-size 0 encodes on the engine thread): ${(e as Error).message}`);
  }
}

export async function loadServerEngine(config: ServeConfig, log: Logger): Promise<ServerEngine> {
  const args = { ...config.engineArgs };
  const where = { ...(args.revision !== undefined ? { revision: args.revision } : {}), ...(args.downloadDir !== undefined ? { downloadDir: args.downloadDir } : {}) };
  const modelDir = args.model === undefined ? await demoModelDir(log) : await resolveModelPathOffThread(args.model, where);
  log.info(`loading ${args.model ?? 'the demo model'} from ${modelDir} ...`);
  const t0 = Date.now();
  // the engine brings serval's structured-output engine over the model's vocabulary; its start-up facts (device, the
  // GPU memory split and KV cache, CUDA graphs) go to the server's log
  const engine = await AsyncEngine.create({ ...args, model: modelDir, log: (message) => log.info(message) });
  await awaitPromptWorkers(engine);
  log.info(`model loaded in ${((Date.now() - t0) / 1000).toFixed(1)}s: ${engine.modelConfig.architecture}, max_model_len ${engine.maxModelLen}`);
  const server = asServerEngine(engine);
  prepareStructuredOutput(engine, log);
  return server;
}

/**
 * builds serval's structured-output engine at start-up, not at the first guided request, which would stall every
 * running request while it builds (~1–2 s). A vocabulary it cannot read does not stop the server: requests without a
 * constraint are served, and those with one get the same error.
 */
function prepareStructuredOutput(engine: AsyncEngine, log: Logger): void {
  const t0 = Date.now();
  try {
    engine.prepareStructuredOutput();
    log.info(`structured output by serval's engine: vocabulary and token trie built in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  } catch (e) {
    log.warn(`structured output is unavailable (requests with a constraint will fail): ${(e as Error).message}`);
  }
}
