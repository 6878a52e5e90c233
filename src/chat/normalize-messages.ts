// Brings request messages into the shape vLLM hands to chat templates (text-only models).
import type { ContentFormat } from './content-format.js';
import type { ChatMessage, ChatTextPart } from './types.js';

export type TemplateMessage = Record<string, unknown> & { role: string; content: string | ChatTextPart[] };

/**
 * "string" format: content becomes one string (text parts joined with "\n"); "openai" format (templates that loop
 * over content): content becomes a list of {type: "text", text} parts, a plain string being one part.
 */
export function normalizeMessages(messages: readonly ChatMessage[], format: ContentFormat = 'string'): TemplateMessage[] {
  if (!Array.isArray(messages) || messages.length === 0) throw new Error('messages must be a non-empty list');
  return messages.map((message, i) => normalizeMessage(message, format, `messages[${i}]`));
}

function normalizeMessage(message: ChatMessage, format: ContentFormat, where: string): TemplateMessage {
  if (message === null || typeof message !== 'object') throw new Error(`${where} must be an object`);
  if (typeof message.role !== 'string') throw new Error(`${where}.role must be a string`);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(structuredClone(message))) {
    // a key that is present with no value would still be seen by `'tool_calls' in message` in a template
    if (value !== undefined && !(key === 'tool_calls' && value === null)) out[key] = value;
  }
  const parts = textParts(message.content, where);
  out.content = format === 'openai' ? parts.map((text) => ({ type: 'text', text })) : parts.join('\n');
  if (Array.isArray(out.tool_calls)) {
    out.tool_calls = (out.tool_calls as unknown[]).map((call, j) => parseToolCallArguments(call, `${where}.tool_calls[${j}]`));
  }
  return out as TemplateMessage;
}

function textParts(content: ChatMessage['content'], where: string): string[] {
  if (content === undefined || content === null) return [];
  if (typeof content === 'string') return [content];
  if (!Array.isArray(content)) throw new Error(`${where}.content must be a string, a list of parts or null`);
  return content
    .map((part, k) => {
      if (part?.type !== 'text') {
        throw new Error(`${where}.content[${k}]: content part type ${JSON.stringify(part?.type)} is not supported ` +
          '(serval serves text-only models; only "text" parts are accepted)');
      }
      if (typeof part.text !== 'string') throw new Error(`${where}.content[${k}].text must be a string`);
      return part.text;
    });
}

/** Templates index into the arguments object (e.g. `tool_call.arguments | tojson`), so JSON strings are parsed. */
function parseToolCallArguments(call: unknown, where: string): unknown {
  if (call === null || typeof call !== 'object') throw new Error(`${where} must be an object`);
  const fn = (call as { function?: unknown }).function;
  if (fn === null || typeof fn !== 'object') throw new Error(`${where}.function must be an object`);
  const args = (fn as { arguments?: unknown }).arguments;
  let parsed: unknown = args;
  if (!args) parsed = {};
  else if (typeof args === 'string') {
    try {
      parsed = JSON.parse(args);
    } catch (err) {
      throw new Error(`${where}.function.arguments is not valid JSON: ${(err as Error).message}`);
    }
  }
  return { ...(call as object), function: { ...(fn as object), arguments: parsed } };
}
