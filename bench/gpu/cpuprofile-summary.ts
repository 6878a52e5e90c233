// Summarizes a V8 .cpuprofile (node --cpu-prof): self time per function and per source file, largest first, so a
// device run can bring back where the JavaScript thread's time went without the (large) profile itself.
//   node cpuprofile-summary.mjs PROFILE.cpuprofile [top]
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [path, topArg] = process.argv.slice(2);
if (!path) throw new Error('usage: cpuprofile-summary.mjs PROFILE.cpuprofile [top]');
const top = Number(topArg ?? 40);
const prof = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
prof.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0)));
const total = prof.endTime - prof.startTime;
const fn = new Map<string, number>();
const file = new Map<string, number>();
for (const [id, us] of selfUs) {
  const f = byId.get(id)!.callFrame;
  const where = f.url ? f.url.replace(/^.*\//, '') : '(native)';
  const key = `${f.functionName || '(anonymous)'} ${where}:${f.lineNumber + 1}`;
  fn.set(key, (fn.get(key) ?? 0) + us);
  file.set(where, (file.get(where) ?? 0) + us);
}
const show = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${(us / 1000).toFixed(1).padStart(10)} ms ${((100 * us) / total).toFixed(1).padStart(5)} %  ${k}`);
  }
};
console.log(`profile ${path}: ${(total / 1000).toFixed(0)} ms wall, ${prof.samples.length} samples`);
show('self time by function', fn);
show('self time by file', file);
