// A compile's wall time and the process's CPU time over it (all threads: less moved by other processes' load), or
// null when the compiler refuses the constraint.
import type { StructuredConstraint } from '../../src/engine/types.js';

export function timedCompile(compile: (c: StructuredConstraint) => unknown, c: StructuredConstraint): { ms: number; cpuMs: number } | null {
  const cpu = process.cpuUsage();
  const t = performance.now();
  try {
    compile(c);
  } catch {
    return null;
  }
  const ms = performance.now() - t;
  const used = process.cpuUsage(cpu);
  return { ms, cpuMs: (used.user + used.system) / 1000 };
}
