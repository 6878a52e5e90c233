// Chat messages → prompt text through the model's chat template → token ids (the template already holds the
// special tokens, so none are added, as vLLM does for chat).
import { ApiError, badRequest } from './api-error.js';
import type { ChatMessageIn, ToolIn } from './schemas/chat-schema.js';
import type { ServerEngine, TemplateMessage, TemplateTool } from './server-engine.js';
import { promptEncoderOf } from '../tokenizer/prompt-encoder.js';

export interface ChatPrompt {
  text: string;
  tokenIds: number[];
}

function contentText(m: ChatMessageIn, i: number): string | null {
  const c = m.content;
  if (c === undefined || c === null) return null;
  if (typeof c === 'string') return c;
  const texts: string[] = [];
  c.forEach((part, j) => {
    if (part.type !== 'text' || typeof (part as { text?: unknown }).text !== 'string') {
      throw badRequest(`messages[${i}].content[${j}]: content parts of type '${part.type}' are not supported (text only)`, `messages[${i}].content`);
    }
    texts.push((part as { text: string }).text);
  });
  return texts.join('\n');
}

/** OpenAI sends tool-call arguments as JSON text; chat templates expect the object (they re-serialize it). */
function parsedArguments(args: unknown): unknown {
  if (typeof args !== 'string') return args;
  try {
    return JSON.parse(args);
  } catch {
    return args;
  }
}

export function toTemplateMessages(messages: ChatMessageIn[]): TemplateMessage[] {
  return messages.map((m, i) => {
    const out: TemplateMessage = { role: m.role === 'developer' ? 'system' : m.role, content: contentText(m, i) };
    if (m.name !== undefined) out.name = m.name;
    if (m.tool_call_id !== undefined) out.tool_call_id = m.tool_call_id;
    if (m.tool_calls) {
      out.tool_calls = m.tool_calls.map((tc) => ({
        ...(tc.id !== undefined ? { id: tc.id } : {}),
        type: 'function' as const,
        function: { name: tc.function.name, arguments: parsedArguments(tc.function.arguments) },
      }));
    }
    return out;
  });
}

export interface ChatPromptOptions {
  tools?: ToolIn[] | null;
  addGenerationPrompt?: boolean;
  continueFinalMessage?: boolean;
}

/** the chat template's text for these messages (no encoding) */
export function renderChatText(engine: ServerEngine, messages: ChatMessageIn[], opts: ChatPromptOptions): string {
  const continueFinal = opts.continueFinalMessage ?? false;
  const addGen = opts.addGenerationPrompt ?? !continueFinal;
  if (continueFinal && addGen) {
    throw badRequest('continue_final_message and add_generation_prompt cannot both be true', 'continue_final_message');
  }
  if (continueFinal && messages[messages.length - 1].role !== 'assistant') {
    throw badRequest('continue_final_message needs the last message to be from the assistant', 'continue_final_message');
  }
  const renderOpts: { tools?: TemplateTool[]; addGenerationPrompt: boolean; continueFinalMessage: boolean } = {
    addGenerationPrompt: addGen,
    continueFinalMessage: continueFinal,
  };
  if (opts.tools && opts.tools.length > 0) renderOpts.tools = opts.tools as TemplateTool[];
  const templateMessages = toTemplateMessages(messages);
  try {
    return engine.chatTemplate.render(templateMessages, renderOpts);
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw badRequest(`the chat template failed on these messages: ${(e as Error).message}`, 'messages');
  }
}

/** rendered and encoded on this thread (the /tokenize route) */
export function renderChatPrompt(engine: ServerEngine, messages: ChatMessageIn[], opts: ChatPromptOptions, addSpecialTokens = false): ChatPrompt {
  const text = renderChatText(engine, messages, opts);
  return { text, tokenIds: engine.tokenizer.encode(text, { addSpecialTokens }) };
}

/** rendered here, encoded by the engine's tokenizer pool, off the thread that runs the engine loop (chat completions) */
export async function encodeChatPrompt(engine: ServerEngine, messages: ChatMessageIn[], opts: ChatPromptOptions, addSpecialTokens = false): Promise<ChatPrompt> {
  const text = renderChatText(engine, messages, opts);
  return { text, tokenIds: await promptEncoderOf(engine).encode(text, { addSpecialTokens }) };
}
