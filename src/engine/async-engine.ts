// AsyncEngine: the ServingEngine the HTTP server, run-batch and LLM use. One loop owns the EngineCore; it runs
// while there is work and yields to the event loop between steps so HTTP keeps flowing. Each request gets its own
// async iterator of outputs; abort() ends that iterator at once.
import type { EngineArgs } from '../config/engine-args.js';
import type { ModelConfig } from '../loader/model-config-types.js';
import type { PromptEncoder, TextTokenizer } from '../tokenizer/types.js';
import { createPromptEncoder } from '../tokenizer/prompt-encoder.js';
import { EngineCore, RequestRejectedError } from './engine-core.js';
import { buildEngineParts, type EngineFactoryExtras } from './engine-factory.js';
import type { ChatTemplate } from '../chat/chat-template.js';
import { OutputQueue } from './output-queue.js';
import type { EngineHealth, EngineStats, FinishedRequestStats, PromptInput, ServingEngine } from './serving-engine.js';
import type { RequestOptions, RequestOutput, SamplingParams } from './types.js';
import type { StructuredMaskStats } from './mask-deadline.js';

/** consecutive failed steps after which the engine reports itself unhealthy (one bad batch is not a dead engine) */
export const UNHEALTHY_AFTER_FAILED_STEPS = 3;

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

type ResolvedPrompt = { prompt: string | null; promptTokenIds: number[] };

export class AsyncEngine implements ServingEngine {
  readonly args: EngineArgs;
  readonly modelConfig: ModelConfig;
  readonly maxModelLen: number;
  readonly tokenizer: TextTokenizer | null;
  readonly chatTemplate: EngineChatTemplate | null;
  readonly chatTemplateError: Error | null;
  readonly core: EngineCore;
  /** encodes text prompts (worker threads: args.tokenizerPoolSize); null without a tokenizer */
  readonly promptEncoder: PromptEncoder | null;
  private readonly queues = new Map<string, OutputQueue<RequestOutput>>();
  /** requests whose prompt text is being encoded; `aborted` once abort() came for one */
  private readonly admitting = new Map<string, { aborted: boolean }>();
  /** requests enter the core in submission order: each waits for the one before it (and its own encoding) */
  private admissionTail: Promise<void> = Promise.resolve();
  private loop: Promise<void> | null = null;
  private stopped = false;
  /** steps failed in a row (a successful step resets it) and the last one's error: /health reads them */
  private failedSteps = 0;
  private lastStepError: string | null = null;

  constructor(parts: AsyncEngineParts) {
    this.args = parts.args;
    this.modelConfig = parts.modelConfig;
    this.maxModelLen = parts.maxModelLen;
    this.core = parts.core;
    this.tokenizer = parts.tokenizer;
    this.chatTemplate = parts.chatTemplate;
    this.chatTemplateError = parts.chatTemplateError ?? null;
    this.promptEncoder = parts.tokenizer ? createPromptEncoder(parts.tokenizer, parts.args.tokenizerPoolSize ?? null) : null;
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
      if (this.queues.has(requestId) || this.admitting.has(requestId) || this.core.hasRequest(requestId)) {
        throw new RequestRejectedError(`Request id ${requestId} already running.`);
      }
      const input = this.resolvePrompt(prompt);
      if (input instanceof Promise || this.admitting.size > 0) this.admitLater(requestId, input, params, options, queue);
      else this.admit(requestId, input, params, options, queue);
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
    const pending = this.admitting.get(requestId);
    if (pending) pending.aborted = true;
    else this.core.abort(requestId);
  }

  stats(): EngineStats {
    return this.core.stats();
  }

  /**
   * builds the structured-output engine (vocabulary, token trie, mask workers) now: without it, the first request
   * with a constraint builds it on the engine thread, which stalls every running request for that long (~1–2 s)
   */
  prepareStructuredOutput(): void {
    this.core.prepareGrammar();
  }

  maskStats(): StructuredMaskStats {
    return this.core.maskStats();
  }

  onRequestFinished(listener: (s: FinishedRequestStats) => void): void {
    this.core.onRequestFinished(listener);
  }

  /** unhealthy once UNHEALTHY_AFTER_FAILED_STEPS steps in a row have failed (vLLM's /health turns 503 when its engine
   *  is dead); healthy again after a step succeeds */
  health(): EngineHealth {
    if (this.failedSteps < UNHEALTHY_AFTER_FAILED_STEPS) return { healthy: true, error: null };
    return { healthy: false, error: `the last ${this.failedSteps} engine steps failed; the last error: ${this.lastStepError}` };
  }

  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const id of [...this.queues.keys()]) this.abort(id);
    // prompts still being encoded fail at once (admitLater sees `stopped`)
    await this.promptEncoder?.close();
    await this.admissionTail;
    await this.loop;
    await this.core.close();
  }

  /** token ids now, or (a text prompt with a worker pool) a promise of them */
  private resolvePrompt(prompt: PromptInput): ResolvedPrompt | Promise<ResolvedPrompt> {
    if (typeof prompt === 'string') {
      if (!this.tokenizer || !this.promptEncoder) throw new RequestRejectedError('text prompts need a tokenizer; pass { promptTokenIds }');
      if (this.promptEncoder.threads === 0) return { prompt, promptTokenIds: this.tokenizer.encode(prompt, { addSpecialTokens: true }) };
      // prompts submitted in the same tick (LLM.generate, bench throughput) are encoded together, spread over the workers
      return this.promptEncoder.encode(prompt, { addSpecialTokens: true }).then((promptTokenIds) => ({ prompt, promptTokenIds }));
    }
    if (!prompt || !Array.isArray(prompt.promptTokenIds)) throw new RequestRejectedError('prompt must be a string or { promptTokenIds: number[] }');
    return { prompt: typeof prompt.prompt === 'string' ? prompt.prompt : null, promptTokenIds: prompt.promptTokenIds };
  }

  private admit(requestId: string, input: ResolvedPrompt, params: SamplingParams, options: RequestOptions, queue: OutputQueue<RequestOutput>): void {
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
  }

  /**
   * Admits the request once its prompt is encoded and every request submitted before it has been admitted (or has
   * failed): encoding runs in parallel, entry into the scheduler keeps the submission order. A failure fails this
   * request alone; one aborted meanwhile enters and is aborted at once, so that it ends as any aborted request does.
   */
  private admitLater(
    requestId: string,
    input: ResolvedPrompt | Promise<ResolvedPrompt>,
    params: SamplingParams,
    options: RequestOptions,
    queue: OutputQueue<RequestOutput>,
  ): void {
    const pending = { aborted: false };
    this.admitting.set(requestId, pending);
    const encoded = Promise.resolve(input);
    encoded.catch(() => {}); // handled in its turn below
    const shutDown = (): Error => new Error('the engine has been shut down');
    // leaving `admitting` and entering the core happen in one go, so a request submitted meanwhile cannot get ahead
    this.admissionTail = this.admissionTail.then(() => encoded).then(
      (resolved) => {
        this.admitting.delete(requestId);
        if (this.stopped) return queue.fail(shutDown());
        try {
          this.admit(requestId, resolved, params, options, queue);
        } catch (e) {
          return queue.fail(e);
        }
        if (pending.aborted) this.core.abort(requestId);
      },
      (e: unknown) => {
        this.admitting.delete(requestId);
        queue.fail(this.stopped ? shutDown() : e);
      },
    );
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
        this.failedSteps = 0;
      } catch (e) {
        // the backend failed: every request in flight fails with it, the engine stays usable
        const err = e instanceof Error ? e : new Error(String(e));
        this.failedSteps++;
        this.lastStepError = err.message;
        this.core.failAll(err);
      }
      await yieldToEventLoop();
    }
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
