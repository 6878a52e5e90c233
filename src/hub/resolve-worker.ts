// The worker thread of resolve-off-thread.ts: resolves one model id, its hub requests detaching buffers here rather
// than on the engine thread; the progress bar is drawn by the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { resolveModelPath } from './resolve-model-path.js';
import type { FromResolveWorker, ResolveWorkerInit } from './resolve-off-thread.js';

if (!parentPort) throw new Error('resolve-worker.ts runs as the worker thread of resolve-off-thread.ts');
const port = parentPort;
const send = (m: FromResolveWorker): void => port.postMessage(m);
const { idOrPath, opts } = workerData as ResolveWorkerInit;
try {
  const dir = await resolveModelPath(idOrPath, {
    ...opts,
    progressBar: (label, totalBytes, enabled) => {
      send({ type: 'bar', label, totalBytes, enabled });
      return { add: (n) => send({ type: 'bytes', n }), stop: () => send({ type: 'bar-stop' }) };
    },
  });
  send({ type: 'done', dir });
} catch (e) {
  const err = e instanceof Error ? e : new Error(String(e));
  const status = (err as { status?: unknown }).status;
  send({ type: 'failed', name: err.name, message: err.message, ...(typeof status === 'number' ? { status } : {}) });
}
