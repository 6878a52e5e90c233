// Cold masks (the first request with each schema) timed in CPU time as well as wall time: on a machine shared
// with other jobs, a mask's wall time also counts the time the thread waited for a core; its CPU time
// (process.cpuUsage around the mask: this process's threads, the garbage collector's included) does not, so two
// versions of the engine can be compared under a changing load. Schemas and outputs as mask-bench.ts picks them,
// without the web-xgrammar filter (its compile takes minutes): the first N per subset that compile here.
// Usage: node --import tsx bench/structured/cold-mask-cpu.ts [schemasPerSubset=10] [outFile]
import { readFileSync, writeFileSync } from 'node:fs';
import { qwen } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { compilingExamples } from './bench-schemas.js';

const perSubset = Number(process.argv[2] ?? 10);
const outFile = process.argv[3];

function stats(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]! * 10) / 10;
  return { n: s.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), p999: q(0.999), max: q(1), over250: s.filter((x) => x > 250).length, over1000: s.filter((x) => x > 1000).length };
}

const q = qwen();
const provider = createGrammarProvider(q.vocab);
const mask = new Int32Array(Math.ceil(q.vocab.size / 32));
const wall: number[] = [];
const cpu: number[] = [];
const compileMs: number[] = [];
const loadStart = readFileSync('/proc/loadavg', 'utf8').trim();
let schemas = 0;
for (const { subset, instance, constraint: c, compileMs: compileTime } of compilingExamples(perSubset)) {
  compileMs.push(compileTime);
  const m = provider.create(c);
  for (const id of q.encode(JSON.stringify(instance, null, 2))) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    m.fillNextTokenBitmask(mask, 0);
    wall.push((performance.now() - t0) * 1000);
    const c1 = process.cpuUsage(c0);
    cpu.push(c1.user + c1.system);
    if (!m.acceptToken(id)) throw new Error(`${subset}: an instance token was rejected`);
  }
  schemas++;
}
const result = {
  node: process.version,
  loadavgAtStart: loadStart,
  loadavgAtEnd: readFileSync('/proc/loadavg', 'utf8').trim(),
  schemas,
  units: { compile: 'ms', mask: 'µs' },
  compile: stats(compileMs),
  coldMaskWall: stats(wall),
  coldMaskCpu: stats(cpu),
};
console.log(JSON.stringify(result));
if (outFile) writeFileSync(outFile, JSON.stringify(result, null, 2) + '\n');
