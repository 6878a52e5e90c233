// Tool calls in the Qwen/Hermes format: the model writes `<tool_call>{"name": ..., "arguments": {...}}</tool_call>`
// blocks; they become OpenAI `tool_calls` (arguments as a JSON string), the rest stays content.
import { randomBytes } from 'node:crypto';

export interface ParsedToolCall {
  name: string;
  /** JSON text of the arguments object */
  arguments: string;
}

export interface OpenAIToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

const OPEN = '<tool_call>';
const CLOSE = '</tool_call>';

export function newToolCallId(): string {
  return `chatcmpl-tool-${randomBytes(16).toString('hex')}`;
}

export function toOpenAIToolCall(c: ParsedToolCall): OpenAIToolCall {
  return { id: newToolCallId(), type: 'function', function: { name: c.name, arguments: c.arguments } };
}

/** One `{"name", "arguments"}` object; null if the text is not one. */
export function parseToolCallJson(text: string): ParsedToolCall | null {
  let v: unknown;
  try {
    v = JSON.parse(text.trim());
  } catch {
    return null;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return null;
  const o = v as { name?: unknown; arguments?: unknown; parameters?: unknown };
  if (typeof o.name !== 'string') return null;
  const args = o.arguments ?? o.parameters ?? {};
  return { name: o.name, arguments: typeof args === 'string' ? args : JSON.stringify(args) };
}

/** Whole-output parse: content outside the blocks (null when only whitespace) and the calls. Blocks that do not
 * hold a valid call stay in the content, so nothing the model wrote is lost. */
export function parseHermesToolCalls(text: string): { content: string | null; calls: ParsedToolCall[] } {
  const calls: ParsedToolCall[] = [];
  let content = '';
  let pos = 0;
  while (pos < text.length) {
    const start = text.indexOf(OPEN, pos);
    if (start < 0) {
      content += text.slice(pos);
      break;
    }
    content += text.slice(pos, start);
    const end = text.indexOf(CLOSE, start + OPEN.length);
    const body = text.slice(start + OPEN.length, end < 0 ? text.length : end);
    const call = parseToolCallJson(body);
    const blockEnd = end < 0 ? text.length : end + CLOSE.length;
    if (call) calls.push(call);
    else content += text.slice(start, blockEnd);
    pos = blockEnd;
  }
  return { content: content.trim() === '' && calls.length > 0 ? null : content, calls };
}

export interface StreamDelta {
  content: string;
  calls: ParsedToolCall[];
}

/** Incremental version for streaming: content is passed on as it comes, except a tail that may be the start of
 * `<tool_call>`; a call is emitted whole once its closing tag arrives. */
export class HermesToolCallStreamParser {
  private buffer = '';
  private inCall = false;

  feed(delta: string): StreamDelta {
    this.buffer += delta;
    const out: StreamDelta = { content: '', calls: [] };
    for (;;) {
      if (!this.inCall) {
        const start = this.buffer.indexOf(OPEN);
        if (start >= 0) {
          out.content += this.buffer.slice(0, start);
          this.buffer = this.buffer.slice(start + OPEN.length);
          this.inCall = true;
          continue;
        }
        const keep = partialPrefixLength(this.buffer, OPEN);
        out.content += this.buffer.slice(0, this.buffer.length - keep);
        this.buffer = this.buffer.slice(this.buffer.length - keep);
        return out;
      }
      const end = this.buffer.indexOf(CLOSE);
      if (end < 0) return out;
      const body = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + CLOSE.length);
      this.inCall = false;
      const call = parseToolCallJson(body);
      if (call) out.calls.push(call);
      else out.content += OPEN + body + CLOSE;
    }
  }

  /** end of output: an unclosed block is parsed if it holds a whole call, else returned as content */
  finish(): StreamDelta {
    const rest = this.buffer;
    this.buffer = '';
    if (!this.inCall) return { content: rest, calls: [] };
    this.inCall = false;
    const call = parseToolCallJson(rest);
    return call ? { content: '', calls: [call] } : { content: OPEN + rest, calls: [] };
  }
}

/** length of the longest suffix of s that is a proper prefix of tag */
function partialPrefixLength(s: string, tag: string): number {
  for (let n = Math.min(tag.length - 1, s.length); n > 0; n--) {
    if (s.endsWith(tag.slice(0, n))) return n;
  }
  return 0;
}
