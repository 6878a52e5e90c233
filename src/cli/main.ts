// `serval` command line: each subcommand lives in commands/ and registers itself on the program.
import { Command } from 'commander';
import { SERVAL_VERSION } from '../version.js';

const program = new Command();
program
  .name('serval')
  .description('serval: a vLLM-class LLM inference server in TypeScript')
  .version(SERVAL_VERSION)
  .showSuggestionAfterError(true);

await program.parseAsync(process.argv);
