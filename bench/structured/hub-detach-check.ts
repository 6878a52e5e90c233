// Where a hub download detaches its buffers: resolves a model from a fake hub on 127.0.0.1 with
// resolveModelPathOffThread, then with resolveModelPath on this thread, printing a line after each. Run it through
// hub-detach-check.sh (bundled, under node --trace-protector-invalidation: tsx detaches a buffer at start-up, which
// would hide the answer). V8 prints "Invalidating protector cell ArrayBufferDetaching" once per thread, at its first
// detach: a line after the on-thread resolution as well means the off-thread one left this thread's protector intact.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeHub } from '../../test/hub/fake-hub.js';
import { resolveModelPathOffThread } from '../../src/hub/resolve-off-thread.js';
import { resolveModelPath } from '../../src/hub/resolve-model-path.js';

const C1 = 'c'.repeat(40);
const hub = await new FakeHub({
  'org/tiny': { refs: { main: C1 }, commits: { [C1]: {
    'config.json': { content: Buffer.from('{}') },
    'model.safetensors': { content: Buffer.alloc(300_000, 1), lfs: true },
  } } },
}).start();
const env = (): NodeJS.ProcessEnv =>
  ({ HF_HUB_CACHE: mkdtempSync(join(tmpdir(), 'serval-hdc-')), HF_HOME: mkdtempSync(join(tmpdir(), 'serval-hdc-')), HF_ENDPOINT: hub.url });
console.log('before');
await resolveModelPathOffThread('org/tiny', { env: env(), progress: false });
console.log('after the off-thread resolution');
await resolveModelPath('org/tiny', { env: env(), progress: false });
console.log('after a resolution on this thread');
await hub.stop();
