// resolveModelPathOffThread (what serve, run-batch and the in-process engine call): the hub requests run on a worker
// thread, with the same folder, errors and progress as resolveModelPath on the calling thread; a local folder or
// HF_HUB_OFFLINE needs no thread.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveModelPath } from '../../src/hub/resolve-model-path.js';
import { resolveModelPathOffThread } from '../../src/hub/resolve-off-thread.js';
import { HubError } from '../../src/hub/hub-errors.js';
import type { ProgressBarFactory } from '../../src/hub/progress.js';
import { FakeHub } from './fake-hub.js';

const C1 = 'c'.repeat(40);
const weights = Buffer.alloc(200_000, 3);
const config = Buffer.from('{"architectures": ["Qwen2ForCausalLM"]}');
const tokenizer = Buffer.from('{}');
const hub = await new FakeHub({
  'org/tiny': { refs: { main: C1 }, commits: { [C1]: {
    'config.json': { content: config },
    'tokenizer.json': { content: tokenizer },
    'model.safetensors': { content: weights, lfs: true },
  } } },
}).start();
after(() => hub.stop());

const freshDir = () => mkdtempSync(join(tmpdir(), 'serval-hub-'));
const envFor = (cache: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv =>
  ({ HF_HUB_CACHE: cache, HF_HOME: freshDir(), HF_ENDPOINT: hub.url, ...extra });

/** a progress bar that records what it was told */
function recordingBar(): { factory: ProgressBarFactory; calls: string[]; bytes: () => number } {
  const calls: string[] = [];
  let bytes = 0;
  const factory: ProgressBarFactory = (label, totalBytes, enabled) => {
    calls.push(`start ${label} ${totalBytes} ${enabled}`);
    return { add: (n) => void (bytes += n), stop: () => void calls.push('stop') };
  };
  return { factory, calls, bytes: () => bytes };
}

test('downloads on a worker thread into the same folder, drawing the weights\' progress here', async () => {
  const cache = freshDir();
  const before = hub.requests.length;
  const bar = recordingBar();
  const dir = await resolveModelPathOffThread('org/tiny', { env: envFor(cache), progressBar: bar.factory });
  assert.equal(dir, join(cache, 'models--org--tiny', 'snapshots', C1));
  assert.deepEqual(readFileSync(join(dir, 'model.safetensors')), weights);
  assert.ok(hub.requests.length > before, 'the hub was asked');
  // the small files' bar (not shown) and the weights' bar, each stopped; every byte counted
  const small = config.length + tokenizer.length;
  assert.deepEqual(bar.calls, [`start org/tiny ${small} false`, 'stop', `start org/tiny ${weights.length} true`, 'stop']);
  assert.equal(bar.bytes(), small + weights.length);
  // the same answer on this thread, from the cache it filled
  assert.equal(await resolveModelPath('org/tiny', { env: envFor(cache), progress: false }), dir);
});

test('a hub error comes back as the same HubError, with its status', async () => {
  const env = envFor(freshDir());
  const here = await resolveModelPath('org/missing', { env, progress: false }).catch((e: unknown) => e);
  const there = await resolveModelPathOffThread('org/missing', { env, progress: false }).catch((e: unknown) => e);
  assert.ok(here instanceof HubError && there instanceof HubError, String(there));
  assert.equal(there.message, here.message);
  assert.equal(there.status, 404);
});

test('a local folder and HF_HUB_OFFLINE resolve without the hub', async () => {
  const cache = freshDir();
  const dir = await resolveModelPathOffThread('org/tiny', { env: envFor(cache), progress: false });
  const before = hub.requests.length;
  assert.equal(await resolveModelPathOffThread(dir, { env: envFor(cache) }), dir);
  assert.equal(await resolveModelPathOffThread('org/tiny', { env: envFor(cache, { HF_HUB_OFFLINE: '1' }) }), dir);
  assert.equal(hub.requests.length, before);
});
