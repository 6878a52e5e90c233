// Chat messages as the OpenAI API and vLLM accept them (text-only models).
export interface ChatTextPart {
  type: 'text';
  text: string;
}

export interface ChatToolCall {
  id?: string;
  type?: 'function';
  function: { name: string; arguments?: string | Record<string, unknown> | null };
}

export interface ChatMessage {
  role: string;
  /** a string, text parts (flattened with "\n" as vLLM does for text-only models), or null (assistant tool calls) */
  content?: string | ChatTextPart[] | { type: string; [key: string]: unknown }[] | null;
  tool_calls?: ChatToolCall[] | null;
  tool_call_id?: string;
  name?: string;
  reasoning_content?: string | null;
  [key: string]: unknown;
}

/** an OpenAI tool definition, passed to the template as is */
export type ChatTool = Record<string, unknown>;

export interface ChatRenderOptions {
  tools?: ChatTool[] | null;
  documents?: Record<string, unknown>[] | null;
  addGenerationPrompt?: boolean;
  /** the text ends right after the final (assistant) message's content, so the model continues it */
  continueFinalMessage?: boolean;
  /** extra template variables, e.g. { enable_thinking: false } */
  chatTemplateKwargs?: Record<string, unknown>;
}
