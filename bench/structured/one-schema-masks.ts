// One schema's first-request masks along its bench output (tokens FROM..TO), each with the new lexer walk it made
// (its time and trie nodes): (a) twice in a fresh provider, (b) in a provider that first ran the 40 schemas
// mask-bench runs before Snowplow (first request each). Tells a mask that is slow in isolation from one made slow by
// what ran before it in a process (round 20: sp_100's string masks, 450-3,600 µs inside mask-bench on the GPU host,
// were 55-130 µs here on that host).
// Usage: node --expose-gc --import tsx bench/structured/one-schema-masks.ts [schemaFile=Snowplow/sp_100_Normalized.json] [from=18] [to=34]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { qwen } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { exampleInstance } from './instance-generator.js';
import { JSONSCHEMABENCH_DIR, benchSubsets, preparedExamples } from './bench-schemas.js';

const file = process.argv[2] ?? 'Snowplow/sp_100_Normalized.json';
const from = Number(process.argv[3] ?? 18);
const to = Number(process.argv[4] ?? 34);
const q = qwen();
const mask = new Int32Array(Math.ceil(q.vocab.size / 32));
const target = JSON.parse(readFileSync(join(JSONSCHEMABENCH_DIR, file), 'utf8'));

function run(provider: ReturnType<typeof createGrammarProvider>, schema: unknown, print: boolean): void {
  const ids = q.encode(JSON.stringify(exampleInstance(schema), null, 2));
  const m = provider.create({ kind: 'json', schema });
  const out: string[] = [];
  ids.forEach((id, k) => {
    const s = provider.walks.stats;
    const [walks, ms, nodes] = [s.computed, s.computeMs, s.nodesVisited];
    const t = performance.now();
    m.fillNextTokenBitmask(mask, 0);
    const us = (performance.now() - t) * 1000;
    if (print && k >= from && k <= to) out.push(`${k}:${us.toFixed(0)}${s.computed > walks ? `(walk ${((s.computeMs - ms) * 1000).toFixed(0)} µs, ${s.nodesVisited - nodes} nodes)` : ''}`);
    m.acceptToken(id);
  });
  if (print) console.log(out.join('  '));
}

console.log(`${file}, tokens ${from}-${to}: µs per mask`);
console.log('(a) fresh provider');
run(createGrammarProvider(q.vocab), target, true);
console.log('(a) again, fresh provider');
run(createGrammarProvider(q.vocab), target, true);
console.log('(b) after the 40 schemas before it');
const p = createGrammarProvider(q.vocab);
const examples = preparedExamples(20);
let n = 0;
for (const subset of benchSubsets()) {
  if (subset === 'Snowplow') break;
  let used = 0;
  for (const e of examples.get(subset)!) {
    if (used >= 10) break;
    try {
      run(p, e.schema, false);
      used++;
      n++;
    } catch {
      // refused by our compiler (mask-bench skips it too)
    }
  }
}
console.log(`(${n} schemas run)`);
run(p, target, true);
