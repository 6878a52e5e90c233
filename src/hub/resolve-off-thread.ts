// resolveModelPath with its hub requests on a worker thread. Reading a fetch() body detaches an ArrayBuffer, and the
// first detach in a thread makes V8 give up an assumption for good (its ArrayBufferDetaching protector): typed-array
// code optimized after it carries a detach check on every read. On the engine thread that is the grammar masks' code,
// which the 2-core box measured 5-23 % slower at p50 after a detach (bench/structured/results, "Round 21"). Serving a
// hub id would otherwise run slower masks than serving a local folder. A local folder, or HF_HUB_OFFLINE, needs no
// request and resolves here.
import { existsSync } from 'node:fs';
import { startModuleWorker } from '../threads/start-module-worker.js';
import { hubOffline } from './hf-env.js';
import { HubError } from './hub-errors.js';
import { byteProgress, type ByteProgress } from './progress.js';
import { resolveModelPath, type ResolveOptions } from './resolve-model-path.js';

/** what resolve-worker.ts is given */
export interface ResolveWorkerInit {
  idOrPath: string;
  opts: Omit<ResolveOptions, 'progressBar'>;
}

/** what resolve-worker.ts sends back: its progress bar's calls, then the folder or the error */
export type FromResolveWorker =
  | { type: 'bar'; label: string; totalBytes: number; enabled: boolean }
  | { type: 'bytes'; n: number }
  | { type: 'bar-stop' }
  | { type: 'done'; dir: string }
  | { type: 'failed'; name: string; message: string; status?: number };

export async function resolveModelPathOffThread(idOrPath: string, opts: ResolveOptions = {}): Promise<string> {
  const env = opts.env ?? process.env;
  if (existsSync(idOrPath) || hubOffline(env)) {
    return resolveModelPath(idOrPath, opts);
  }
  const { progressBar = byteProgress, ...rest } = opts;
  const init: ResolveWorkerInit = { idOrPath, opts: rest };
  const worker = startModuleWorker(import.meta.url, 'resolve-worker', { workerData: init });
  let bar: ByteProgress | null = null;
  try {
    return await new Promise<string>((resolve, reject) => {
      worker.on('message', (m: FromResolveWorker) => {
        if (m.type === 'bar') bar = progressBar(m.label, m.totalBytes, m.enabled);
        else if (m.type === 'bytes') bar?.add(m.n);
        else if (m.type === 'bar-stop') bar?.stop();
        else if (m.type === 'done') resolve(m.dir);
        else reject(m.name === 'HubError' ? new HubError(m.message, m.status) : new Error(m.message));
      });
      worker.on('error', reject);
      worker.on('exit', (code) => reject(new Error(`resolving ${idOrPath}: the hub worker thread exited (code ${code}) without an answer`)));
    });
  } finally {
    await worker.terminate();
  }
}
