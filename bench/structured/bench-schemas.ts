// The JSONSchemaBench schemas the structured-output benches walk: per subset (sorted), in file order, those whose
// generated example instance (instance-generator.ts) is valid under ajv with ajv-formats. Each bench adds its own filters and takes
// the first N per subset that pass them.
import { createRequire } from 'node:module';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED_DATA } from '../../test/structured/qwen-fixture.js';
import { exampleInstance } from './instance-generator.js';
import { compileConstraint } from '../../src/structured/compile.js';

export interface BenchSchema {
  subset: string;
  file: string;
  schema: unknown;
  instance: unknown;
}

const require = createRequire(import.meta.url);
const Ajv2020 = (require('ajv/dist/2020.js') as { default: new (o: object) => { compile(s: unknown): (v: unknown) => boolean } }).default;
const addFormats = (require('ajv-formats') as { default: (a: unknown) => void }).default;

export const JSONSCHEMABENCH_DIR = join(SHARED_DATA, 'jsonschemabench');

export function benchSubsets(): string[] {
  return readdirSync(JSONSCHEMABENCH_DIR).sort();
}

/** a subset's schemas, in file order, with an example instance that ajv accepts */
export function* validExamples(subset: string): Generator<BenchSchema> {
  const ajv = new Ajv2020({ strict: false, logger: false });
  // formats checked too (as generation.test.ts does): the generator writes generic text for most of them
  addFormats(ajv);
  for (const file of readdirSync(join(JSONSCHEMABENCH_DIR, subset)).sort()) {
    const schema = JSON.parse(readFileSync(join(JSONSCHEMABENCH_DIR, subset, file), 'utf8'));
    const instance = exampleInstance(schema);
    let valid = false;
    try {
      valid = ajv.compile(schema)(instance);
    } catch {
      valid = false;
    }
    if (valid) yield { subset, file, schema, instance };
  }
}

/**
 * validExamples of every subset, the first `ahead` of each made now (ajv's compiled validators are garbage once made:
 * made between a bench's timed spans they fill the old generation, and V8's major collection then starts inside the
 * spans), then a full collection where the process has --expose-gc; a subset's further examples, if the caller needs
 * them, as they come
 */
export function preparedExamples(ahead: number): Map<string, Iterable<BenchSchema>> {
  const bySubset = new Map<string, Iterable<BenchSchema>>();
  for (const subset of benchSubsets()) {
    const rest = validExamples(subset);
    const first: BenchSchema[] = [];
    // (not for-of: its break would close the generator)
    while (first.length < ahead) {
      const e = rest.next();
      if (e.done) break;
      first.push(e.value);
    }
    bySubset.set(subset, (function* () {
      yield* first;
      yield* rest;
    })());
  }
  (globalThis as { gc?: () => void }).gc?.();
  return bySubset;
}

/** every subset's first `perSubset` schemas (validExamples order) that our compiler accepts, with its compile time */
export function* compilingExamples(perSubset: number): Generator<BenchSchema & { constraint: { kind: 'json'; schema: unknown }; compileMs: number }> {
  for (const subset of benchSubsets()) {
    let used = 0;
    for (const example of validExamples(subset)) {
      if (used >= perSubset) break;
      const constraint = { kind: 'json' as const, schema: example.schema };
      const t = performance.now();
      try {
        compileConstraint(constraint);
      } catch {
        continue;
      }
      const compileMs = performance.now() - t;
      used++;
      yield { ...example, constraint, compileMs };
    }
  }
}
