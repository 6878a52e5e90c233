// Chat templates through @huggingface/jinja, rendered the way transformers' apply_chat_template does.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { readTokenizerConfig, specialTokensMap } from '../tokenizer/tokenizer-config.js';
import { detectContentFormat, type ContentFormat } from './content-format.js';
import { cutAfterFinalMessage } from './continue-final-message.js';
import { normalizeMessages } from './normalize-messages.js';
import type { ChatMessage, ChatRenderOptions } from './types.js';

/** variables the renderer sets itself; chatTemplateKwargs may not replace them */
const RESERVED_KWARGS = ['messages', 'tools', 'documents', 'add_generation_prompt'];

/** vLLM's --chat-template-content-format: "auto" detects it from the template */
export type ContentFormatOption = ContentFormat | 'auto';

export interface LoadChatTemplateOptions {
  contentFormat?: ContentFormatOption;
}

export class ChatTemplate {
  private readonly compiled = new Map<string, { template: Template; contentFormat: ContentFormat }>();

  /**
   * @param templates one template under "default", or the named templates of a tokenizer_config.json list
   * @param context variables every render gets (bos_token, eos_token, ... as transformers passes them)
   * @param source where the template came from, for error messages
   */
  constructor(
    readonly templates: ReadonlyMap<string, string>,
    readonly context: Readonly<Record<string, unknown>>,
    readonly source: string,
    contentFormat: ContentFormatOption = 'auto',
  ) {
    for (const [name, text] of templates) {
      try {
        const template = new Template(text);
        this.compiled.set(name, { template, contentFormat: contentFormat === 'auto' ? detectContentFormat(text) : contentFormat });
      } catch (err) {
        throw new Error(`chat template ${JSON.stringify(name)} from ${source} does not parse: ${(err as Error).message}`);
      }
    }
  }

  render(messages: readonly ChatMessage[], opts: ChatRenderOptions = {}): string {
    const { addGenerationPrompt = false, continueFinalMessage = false } = opts;
    if (continueFinalMessage && addGenerationPrompt) {
      throw new Error('continue_final_message and add_generation_prompt are not compatible: use ' +
        'continue_final_message to continue the final message, add_generation_prompt to start a new assistant message');
    }
    const kwargs = opts.chatTemplateKwargs ?? {};
    for (const key of RESERVED_KWARGS) {
      if (key in kwargs) throw new Error(`chat_template_kwargs may not set ${JSON.stringify(key)}`);
    }
    const { template, contentFormat } = this.pick(opts.tools != null);
    const normalized = normalizeMessages(messages, contentFormat);
    let text: string;
    try {
      text = template.render({
        ...this.context,
        ...kwargs,
        // absent tools/documents are None in transformers, so `tools is defined` holds and `tools is none` too
        messages: normalized,
        tools: opts.tools ?? null,
        documents: opts.documents ?? null,
        add_generation_prompt: addGenerationPrompt,
      });
    } catch (err) {
      throw new Error(`chat template (${this.source}) failed: ${(err as Error).message}`);
    }
    if (continueFinalMessage) text = cutAfterFinalMessage(text, finalText(normalized[normalized.length - 1]!.content));
    return text;
  }

  /** the content format the template for these options uses ("string" or "openai") */
  contentFormat(hasTools = false): ContentFormat {
    return this.pick(hasTools).contentFormat;
  }

  /** transformers' choice among named templates: "tool_use" when tools are given and it exists, else "default" */
  private pick(hasTools: boolean) {
    if (hasTools && this.compiled.has('tool_use')) return this.compiled.get('tool_use')!;
    const t = this.compiled.get('default');
    if (!t) {
      throw new Error(`${this.source} has no "default" chat template (it has: ${[...this.compiled.keys()].join(', ')})`);
    }
    return t;
  }
}

/** as transformers: the text of the final message, or of its last text part */
function finalText(content: string | { text: string }[]): string {
  if (typeof content === 'string') return content;
  const last = content[content.length - 1];
  if (!last) throw new Error('continue_final_message is set but the final message has no text to continue');
  return last.text;
}

/**
 * The chat template for a model folder: `override` (--chat-template: a file path or the template text itself),
 * else chat_template.jinja, else chat_template.json's "chat_template", else tokenizer_config.json's chat_template.
 */
export function loadChatTemplate(dir: string, override?: string, opts: LoadChatTemplateOptions = {}): ChatTemplate {
  const config = readTokenizerConfig(dir);
  const context = specialTokensMap(config);
  const make = (templates: Map<string, string>, source: string) => new ChatTemplate(templates, context, source, opts.contentFormat);
  if (override !== undefined) {
    if (existsSync(override) && statSync(override).isFile()) {
      return make(new Map([['default', readFileSync(override, 'utf8')]]), override);
    }
    // as vLLM: text with template syntax or line breaks is a template, anything else was meant as a path
    if (!/[{}\n]/.test(override)) {
      throw new Error(`--chat-template ${JSON.stringify(override)}: no such file (and it is not an inline template)`);
    }
    return make(new Map([['default', override]]), '--chat-template');
  }
  const jinjaPath = join(dir, 'chat_template.jinja');
  if (existsSync(jinjaPath)) return make(new Map([['default', readFileSync(jinjaPath, 'utf8')]]), jinjaPath);
  const jsonPath = join(dir, 'chat_template.json');
  if (existsSync(jsonPath)) {
    const parsed = JSON.parse(readFileSync(jsonPath, 'utf8')) as { chat_template?: unknown };
    return make(namedTemplates(parsed.chat_template, jsonPath), jsonPath);
  }
  if (config.chat_template !== undefined && config.chat_template !== null) {
    const path = join(dir, 'tokenizer_config.json');
    return make(namedTemplates(config.chat_template, path), path);
  }
  throw new Error(`the model in ${dir} has no chat template (no chat_template.jinja, no chat_template in ` +
    'tokenizer_config.json); pass one with --chat-template FILE_OR_TEXT');
}

function namedTemplates(value: unknown, path: string): Map<string, string> {
  if (typeof value === 'string') return new Map([['default', value]]);
  if (Array.isArray(value)) {
    return new Map(value.map((entry: unknown, i) => {
      const { name, template } = (entry ?? {}) as { name?: unknown; template?: unknown };
      if (typeof name !== 'string' || typeof template !== 'string') {
        throw new Error(`${path}: chat_template[${i}] must be {"name": string, "template": string}`);
      }
      return [name, template] as const;
    }));
  }
  throw new Error(`${path}: chat_template must be a string or a list of {name, template}`);
}
