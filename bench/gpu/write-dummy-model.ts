// CLI wrapper of writeDummyModelDir for the serve benchmark bundle: node --import tsx bench/gpu/write-dummy-model.ts SHAPE OUT
import { writeDummyModelDir } from './dummy-model-dir.js';
import { qwenTokenizerDir } from '../../src/models/make-test-model.js';

const [shape, out] = process.argv.slice(2);
if (!shape || !out) throw new Error('usage: write-dummy-model.ts SHAPE OUT_DIR');
console.log(writeDummyModelDir(shape, out, qwenTokenizerDir()));
