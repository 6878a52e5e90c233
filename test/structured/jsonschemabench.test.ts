// JSONSchemaBench: share of real-world schemas that compile, per subset (a deterministic sample of at most
// 150 per subset keeps this file fast; bench/structured/compile-rates.ts runs every schema).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compileConstraint } from '../../src/structured/compile.js';
import { SHARED_DATA } from './qwen-fixture.js';

const root = join(SHARED_DATA, 'jsonschemabench');
const SAMPLE = 150;
// the target: at least 90 % in every subset (full-set rates: bench/structured/results)
const FLOORS: Record<string, number> = { Github_easy: 0.9, Github_trivial: 0.9, Glaiveai2K: 0.9, Kubernetes: 0.9, Snowplow: 0.9, WashingtonPost: 0.9 };

test('JSONSchemaBench: compile rate per subset', { skip: !existsSync(root) && `missing ${root}` }, () => {
  for (const subset of readdirSync(root).sort()) {
    const files = readdirSync(join(root, subset)).filter((f) => f.endsWith('.json')).sort();
    const step = Math.max(1, Math.ceil(files.length / SAMPLE));
    const sample = files.filter((_, i) => i % step === 0);
    let ok = 0;
    const reasons = new Map<string, number>();
    for (const f of sample) {
      const schema = JSON.parse(readFileSync(join(root, subset, f), 'utf8'));
      try {
        compileConstraint({ kind: 'json', schema });
        ok++;
      } catch (e) {
        const msg = (e as Error).message;
        assert.ok(msg.length > 0, `${subset}/${f}: error without a message`);
        const reason = msg.replace(/\(.*$/s, '').slice(0, 100);
        reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      }
    }
    const rate = ok / sample.length;
    console.log(`${subset}: ${ok}/${sample.length} compile (${(100 * rate).toFixed(1)} %)`);
    for (const [r, n] of [...reasons].sort((a, b) => b[1] - a[1]).slice(0, 4)) console.log(`    ${n}x ${r}`);
    assert.ok(rate >= (FLOORS[subset] ?? 0.9), `${subset}: ${(100 * rate).toFixed(1)} % below the floor`);
  }
});
