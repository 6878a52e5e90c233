// AsyncEngine: the ServingEngine the HTTP server, run-batch and LLM use. One loop owns the EngineCore; it runs
// while there is work and yields to the event loop between steps so HTTP keeps flowing. Each request gets its own
// async iterator of outputs; abort() ends that iterator at once.
import type { EngineArgs } from '../config/engine-args.js';
import type { ModelConfig } from '../loader/model-config-types.js';
import type { TextTokenizer } from '../tokenizer/types.js';
import { EngineCore, RequestRejectedError } from './engine-core.js';
import { buildEngineParts, type EngineFactoryExtras } from './engine-factory.js';
import type { ChatTemplate } from '../chat/chat-template.js';
import { OutputQueue } from './output-queue.js';
import type { EngineStats, FinishedRequestStats, PromptInput, ServingEngine } from './serving-engine.js';
import type { RequestOptions, RequestOutput, SamplingParams } from './types.js';

/** the chat-template surface the engine exposes (src/chat's ChatTemplate); loose so callers pass their message shapes */
export interface EngineChatTemplate {
  render(
    messages: readonly unknown[],
    opts?: { tools?: readonly unknown[] | null; addGenerationPrompt?: boolean; continueFinalMessage?: boolean; chatTemplateKwargs?: Record<string, unknown> },
  ): string;
}

export interface AsyncEngineParts {
  args: EngineArgs;
  modelConfig: ModelConfig;
  maxModelLen: number;
  core: EngineCore;
  tokenizer: TextTokenizer | null;
  chatTemplate: ChatTemplate | null;
  /** why chatTemplate is null (the model has none) */
  chatTemplateError?: Error | null;
}

export class AsyncEngine implements ServingEngine {
  readonly args: EngineArgs;
  readonly modelConfig: ModelConfig;
  readonly maxModelLen: number;
  readonly tokenizer: TextTokenizer | null;
  readonly chatTemplate: EngineChatTemplate | null;
  readonly chatTemplateError: Error | null;
  readonly core: EngineCore;
  private readonly queues = new Map<string, OutputQueue<RequestOutput>>();
  private loop: Promise<void> | null = null;
  private stopped = false;

  constructor(parts: AsyncEngineParts) {
    this.args = parts.args;
    this.modelConfig = parts.modelConfig;
    this.maxModelLen = parts.maxModelLen;
    this.core = parts.core;
    this.tokenizer = parts.tokenizer;
    this.chatTemplate = parts.chatTemplate;
    this.chatTemplateError = parts.chatTemplateError ?? null;
  }

  /**
   * Builds everything from EngineArgs (model → config → tokenizer → chat template → backend).
   * `backend` replaces the ts backend (e.g. a native one); `grammar` enables structured output.
   */
  static async create(args: Partial<EngineArgs> & EngineFactoryExtras = {}): Promise<AsyncEngine> {
    return new AsyncEngine(await buildEngineParts(args));
  }

  /** the chat template, or the error saying why the model has none */
  requireChatTemplate(): EngineChatTemplate {
    if (this.chatTemplate) return this.chatTemplate;
    throw this.chatTemplateError ?? new Error('this engine has no chat template');
  }

  generate(prompt: PromptInput, params: SamplingParams, requestId: string, options: RequestOptions = {}): AsyncIterable<RequestOutput> {
    const queue = new OutputQueue<RequestOutput>();
    try {
      if (this.stopped) throw new Error('the engine has been shut down');
      if (this.queues.has(requestId) || this.core.hasRequest(requestId)) throw new RequestRejectedError(`Request id ${requestId} already running.`);
      const input = this.toPromptInput(prompt);
      this.core.addRequest(requestId, input, params, options, {
        emit: (out) => {
          queue.push(out);
          if (out.finished) {
            queue.end();
            this.queues.delete(requestId);
          }
        },
        fail: (err) => {
          queue.fail(err);
          this.queues.delete(requestId);
        },
      });
      this.queues.set(requestId, queue);
      this.kick();
    } catch (e) {
      queue.fail(e);
    }
    const abort = () => this.abort(requestId);
    return {
      [Symbol.asyncIterator]() {
        const it = queue[Symbol.asyncIterator]();
        return {
          next: () => it.next(),
          // a consumer that stops early (client went away) aborts the request
          return: async () => {
            if (!queue.isEnded) abort();
            return it.return!();
          },
        };
      },
    };
  }

  abort(requestId: string): void {
    this.core.abort(requestId);
  }

  stats(): EngineStats {
    return this.core.stats();
  }

  onRequestFinished(listener: (s: FinishedRequestStats) => void): void {
    this.core.onRequestFinished(listener);
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const id of [...this.queues.keys()]) this.abort(id);
    await this.loop;
    await this.core.close();
  }

  private toPromptInput(prompt: PromptInput): { prompt: string | null; promptTokenIds: number[] } {
    if (typeof prompt === 'string') {
      if (!this.tokenizer) throw new RequestRejectedError('text prompts need a tokenizer; pass { promptTokenIds }');
      return { prompt, promptTokenIds: this.tokenizer.encode(prompt, { addSpecialTokens: true }) };
    }
    if (!prompt || !Array.isArray(prompt.promptTokenIds)) throw new RequestRejectedError('prompt must be a string or { promptTokenIds: number[] }');
    return { prompt: typeof prompt.prompt === 'string' ? prompt.prompt : null, promptTokenIds: prompt.promptTokenIds };
  }

  private kick(): void {
    if (this.loop) return;
    this.loop = this.runLoop().finally(() => {
      this.loop = null;
      if (this.core.hasWork() && !this.stopped) this.kick();
    });
  }

  private async runLoop(): Promise<void> {
    // let the caller attach its iterator (and add more requests in the same tick) before the first step
    await yieldToEventLoop();
    while (this.core.hasWork()) {
      try {
        await this.core.step();
      } catch (e) {
        // the backend failed: every request in flight fails with it, the engine stays usable
        this.core.failAll(e instanceof Error ? e : new Error(String(e)));
      }
      await yieldToEventLoop();
    }
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
