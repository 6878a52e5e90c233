// step-masks.ts's workload, picked on a thread of its own (see step-masks.ts): posts the items and exits.
import { parentPort, workerData } from 'node:worker_threads';
import { qwen } from '../../test/structured/qwen-fixture.js';
import { pickWorkload } from './step-masks.js';

if (!parentPort) throw new Error('step-masks-workload.ts runs as a worker thread of step-masks.ts');
parentPort.postMessage(pickWorkload(qwen(), (workerData as { perSubset: number }).perSubset));
