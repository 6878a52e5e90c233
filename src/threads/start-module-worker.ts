// Starts a worker thread from a module that sits next to the caller: `name`.js once built (dist/), `name`.ts from the
// TypeScript sources (tests and benches run through tsx). Node 20 does not carry the main thread's `--import tsx`
// loader hooks into workers, so the .ts entry is reached through a tiny boot script that registers tsx first.
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startModuleWorker(callerUrl: string, name: string, options: WorkerOptions = {}): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, callerUrl), options);
  let tsxApi: string;
  try {
    tsxApi = import.meta.resolve('tsx/esm/api');
  } catch {
    throw new Error(`worker ${name}: starting it from the TypeScript sources needs tsx (npm install), or run the built dist/`);
  }
  const entry = new URL(`./${name}.ts`, callerUrl).href;
  const boot = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { ...options, eval: true, execArgv: [] });
}
