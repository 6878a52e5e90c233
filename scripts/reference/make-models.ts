// Makes the reference test models listed in test/fixtures/reference/inputs.json into OUT_DIR/<arch>
// (no tokenizer files: the comparison feeds token ids). Bundled with esbuild to run on the GPU machine.
// Run: node --import tsx scripts/reference/make-models.ts INPUTS_JSON OUT_DIR
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTestModel, type MakeTestModelOptions } from '../../src/models/make-test-model.js';

const [inputsPath, outDir] = process.argv.slice(2);
if (!inputsPath || !outDir) throw new Error('usage: make-models INPUTS_JSON OUT_DIR');
const inputs = JSON.parse(readFileSync(inputsPath, 'utf8')) as { models: Array<Omit<MakeTestModelOptions, 'out'>> };
for (const m of inputs.models) {
  makeTestModel({ ...m, out: join(outDir, m.arch), tokenizer: false });
  console.log(`made ${m.arch} in ${join(outDir, m.arch)}`);
}
