// Shared set-up for server tests: a built app around a FakeEngine, and an SSE body parser.
import { buildServer, type BuiltServer } from '../../src/server/app.js';
import { DEFAULT_SERVER_OPTIONS, type ServerOptions } from '../../src/server/server-options.js';
import { FakeEngine } from './fake-engine.js';

export async function fakeServer(engine = new FakeEngine(), overrides: Partial<ServerOptions> = {}): Promise<BuiltServer & { engine: FakeEngine }> {
  const options: ServerOptions = { ...DEFAULT_SERVER_OPTIONS, servedModelNames: ['fake-model', 'alias'], modelRoot: '/models/fake', accessLog: false, ...overrides };
  const built = await buildServer(engine, options);
  return { ...built, engine };
}

/** Splits an SSE body into its data payloads; asserts the framing (every event is `data: ...\n\n`). */
export function sseData(body: string): string[] {
  if (!body.endsWith('\n\n')) throw new Error(`SSE body does not end with a blank line: ${JSON.stringify(body.slice(-40))}`);
  return body
    .slice(0, -2)
    .split('\n\n')
    .map((ev) => {
      if (!ev.startsWith('data: ')) throw new Error(`not an SSE data event: ${JSON.stringify(ev)}`);
      return ev.slice('data: '.length);
    });
}

export function sseJson(body: string): { chunks: Array<Record<string, any>>; done: boolean } {
  const data = sseData(body);
  const done = data[data.length - 1] === '[DONE]';
  return { chunks: (done ? data.slice(0, -1) : data).map((d) => JSON.parse(d)), done };
}
