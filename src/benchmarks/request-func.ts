// One streamed benchmark request against an OpenAI-compatible endpoint, timed exactly as vLLM's
// endpoint_request_func does: TTFT = arrival of the first chunk carrying `choices`; one ITL per later such chunk;
// latency (E2EL) = arrival of the last chunk carrying `choices`; output tokens from the trailing usage chunk
// (`stream_options.include_usage`), prompt tokens from it as well when the server reports them.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { SseDataSplitter } from './sse.js';

export type EndpointKind = 'completions' | 'chat';

export interface RequestFuncInput {
  apiUrl: string;
  kind: EndpointKind;
  model: string;
  prompt: string;
  promptLen: number;
  outputLen: number;
  ignoreEos: boolean;
  /** merged into the request body (e.g. response_format for structured output) */
  extraBody?: Record<string, unknown>;
  headers?: Record<string, string>;
}

export interface RequestFuncOutput {
  success: boolean;
  generatedText: string;
  /** seconds */
  ttft: number;
  itl: number[];
  latency: number;
  /** 0 when the server sent no usage */
  outputTokens: number;
  promptLen: number;
  error: string;
  /** performance.now() seconds at send time */
  startTime: number;
}

export function endpointKind(endpoint: string): EndpointKind {
  if (endpoint.endsWith('chat/completions')) return 'chat';
  if (endpoint.endsWith('completions')) return 'completions';
  throw new Error(`--endpoint must end with /completions or /chat/completions, got ${endpoint}`);
}

export function requestBody(input: RequestFuncInput): Record<string, unknown> {
  const body: Record<string, unknown> =
    input.kind === 'chat'
      ? { model: input.model, messages: [{ role: 'user', content: input.prompt }], max_completion_tokens: input.outputLen }
      : { model: input.model, prompt: input.prompt, repetition_penalty: 1.0, max_tokens: input.outputLen };
  body.stream = true;
  body.stream_options = { include_usage: true };
  if (input.ignoreEos) body.ignore_eos = true;
  if (input.extraBody) Object.assign(body, input.extraBody);
  return body;
}

const nowSeconds = (): number => performance.now() / 1000;

// node:http rather than fetch: fetch gives up after 300 s without response headers, and a server may hold the
// headers until the first token (a long queue on a slow backend); vLLM's client waits up to 6 hours.
const httpAgent = new HttpAgent({ keepAlive: true });
const httpsAgent = new HttpsAgent({ keepAlive: true });

function post(url: string, headers: Record<string, string>, body: string): Promise<IncomingMessage> {
  const u = new URL(url);
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(u, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, agent: u.protocol === 'https:' ? httpsAgent : httpAgent }, resolve);
    req.on('error', reject);
    req.end(body);
  });
}

async function readAll(res: IncomingMessage): Promise<string> {
  let text = '';
  for await (const c of res) text += c;
  return text;
}

export async function sendStreamingRequest(input: RequestFuncInput): Promise<RequestFuncOutput> {
  const out: RequestFuncOutput = {
    success: false, generatedText: '', ttft: 0, itl: [], latency: 0, outputTokens: 0, promptLen: input.promptLen, error: '', startTime: 0,
  };
  const headers: Record<string, string> = { 'content-type': 'application/json', ...input.headers };
  if (process.env.OPENAI_API_KEY) headers.authorization = `Bearer ${process.env.OPENAI_API_KEY}`;
  const st = nowSeconds();
  out.startTime = st;
  let mostRecent = st;
  let firstChunk = false;
  try {
    const res = await post(input.apiUrl, headers, JSON.stringify(requestBody(input)));
    if (res.statusCode !== 200) {
      out.error = `HTTP ${res.statusCode} ${res.statusMessage ?? ''}: ${(await readAll(res)).slice(0, 500)}`;
      return out;
    }
    const splitter = new SseDataSplitter();
    const handle = (payload: string): void => {
      const data = payload.trim();
      if (data === '' || data === '[DONE]') return;
      const timestamp = nowSeconds();
      const chunk = JSON.parse(data) as {
        choices?: Array<{ text?: string | null; delta?: { content?: string | null } }>;
        usage?: { completion_tokens?: number; prompt_tokens?: number } | null;
        error?: unknown;
      };
      if (chunk.error !== undefined) throw new Error(`server sent an error in the stream: ${JSON.stringify(chunk.error)}`);
      if (chunk.choices && chunk.choices.length > 0) {
        const c = chunk.choices[0]!;
        const text = input.kind === 'chat' ? c.delta?.content : c.text;
        if (!firstChunk) {
          firstChunk = true;
          out.ttft = timestamp - st;
        } else {
          out.itl.push(timestamp - mostRecent);
        }
        mostRecent = timestamp;
        out.generatedText += text ?? '';
      } else if (chunk.usage) {
        out.outputTokens = chunk.usage.completion_tokens ?? 0;
        if (typeof chunk.usage.prompt_tokens === 'number') out.promptLen = chunk.usage.prompt_tokens;
      }
    };
    for await (const bytes of res as AsyncIterable<Uint8Array>) {
      for (const payload of splitter.push(bytes)) handle(payload);
    }
    for (const payload of splitter.finish()) handle(payload);
    if (firstChunk) out.success = true;
    else out.error = 'Never received a valid chunk to calculate TTFT. This response will be marked as failed!';
    out.latency = mostRecent - st;
  } catch (e) {
    out.success = false;
    out.error = e instanceof Error ? (e.stack ?? e.message) : String(e);
  }
  return out;
}
