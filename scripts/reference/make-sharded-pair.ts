// Makes the same llama test model twice, single-file and in 3 shards, for hf_check_sharded.py on the GPU machine.
// Run: node make-sharded-pair.mjs OUT_DIR   (bundled like make-models.ts)
import { join } from 'node:path';
import { makeTestModel } from '../../src/models/make-test-model.js';

const [outDir] = process.argv.slice(2);
if (!outDir) throw new Error('usage: make-sharded-pair OUT_DIR');
const options = { arch: 'llama' as const, hidden: 64, layers: 2, seed: 21, tokenizer: false };
makeTestModel({ ...options, out: join(outDir, 'single') });
makeTestModel({ ...options, out: join(outDir, 'sharded'), shards: 3 });
