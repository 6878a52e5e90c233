// LLM: the in-process "use the local model directly" API (vLLM's `LLM` class).
//
//   const llm = await LLM.create({ model: 'Qwen/Qwen3-0.6B' });   // or: const llm = new LLM({...}); await llm.ready;
//   const outs = await llm.generate(['Hello', 'The capital of France is'], { temperature: 0, maxTokens: 32 });
//   const chat = await llm.chat([{ role: 'user', content: 'Hi!' }], { maxTokens: 64 });
//   await llm.shutdown();
//
// Loading is asynchronous: `new LLM(opts)` starts it and every method waits for it (`await llm.ready` surfaces a
// load error early). Outputs come back in input order; batches of 16 or more prompts show a progress bar on stderr.
import cliProgress from 'cli-progress';
import type { EngineArgs } from '../config/engine-args.js';
import { loadChatTemplate, type ChatTemplate } from '../chat/chat-template.js';
import type { ChatMessage, ChatTool } from '../chat/types.js';
import { AsyncEngine } from './async-engine.js';
import { buildEngineParts, type EngineFactoryExtras } from './engine-factory.js';
import type { PromptInput } from './serving-engine.js';
import type { RequestOutput, SamplingParams } from './types.js';

export type LLMOptions = Partial<EngineArgs> & EngineFactoryExtras;

export interface ChatOptions {
  /** a template (file path or template text) replacing the model's */
  chatTemplate?: string;
  addGenerationPrompt?: boolean;
  continueFinalMessage?: boolean;
  tools?: ChatTool[];
  chatTemplateKwargs?: Record<string, unknown>;
}

export interface GenerateOptions {
  /** progress bar on stderr; default: on for 16 or more prompts */
  useTqdm?: boolean;
}

const PROGRESS_MIN_PROMPTS = 16;
let llmRequestCounter = 0;

export class LLM {
  /** resolves once the model is loaded (rejects with the load error) */
  readonly ready: Promise<AsyncEngine>;
  private modelDir = '';
  private template: ChatTemplate | null = null;

  constructor(opts: LLMOptions) {
    this.ready = buildEngineParts(opts).then((parts) => {
      this.modelDir = parts.modelDir;
      this.template = parts.chatTemplate;
      return new AsyncEngine(parts);
    });
    // a load error is reported by `ready` and every call; do not also crash the process as unhandled
    this.ready.catch(() => {});
  }

  static async create(opts: LLMOptions): Promise<LLM> {
    const llm = new LLM(opts);
    await llm.ready;
    return llm;
  }

  /** the underlying engine (after load) */
  get engine(): Promise<AsyncEngine> {
    return this.ready;
  }

  async generate(prompts: PromptInput | PromptInput[], params: SamplingParams | SamplingParams[] = {}, opts: GenerateOptions = {}): Promise<RequestOutput[]> {
    const engine = await this.ready;
    const list = Array.isArray(prompts) ? prompts : [prompts];
    if (Array.isArray(params) && params.length !== list.length) {
      throw new Error(`params has ${params.length} entries for ${list.length} prompts; pass one SamplingParams or one per prompt`);
    }
    const showBar = opts.useTqdm ?? list.length >= PROGRESS_MIN_PROMPTS;
    const bar = showBar ? new cliProgress.SingleBar({ format: 'Processed prompts |{bar}| {value}/{total} [{duration_formatted}<{eta_formatted}]', stream: process.stderr }, cliProgress.Presets.shades_classic) : null;
    bar?.start(list.length, 0);
    const batch = ++llmRequestCounter;
    // submit everything first so that the engine batches the prompts together (text prompts are encoded together
    // too, across the engine's tokenizer workers; they still enter the scheduler in list order)
    const iters = list.map((p, i) => engine.generate(p, Array.isArray(params) ? params[i] : params, `llm-${batch}-${i}`, { finalOnly: true }));
    try {
      return await Promise.all(
        iters.map(async (it) => {
          let last: RequestOutput | null = null;
          for await (const out of it) last = out;
          bar?.increment();
          if (!last) throw new Error('the engine ended a request without output');
          return last;
        }),
      );
    } catch (e) {
      list.forEach((_, i) => engine.abort(`llm-${batch}-${i}`));
      throw e;
    } finally {
      bar?.stop();
    }
  }

  /** one conversation (a list of messages) or several (a list of lists) */
  async chat(messages: ChatMessage[] | ChatMessage[][], params: SamplingParams | SamplingParams[] = {}, opts: ChatOptions & GenerateOptions = {}): Promise<RequestOutput[]> {
    const engine = await this.ready;
    const conversations = messages.length > 0 && Array.isArray(messages[0]) ? (messages as ChatMessage[][]) : [messages as ChatMessage[]];
    const template: ChatTemplate | null = opts.chatTemplate !== undefined ? loadChatTemplate(this.modelDir, opts.chatTemplate) : this.template;
    if (!template) throw engine.chatTemplateError ?? new Error('the model has no chat template; pass chatTemplate');
    const encoder = engine.promptEncoder;
    if (!encoder) throw new Error('chat needs a tokenizer');
    const texts = conversations.map((conv) =>
      template.render(conv, {
        tools: opts.tools,
        addGenerationPrompt: opts.addGenerationPrompt ?? !opts.continueFinalMessage,
        continueFinalMessage: opts.continueFinalMessage,
        chatTemplateKwargs: opts.chatTemplateKwargs,
      }),
    );
    // the template writes the special tokens itself (vLLM encodes chat prompts without adding any); the engine's
    // tokenizer pool encodes the conversations together, off this thread
    const ids = await encoder.encodeMany(texts, { addSpecialTokens: false });
    const prompts: PromptInput[] = texts.map((text, i) => ({ prompt: text, promptTokenIds: ids[i]! }));
    return this.generate(prompts, params, opts);
  }

  async shutdown(): Promise<void> {
    const engine = await this.ready.catch(() => null);
    await engine?.shutdown();
  }
}
