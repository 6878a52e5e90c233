// For the benches that compare this tree with another version of it (a `git archive` of an older commit, with
// node_modules linked) inside one process: that version's modules, and the facts every such result records.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** a module of the other tree, by its path from the tree's root (e.g. 'src/structured/lexemes.ts') */
export async function importFromTree<T>(tree: string, path: string): Promise<T> {
  return (await import(join(tree, path))) as T;
}

/** Node's version, the other tree, and the load averages at the run's start (given) and now */
export function runInfo(tree: string, loadavgAtStart: string) {
  return { node: process.version, oldTree: tree, loadavgAtStart, loadavgAtEnd: readFileSync('/proc/loadavg', 'utf8').trim() };
}
