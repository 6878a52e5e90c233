// A stand-in encode worker that speaks encode-protocol.ts without a tokenizer, for the pool's failure paths:
// ids are the texts' char codes; a text "FAIL" fails alone; "CRASH" throws out of the worker; "EXIT" exits it;
// workerData.silent: never says ready (the pool waits for it).
import { parentPort, workerData } from 'node:worker_threads';

if (!workerData.silent) parentPort.postMessage({ type: 'ready', fingerprint: workerData.fingerprint });
parentPort.on('message', (job) => {
  if (job.texts.includes('CRASH')) throw new Error('scripted crash');
  if (job.texts.includes('EXIT')) process.exit(7);
  const lists = job.texts.map((t) => (t === 'FAIL' ? [] : [...t].map((c) => c.codePointAt(0))));
  const ids = Int32Array.from(lists.flat());
  const lengths = Uint32Array.from(lists.map((l) => l.length));
  const errors = job.texts.flatMap((t, index) => (t === 'FAIL' ? [{ index, message: 'scripted failure' }] : []));
  parentPort.postMessage({ type: 'encoded', jobId: job.jobId, ids, lengths, errors }, [ids.buffer, lengths.buffer]);
});
