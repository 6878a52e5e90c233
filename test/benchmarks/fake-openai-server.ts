// A tiny OpenAI-compatible streaming server on 127.0.0.1 for the benchmark tests: answers /v1/models and streams
// `max_tokens` one-word chunks (a few ms apart), then a usage chunk and [DONE]. Records every request body.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeServer {
  baseUrl: string;
  bodies: Array<Record<string, unknown>>;
  maxInFlight: number;
  close(): Promise<void>;
}

export interface FakeServerOptions {
  /** milliseconds between chunks */
  chunkDelayMs?: number;
  /** answer every completion request with this HTTP status instead of a stream */
  failStatus?: number;
  /** leave out the usage chunk (some servers ignore stream_options) */
  noUsage?: boolean;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let raw = '';
  for await (const c of req) raw += c;
  return JSON.parse(raw) as Record<string, unknown>;
}

export async function startFakeOpenAIServer(opts: FakeServerOptions = {}): Promise<FakeServer> {
  const bodies: Array<Record<string, unknown>> = [];
  let inFlight = 0;
  const state = { maxInFlight: 0 };
  const server: Server = createServer((req, res) => {
    void (async () => {
      if (req.method === 'GET' && req.url === '/v1/models') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: [{ id: 'fake-model', object: 'model', root: '/nonexistent/fake-model' }] }));
        return;
      }
      const chat = req.url === '/v1/chat/completions';
      if (req.method !== 'POST' || (!chat && req.url !== '/v1/completions')) {
        res.writeHead(404).end();
        return;
      }
      const body = await readJson(req);
      bodies.push(body);
      if (opts.failStatus) {
        res.writeHead(opts.failStatus, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'fake failure' } }));
        return;
      }
      inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, inFlight);
      const n = Number(chat ? body.max_completion_tokens : body.max_tokens);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < n; i++) {
        await new Promise((r) => setTimeout(r, opts.chunkDelayMs ?? 2));
        const choice = chat ? { index: 0, delta: { content: `w${i} ` }, finish_reason: i === n - 1 ? 'length' : null } : { index: 0, text: `w${i} `, finish_reason: i === n - 1 ? 'length' : null };
        // split one event over two writes to exercise reassembly of partial SSE messages
        const event = `data: ${JSON.stringify({ id: 'x', choices: [choice] })}\n\n`;
        res.write(event.slice(0, 7));
        res.write(event.slice(7));
      }
      if (!opts.noUsage) res.write(`data: ${JSON.stringify({ id: 'x', choices: [], usage: { prompt_tokens: 11, completion_tokens: n, total_tokens: 11 + n } })}\n\n`);
      res.write('data: [DONE]\n\n');
      res.end();
      inFlight--;
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    bodies,
    get maxInFlight() {
      return state.maxInFlight;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
