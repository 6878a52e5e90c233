// What every structured-output bench result records about its run, and how it is written out.
import { readFileSync, writeFileSync } from 'node:fs';
import { execSync } from 'node:child_process';

/** the CPU model and count, as lscpu names them */
export function machineName(): string {
  return execSync("lscpu | grep -E 'Model name|^CPU\\(s\\)'").toString().trim().replace(/\s+/g, ' ');
}

/** the machine, the load averages at the end of the run and Node's version */
export function runFacts(): { machine: string; loadavgAtEnd: string; node: string } {
  return { machine: machineName(), loadavgAtEnd: readFileSync('/proc/loadavg', 'utf8').trim(), node: process.version };
}

/** `result` as JSON to stdout, and to `outFile` where given */
export function writeResult(outFile: string | undefined, result: unknown): void {
  const text = JSON.stringify(result, null, 2);
  if (outFile) writeFileSync(outFile, text + '\n');
  console.log(text);
}
