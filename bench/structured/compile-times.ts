// Compile time (compileConstraint, wall) of named JSONSchemaBench schemas, each once, in the order given; a
// refusal is reported with its message. For before/after comparisons of particular schemas.
// Usage: node --import tsx bench/structured/compile-times.ts OUT_FILE SUBSET/FILE...
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileConstraint } from '../../src/structured/compile.js';
import { JSONSCHEMABENCH_DIR } from './bench-schemas.js';
import { runFacts, writeResult } from './run-facts.js';

const [outFile, ...names] = process.argv.slice(2);
const schemas = names.map((name) => {
  const schema = JSON.parse(readFileSync(join(JSONSCHEMABENCH_DIR, name), 'utf8'));
  const t = performance.now();
  let result = 'compiled';
  try {
    compileConstraint({ kind: 'json', schema });
  } catch (e) {
    result = `refused: ${(e as Error).message.slice(0, 120)}`;
  }
  return { schema: name, result, ms: +(performance.now() - t).toFixed(2) };
});
writeResult(outFile, { ...runFacts(), schemas });
