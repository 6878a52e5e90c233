// Encode worker: loads the tokenizer from the folder the main thread loaded it from and encodes batches of texts.
import { parentPort, workerData } from 'node:worker_threads';
import type { EncodeJobMessage, EncodeWorkerInit, EncodeWorkerMessage } from './encode-protocol.js';
import { loadTokenizer, type Tokenizer } from './tokenizer.js';

const port = parentPort;
if (!port) throw new Error('encode-worker.ts runs as a worker thread (TokenizerPool starts it)');
const post = (m: EncodeWorkerMessage, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

async function load(): Promise<Tokenizer | null> {
  try {
    return await loadTokenizer((workerData as EncodeWorkerInit).dir);
  } catch (e) {
    // the pool rejects its calls with this and stops the worker
    post({ type: 'load-failed', message: (e as Error).message });
    return null;
  }
}

function encodeJob(tokenizer: Tokenizer, job: EncodeJobMessage): void {
  const encoded: number[][] = [];
  const errors: Array<{ index: number; message: string }> = [];
  let total = 0;
  job.texts.forEach((text, index) => {
    try {
      const ids = tokenizer.encode(text, { addSpecialTokens: job.addSpecialTokens });
      encoded.push(ids);
      total += ids.length;
    } catch (e) {
      encoded.push([]);
      errors.push({ index, message: (e as Error).message });
    }
  });
  const ids = new Int32Array(total);
  const lengths = new Uint32Array(encoded.length);
  let offset = 0;
  encoded.forEach((list, i) => {
    ids.set(list, offset);
    offset += list.length;
    lengths[i] = list.length;
  });
  post({ type: 'encoded', jobId: job.jobId, ids, lengths, errors }, [ids.buffer, lengths.buffer]);
}

const tokenizer = await load();
if (tokenizer) {
  const { size, eosTokenId, bosTokenId, padTokenId } = tokenizer;
  post({ type: 'ready', fingerprint: { size, eosTokenId, bosTokenId, padTokenId } });
  port.on('message', (job: EncodeJobMessage) => encodeJob(tokenizer, job));
}
