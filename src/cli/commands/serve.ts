// `serval serve [MODEL] [flags]`: vLLM's `vllm serve` — parse and check the flags, fail fast on missing hardware,
// load the engine, and serve the OpenAI-compatible API until SIGTERM/SIGINT.
import type { Command } from 'commander';
import { createServeCommand } from '../../config/serve-flags.js';
import { resolveServeConfig, ServeConfigError, type ServeConfig, type ServeFlags } from '../../config/serve-config.js';
import { checkServeResources, MissingResourceError } from '../../config/resource-check.js';
import { SERVAL_VERSION } from '../../version.js';
import { buildServer } from '../../server/app.js';
import { createServeLoggers } from '../../server/logger.js';
import { createShutdown } from '../../server/shutdown.js';
import { startStatsLogger } from '../../metrics/stats-logger.js';
import { loadServerEngine } from '../../server/load-engine.js';

/** in-flight requests may finish for this long after SIGTERM/SIGINT before they are aborted */
const SHUTDOWN_GRACE_MS = 30_000;

export function registerServe(program: Command): void {
  const cmd = createServeCommand();
  cmd.action(async (model: string | undefined, flags: ServeFlags) => {
    let config: ServeConfig;
    try {
      config = resolveServeConfig(model, flags);
      checkServeResources(config.engineArgs);
    } catch (e) {
      if (e instanceof ServeConfigError || e instanceof MissingResourceError) cmd.error(`error: ${e.message}`, { exitCode: 1 });
      throw e;
    }
    await runServe(config);
  });
  program.addCommand(cmd);
}

/** what is safe to print of the configuration: everything but the API keys */
function describeConfig(c: ServeConfig): Record<string, unknown> {
  const { apiKeys, ...server } = c.server;
  return { engine: c.engineArgs, server: { ...server, apiKeys: `${apiKeys.length} key(s)` } };
}

export async function runServe(config: ServeConfig): Promise<void> {
  const { log, http } = createServeLoggers(config.log.level, config.log.httpLevel);
  log.info(`serval ${SERVAL_VERSION}`);
  log.info(describeConfig(config), 'configuration');
  for (const note of config.notes) log.warn(note);
  if (config.server.apiKeys.length > 0) log.info(`API key required on /v1 routes (${config.server.apiKeys.length} key(s))`);

  let engine;
  try {
    engine = await loadServerEngine(config, log);
  } catch (e) {
    // a model that cannot load is the user's input problem: say why, without a stack trace
    log.fatal(`cannot start: ${(e as Error).message}`);
    log.debug({ err: e }, 'load failure');
    process.exitCode = 1;
    return;
  }
  const { app, inflight } = await buildServer(engine, config.server, { logger: log, accessLogger: http });
  const stopStats = config.log.disableLogStats ? () => {} : startStatsLogger(engine, (m) => log.info(m));
  const shutdown = createShutdown({ app, engine, inflight, log, graceMs: SHUTDOWN_GRACE_MS, exit: (c) => process.exit(c), onStop: stopStats });
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  const host = config.server.host ?? '0.0.0.0';
  try {
    await app.listen({ host, port: config.server.port });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EADDRINUSE' ? `port ${config.server.port} is already in use (pick another with --port)` : code === 'EACCES' ? `no permission to listen on port ${config.server.port}` : (e as Error).message;
    log.fatal(`cannot listen on ${host}:${config.server.port}: ${why}`);
    stopStats();
    await engine.shutdown();
    process.exitCode = 1;
    return;
  }
  const scheme = config.server.tls ? 'https' : 'http';
  const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  log.info(`serving ${config.server.servedModelNames.join(', ')} on ${scheme}://${shownHost}:${config.server.port} (API docs: /docs)`);
}
