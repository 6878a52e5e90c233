// The worker thread that runs web-xgrammar for the benches (web-xgrammar-peer.ts says why it has a thread of its
// own): answers each call with the same-thread peer's answer.
import { parentPort } from 'node:worker_threads';
import { sameThreadPeer, type PeerAnswer, type PeerCall } from './web-xgrammar-peer.js';
import { qwen } from '../../test/structured/qwen-fixture.js';

if (!parentPort) throw new Error('web-xgrammar-thread.ts runs as a worker thread of web-xgrammar-peer.ts');
const port = parentPort;
const answer = (a: PeerAnswer): void => port.postMessage(a);
const error = (e: unknown): string => (e instanceof Error ? e.message : String(e));

try {
  const peer = await sameThreadPeer(qwen());
  port.on('message', (c: PeerCall) => {
    const done = c.op === 'compile' ? peer.compile(c.schema) : c.op === 'masks' ? peer.masks(c.ids, c.timed) : peer.dispose();
    done.then(
      (value) => answer({ ok: true, value: value ?? null }),
      (e) => answer({ ok: false, error: error(e) }),
    );
  });
  answer({ ok: true, value: 'ready' });
} catch (e) {
  answer({ ok: false, error: error(e) });
}
