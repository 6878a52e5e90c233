// Starts a worker thread from a module that sits next to the caller: `name`.js once built (dist/), `name`.ts from the
// TypeScript sources (tests and benches run through tsx). Node 20 does not carry the main thread's `--import tsx`
// loader hooks into workers, so the .ts entry is reached through a tiny boot script that registers tsx first.
import { Worker, type WorkerOptions } from 'node:worker_threads';

// tsxCommonJs: also register tsx's CommonJS hook, for a worker that require()s a CommonJS file its package marks as
// an ES module (the benches' web-xgrammar UMD bundle), as `--import tsx` does on the main thread.
export function startModuleWorker(callerUrl: string, name: string, options: WorkerOptions = {}, tsxCommonJs = false): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, callerUrl), options);
  let tsxApis: string[];
  try {
    tsxApis = [import.meta.resolve('tsx/esm/api'), ...(tsxCommonJs ? [import.meta.resolve('tsx/cjs/api')] : [])];
  } catch {
    throw new Error(`worker ${name}: starting it from the TypeScript sources needs tsx (npm install), or run the built dist/`);
  }
  const entry = new URL(`./${name}.ts`, callerUrl).href;
  const boot = `Promise.all(${JSON.stringify(tsxApis)}.map((api) => import(api))).then((apis) => { for (const tsx of apis) tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { ...options, eval: true, execArgv: [] });
}
