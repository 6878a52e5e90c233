// `serval serve` as a process: starts with a tiny model (and with no model: the demo model, announced as random),
// answers with the API key, and exits 0 on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestModel } from '../../src/models/make-test-model.js';

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function startServe(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; log: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, log: () => log, exited };
}

async function waitReady(base: string, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (child.exitCode !== null) throw new Error(`serval serve exited (${child.exitCode}):\n${log()}`);
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`serval serve did not come up:\n${log()}`);
}

test('serve MODEL --api-key ...: answers, logs requests without the key, exits 0 on SIGTERM', async () => {
  const model = makeTestModel({ arch: 'qwen2', out: join(mkdtempSync(join(tmpdir(), 'serval-serve-')), 'model'), hidden: 16, heads: 2, kvHeads: 1, layers: 1, seed: 4 });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const s = startServe([model, '--host', '127.0.0.1', '--port', String(port), '--api-key', 'sk-proc', '--served-model-name', 'tiny', 'tiny-alias', '--max-model-len', '1K', '--enable-log-requests', '--max-log-len', '8', '--device', 'ts']);
  try {
    await waitReady(base, s.child, s.log);
    const unauth = await fetch(`${base}/v1/models`);
    assert.equal(unauth.status, 401);
    const r = await fetch(`${base}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer sk-proc' },
      body: JSON.stringify({ model: 'tiny-alias', prompt: 'Hello there, this is a prompt', max_tokens: 3 }),
    });
    assert.equal(r.status, 200);
    const body = (await r.json()) as { model: string; usage: { completion_tokens: number } };
    assert.equal(body.model, 'tiny');
    assert.equal(body.usage.completion_tokens, 3);
    const models = (await (await fetch(`${base}/v1/models`, { headers: { authorization: 'Bearer sk-proc' } })).json()) as { data: Array<{ max_model_len: number }> };
    assert.equal(models.data[0].max_model_len, 1024);
  } finally {
    s.child.kill('SIGTERM');
  }
  assert.equal(await s.exited, 0, s.log());
  const log = s.log();
  assert.match(log, /Received request cmpl-/);
  assert.match(log, /prompt="Hello th"/, 'prompt cut to --max-log-len');
  assert.match(log, /"POST \/v1\/completions HTTP\/1\.1" 200/);
  assert.match(log, /SIGTERM received/);
  assert.match(log, /serval stopped/);
  assert.doesNotMatch(log, /sk-proc/);
});

test('serve with no model: the demo model, announced as random weights', async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const s = startServe(['--host', '127.0.0.1', '--port', String(port), '--disable-log-stats', '--guided-decoding-backend', 'xgrammar'], { SERVAL_CACHE: mkdtempSync(join(tmpdir(), 'serval-cache-')) });
  try {
    await waitReady(base, s.child, s.log);
    const r = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 }),
    });
    assert.equal(r.status, 200);
    assert.equal(((await r.json()) as { model: string }).model, 'serval-demo');
  } finally {
    s.child.kill('SIGINT');
  }
  assert.equal(await s.exited, 0, s.log());
  assert.match(s.log(), /built-in demo model .* weights are RANDOM/);
  assert.match(s.log(), /--guided-decoding-backend xgrammar accepted: serval's own structured-output engine/);
});

test('a model that cannot load stops serve with exit 1 and one clear line, no stack trace', async () => {
  const s = startServe(['/nonexistent/serval-model', '--port', String(await freePort()), '--disable-log-stats']);
  assert.equal(await s.exited, 1);
  assert.match(s.log(), /CRITICAL .* cannot start: model folder \/nonexistent\/serval-model does not exist/);
  assert.doesNotMatch(s.log(), /\n\s+at /);
});
