// `serval` command line: each subcommand lives in commands/ and registers itself on the program.
import { Command } from 'commander';
import { SERVAL_VERSION } from '../version.js';
import { registerBench } from './commands/bench.js';
import { registerMakeTestModel } from './commands/make-test-model.js';
import { registerRunBatch } from './commands/run-batch.js';
import { registerServe } from './commands/serve.js';
import { registerStructuredCommand } from './commands/structured.js';

const program = new Command();
program
  .name('serval')
  .description('serval: a vLLM-class LLM inference server in TypeScript')
  .version(SERVAL_VERSION)
  .showSuggestionAfterError(true);

registerServe(program);
registerBench(program);
registerMakeTestModel(program);
registerRunBatch(program);
registerStructuredCommand(program);

await program.parseAsync(process.argv);
