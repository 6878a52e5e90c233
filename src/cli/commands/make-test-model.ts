// `serval make-test-model`: writes a seeded random-weight bf16 model in Hugging Face format (tests, demos, benches).
import { Command, InvalidArgumentError, Option } from 'commander';
import { makeTestModel, type MakeTestModelOptions } from '../../models/make-test-model.js';
import { TEST_ARCHS } from '../../models/test-model-config.js';

/** the command's flags are the library options of the same names (the tokenizer and generation_config stay defaulted) */
type MakeTestModelFlags = Omit<MakeTestModelOptions, 'tokenizer' | 'generationConfig'>;

function wholeNumber(min: number) {
  return (raw: string): number => {
    if (!/^\d+$/.test(raw.trim()) || Number(raw) < min) throw new InvalidArgumentError(`Expected a whole number >= ${min}.`);
    return Number(raw);
  };
}

export function registerMakeTestModel(program: Command): void {
  program
    .command('make-test-model')
    .description('write a seeded random-weight bf16 model in Hugging Face format (with the Qwen3 tokenizer)')
    .addOption(new Option('--arch <arch>', 'architecture').choices(TEST_ARCHS).makeOptionMandatory())
    .addOption(new Option('--out <dir>', 'output folder').makeOptionMandatory())
    .addOption(new Option('--hidden <n>', 'hidden size (default 64)').argParser(wholeNumber(2)))
    .addOption(new Option('--layers <n>', 'decoder layers (default 2)').argParser(wholeNumber(1)))
    .addOption(new Option('--heads <n>', 'attention heads (default 4)').argParser(wholeNumber(1)))
    .addOption(new Option('--kv-heads <n>', 'key/value heads (default heads / 2)').argParser(wholeNumber(1)))
    .addOption(new Option('--head-dim <n>', 'head dimension (default hidden / heads; qwen3: 2 * hidden / heads)').argParser(wholeNumber(2)))
    .addOption(new Option('--intermediate <n>', 'MLP width (default 2 * hidden)').argParser(wholeNumber(1)))
    .addOption(new Option('--vocab-size <n>', 'embedding rows (default 151936; the tokenizer has 151669 ids)').argParser(wholeNumber(1)))
    .addOption(new Option('--shards <n>', 'number of safetensors shards (default 1)').argParser(wholeNumber(1)))
    .addOption(new Option('--seed <n>', 'random seed (default 0)').argParser(wholeNumber(0)))
    .addOption(new Option('--rope-style <style>', 'config.json rope fields: old (rope_theta/rope_scaling) or new (rope_parameters)').choices(['old', 'new']))
    .addOption(new Option('--tie', 'tie the LM head to the embedding (default for qwen2/qwen3)'))
    .addOption(new Option('--no-tie', 'separate LM head (default for llama/mistral)'))
    .action((flags: MakeTestModelFlags) => {
      const out = makeTestModel({ ...flags });
      console.log(`wrote a ${flags.arch} test model to ${out}`);
    });
}
