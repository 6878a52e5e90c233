// `serval run-batch -i FILE|URL -o FILE|- [--model M] [engine flags]`: vLLM's run_batch — an OpenAI batch file run
// through the engine in-process (the server's routes without a socket), results in input order.
import { Command, Option } from 'commander';
import { createStderrLogger } from '../../batch/batch-logger.js';
import { engineFlagOptions, resolveEngineFlagsOrExit } from '../../batch/engine-flags.js';
import { openLineSink } from '../../batch/output-sink.js';
import { createThroughputProgress } from '../../batch/progress-bar.js';
import { readBatchInput } from '../../batch/read-input.js';
import { runBatch } from '../../batch/run-batch.js';
import { createServerBatchEndpoint } from '../../batch/server-endpoint.js';
import { positiveInt } from '../../benchmarks/bench-flags.js';
import { loadServerEngine } from '../../server/load-engine.js';

interface RunBatchFlags extends Record<string, unknown> {
  inputFile: string;
  outputFile: string;
  model?: string;
  maxConcurrentRequests?: number;
  disableProgress: boolean;
}

export function registerRunBatch(program: Command): void {
  const cmd: Command = new Command('run-batch')
    .description('run an OpenAI batch file (/v1/chat/completions and /v1/completions lines) through the engine in-process')
    .requiredOption('-i, --input-file <file|url>', 'batch input: a .jsonl file or an http(s) URL')
    .requiredOption('-o, --output-file <file>', 'where to write the result lines (- for stdout)')
    .addOption(new Option('--max-concurrent-requests <n>', 'requests in the engine at once (default: 2 x --max-num-seqs)').argParser(positiveInt))
    .addOption(new Option('--disable-progress', 'no progress bar on stderr').default(false));
  for (const o of engineFlagOptions()) cmd.addOption(o);
  cmd.action(async (flags: RunBatchFlags) => {
    const config = resolveEngineFlagsOrExit(cmd, flags.model, flags as unknown as Record<string, unknown>);
    const log = createStderrLogger('run-batch');
    let input: string;
    try {
      input = await readBatchInput(flags.inputFile);
    } catch (e) {
      cmd.error(`error: ${(e as Error).message}`, { exitCode: 1 });
    }
    const engine = await loadServerEngine(config, log);
    const endpoint = await createServerBatchEndpoint(engine, {
      servedModelNames: config.server.servedModelNames,
      modelRoot: config.server.modelRoot,
      structuredDefaults: config.server.structuredDefaults,
    });
    const sink = openLineSink(flags.outputFile);
    const total = input.split('\n').filter((l) => l.trim() !== '').length;
    const bar = flags.disableProgress ? null : createThroughputProgress(total, 'run-batch');
    const t0 = performance.now();
    try {
      const summary = await runBatch(input, endpoint, (line) => sink.writeLine(line), {
        concurrency: flags.maxConcurrentRequests ?? 2 * engine.args.maxNumSeqs,
        onLineDone: (line) => bar?.tick(completionTokens(line.response?.body)),
      });
      bar?.stop();
      await sink.close();
      const secs = (performance.now() - t0) / 1000;
      log.info(`${summary.total} lines in ${secs.toFixed(1)}s: ${summary.succeeded} succeeded, ${summary.failed} failed; results in ${flags.outputFile === '-' ? 'stdout' : flags.outputFile}`);
    } finally {
      bar?.stop();
      await endpoint.close();
      await engine.shutdown();
    }
  });
  program.addCommand(cmd);
}

function completionTokens(body: unknown): number {
  const n = (body as { usage?: { completion_tokens?: unknown } } | null)?.usage?.completion_tokens;
  return typeof n === 'number' ? n : 0;
}
