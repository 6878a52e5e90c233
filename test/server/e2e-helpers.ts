// A real serval server for end-to-end tests: a tiny make-test-model model (random weights, the real Qwen
// tokenizer and chat template), AsyncEngine on the ts backend with structured output, on 127.0.0.1.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { makeTestModel } from '../../src/models/make-test-model.js';
import { AsyncEngine } from '../../src/engine/async-engine.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { loadTokenVocab } from '../../src/structured/token-vocab.js';
import { buildServer, type BuiltServer } from '../../src/server/app.js';
import { asServerEngine } from '../../src/server/load-engine.js';
import { DEFAULT_SERVER_OPTIONS } from '../../src/server/server-options.js';

export const E2E_MODEL = 'serval-e2e';
export const E2E_KEY = 'sk-e2e-test';

export interface E2EServer extends BuiltServer {
  baseUrl: string;
  engine: AsyncEngine;
  close(): Promise<void>;
}

export async function startE2EServer(): Promise<E2EServer> {
  const dir = makeTestModel({ arch: 'qwen2', out: join(mkdtempSync(join(tmpdir(), 'serval-e2e-')), 'model'), hidden: 16, heads: 2, kvHeads: 1, layers: 1, seed: 11 });
  const grammar = createGrammarProvider(loadTokenVocab(dir, { size: 151936 }));
  const engine = await AsyncEngine.create({ model: dir, device: 'ts', grammar, maxModelLen: 512, numKvBlocks: 256 });
  const built = await buildServer(asServerEngine(engine), {
    ...DEFAULT_SERVER_OPTIONS,
    servedModelNames: [E2E_MODEL],
    modelRoot: dir,
    apiKeys: [E2E_KEY],
    accessLog: false,
  });
  await built.app.listen({ host: '127.0.0.1', port: 0 });
  const port = (built.app.server.address() as AddressInfo).port;
  return {
    ...built,
    engine,
    baseUrl: `http://127.0.0.1:${port}`,
    async close() {
      await built.app.close();
      await engine.shutdown();
    },
  };
}
