// What the HTTP server needs: the ServingEngine contract plus the tokenizer and chat template that AsyncEngine
// exposes (the server counts prompt tokens itself to answer "prompt too long" before queueing).
import type { ServingEngine } from '../engine/serving-engine.js';
import type { TextTokenizer } from '../tokenizer/types.js';

/** A chat message as the chat template sees it (OpenAI shape; tool-call arguments already parsed to objects). */
export interface TemplateMessage {
  role: string;
  content: string | null;
  name?: string;
  tool_call_id?: string;
  tool_calls?: Array<{ id?: string; type: 'function'; function: { name: string; arguments: unknown } }>;
  [key: string]: unknown;
}

export interface TemplateTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: unknown };
}

export interface ChatTemplateRenderer {
  render(
    messages: TemplateMessage[],
    options: { tools?: TemplateTool[]; addGenerationPrompt?: boolean; continueFinalMessage?: boolean },
  ): string;
}

export interface ServerEngine extends ServingEngine {
  readonly tokenizer: TextTokenizer;
  readonly chatTemplate: ChatTemplateRenderer;
}
