// Behaviour that needs a real socket: TLS, client disconnects aborting engine requests, graceful shutdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { fakeServer } from './helpers.js';
import { FakeEngine } from './fake-engine.js';
import { createShutdown } from '../../src/server/shutdown.js';
import pino from 'pino';

function selfSignedCert(): { keyFile: string; certFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'serval-tls-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { keyFile, certFile };
}

test('TLS: --ssl-keyfile/--ssl-certfile serve HTTPS', async () => {
  const tls = selfSignedCert();
  const { app } = await fakeServer(undefined, { tls });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const body = await new Promise<string>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path: '/v1/models', rejectUnauthorized: false }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve(data));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(JSON.parse(body).data[0].id, 'fake-model');
  // plain HTTP to the TLS port does not get an answer
  await assert.rejects(
    new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/health' }, resolve);
      req.on('error', reject);
      req.setTimeout(2000, () => req.destroy(new Error('timeout')));
      req.end();
    }),
  );
  await app.close();
});

function postAndHangUp(port: number, path: string, payload: object, afterBytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let got = 0;
      res.on('data', (c: Buffer) => {
        got += c.length;
        if (got >= afterBytes) {
          req.destroy();
          resolve();
        }
      });
    });
    req.on('error', () => resolve());
    req.end(JSON.stringify(payload));
    if (afterBytes === 0) setTimeout(() => (req.destroy(), resolve()), 100);
    req.on('timeout', reject);
  });
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('client disconnect aborts the engine request (streamed and not streamed)', async () => {
  const engine = new FakeEngine(() => 'x'.repeat(500), 4096);
  engine.tokenDelayMs = 5;
  const { app, inflight } = await fakeServer(engine);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  await postAndHangUp(port, '/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }], stream: true, max_tokens: 400 }, 1);
  await waitFor(() => engine.aborted.size === 1);
  await postAndHangUp(port, '/v1/completions', { prompt: 'hi', max_tokens: 400 }, 0);
  await waitFor(() => engine.aborted.size === 2);
  await waitFor(() => inflight.size === 0);
  assert.equal(engine.stats().numRunning, 0);
  await app.close();
});

test('shutdown: stops accepting, lets in-flight requests finish within the grace period, exits 0', async () => {
  const engine = new FakeEngine(() => 'y'.repeat(30));
  engine.tokenDelayMs = 10;
  const { app, inflight } = await fakeServer(engine);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const pending = fetch(`http://127.0.0.1:${port}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'a', max_tokens: 50 }) });
  await waitFor(() => inflight.size === 1);
  let exitCode: number | null = null;
  const shutdown = createShutdown({ app, engine, inflight, log: pino({ level: 'silent' }), graceMs: 10_000, exit: (c) => (exitCode = c) });
  const done = shutdown('SIGTERM');
  const res = await pending;
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as any).choices[0].text, 'y'.repeat(30));
  await done;
  assert.equal(exitCode, 0);
  await assert.rejects(fetch(`http://127.0.0.1:${port}/health`));
});

test('shutdown: in-flight requests past the grace period are aborted', async () => {
  const engine = new FakeEngine(() => 'z'.repeat(10_000));
  engine.tokenDelayMs = 5;
  const { app, inflight } = await fakeServer(engine);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  const pending = fetch(`http://127.0.0.1:${port}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'a' }) });
  await waitFor(() => inflight.size === 1);
  let exitCode: number | null = null;
  await Promise.all([createShutdown({ app, engine, inflight, log: pino({ level: 'silent' }), graceMs: 200, exit: (c) => (exitCode = c) })('SIGINT'), pending]);
  const body = (await (await pending).json()) as any;
  assert.equal(body.choices[0].finish_reason, 'abort');
  assert.equal(exitCode, 0);
  assert.equal(engine.aborted.size, 1);
});
