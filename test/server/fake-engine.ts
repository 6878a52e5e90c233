// A scripted ServingEngine for server tests: a character-level tokenizer (id = char code) and outputs chosen by
// a script function, emitted one token per step, so routes, streaming, errors and metrics are tested without a model.
import type { EngineArgs } from '../../src/config/engine-args.js';
import { DEFAULT_ENGINE_ARGS } from '../../src/config/engine-args.js';
import type { EngineStats, FinishedRequestStats, PromptInput } from '../../src/engine/serving-engine.js';
import type { RequestOptions, RequestOutput, SamplingParams, CompletionOutput } from '../../src/engine/types.js';
import type { ModelConfig } from '../../src/loader/model-config-types.js';
import type { TokenLogprobs } from '../../src/runner/batch.js';
import type { ChatTemplateRenderer, ServerEngine, TemplateMessage, TemplateTool } from '../../src/server/server-engine.js';
import type { TextTokenizer } from '../../src/tokenizer/types.js';

export const VOCAB = 512;
export const EOS = 511;

export class CharTokenizer implements TextTokenizer {
  readonly size = VOCAB;
  readonly eosTokenId = EOS;
  readonly bosTokenId = null;
  readonly padTokenId = null;
  encode(text: string): number[] {
    return [...text].map((c) => {
      const code = c.codePointAt(0)!;
      return code < EOS ? code : 63; // '?'
    });
  }
  decode(ids: ArrayLike<number>): string {
    return Array.from(ids, (i) => (i === EOS ? '' : String.fromCodePoint(i))).join('');
  }
  idToToken(id: number): string | undefined {
    return id < VOCAB ? String.fromCodePoint(id) : undefined;
  }
  tokenToId(token: string): number | undefined {
    return token.length === 1 ? token.codePointAt(0) : undefined;
  }
  isSpecial(id: number): boolean {
    return id === EOS;
  }
}

export class SimpleTemplate implements ChatTemplateRenderer {
  lastTools: TemplateTool[] | undefined;
  lastMessages: TemplateMessage[] = [];
  render(messages: TemplateMessage[], o: { tools?: TemplateTool[]; addGenerationPrompt?: boolean }): string {
    this.lastTools = o.tools;
    this.lastMessages = messages;
    const body = messages.map((m) => `[${m.role}]${m.content ?? ''}`).join('\n');
    return body + (o.addGenerationPrompt ? '\n[assistant]' : '');
  }
}

/** What the fake writes for a request: the text of output `index` (a function of the prompt and params). */
export type Script = (prompt: string, params: SamplingParams, index: number) => string;

export interface FakeCall {
  requestId: string;
  promptTokenIds: number[];
  params: SamplingParams;
  options: RequestOptions | undefined;
}

const MODEL_CONFIG: ModelConfig = {
  architecture: 'Qwen2ForCausalLM',
  modelType: 'qwen2',
  hiddenSize: 8,
  intermediateSize: 16,
  numLayers: 1,
  numHeads: 1,
  numKvHeads: 1,
  headDim: 8,
  vocabSize: VOCAB,
  rmsNormEps: 1e-6,
  ropeTheta: 10000,
  ropeScaling: { type: 'default' },
  maxPositionEmbeddings: 256,
  tieWordEmbeddings: true,
  attentionBias: false,
  qkNorm: false,
  dtype: 'float32',
  bosTokenId: null,
  eosTokenIds: [EOS],
};

export class FakeEngine implements ServerEngine {
  readonly args: EngineArgs = { ...DEFAULT_ENGINE_ARGS, maxLogprobs: 5 };
  readonly modelConfig = MODEL_CONFIG;
  readonly maxModelLen: number;
  readonly tokenizer = new CharTokenizer();
  readonly chatTemplate = new SimpleTemplate();
  readonly calls: FakeCall[] = [];
  readonly aborted = new Set<string>();
  /** every output yielded, in order (to check which output kind a route asked for) */
  readonly emitted: RequestOutput[] = [];
  /** milliseconds between tokens (0 = next macrotask) */
  tokenDelayMs = 0;
  /** when set, generate() throws it before producing anything */
  failWith: Error | null = null;
  private readonly listeners: Array<(s: FinishedRequestStats) => void> = [];
  private running = 0;
  private promptTotal = 0;
  private genTotal = 0;
  private readonly abortFlags = new Map<string, boolean>();

  constructor(
    private readonly script: Script = () => 'Hello world',
    maxModelLen = 256,
  ) {
    this.maxModelLen = maxModelLen;
  }

  stats(): EngineStats {
    return {
      numRunning: this.running,
      numWaiting: 0,
      kvCacheUsage: this.running > 0 ? 0.25 : 0,
      prefixCacheQueries: this.promptTotal,
      prefixCacheHits: 0,
      numPreemptions: 0,
      promptTokensTotal: this.promptTotal,
      generationTokensTotal: this.genTotal,
    };
  }

  onRequestFinished(l: (s: FinishedRequestStats) => void): void {
    this.listeners.push(l);
  }

  abort(requestId: string): void {
    if (this.abortFlags.has(requestId)) {
      this.abortFlags.set(requestId, true);
      this.aborted.add(requestId);
    }
  }

  async shutdown(): Promise<void> {}

  /** logprob of token t at step s: deterministic, the chosen token is always the best */
  private logprobsFor(chosen: number, k: number): TokenLogprobs {
    const top = [{ tokenId: chosen, logprob: -0.5 }];
    for (let i = 1; i < k; i++) top.push({ tokenId: (chosen + i) % EOS, logprob: -1 - i });
    return { logprob: -0.5, rank: 1, top };
  }

  generate(prompt: PromptInput, params: SamplingParams, requestId: string, options?: RequestOptions): AsyncIterable<RequestOutput> {
    if (this.failWith) throw this.failWith;
    const ids = typeof prompt === 'string' ? this.tokenizer.encode(prompt) : prompt.promptTokenIds;
    this.calls.push({ requestId, promptTokenIds: ids, params, options });
    this.abortFlags.set(requestId, false);
    const promptText = this.tokenizer.decode(ids);
    const n = params.n ?? 1;
    const targets = Array.from({ length: n }, (_, i) => this.tokenizer.encode(this.script(promptText, params, i)));
    const maxTokens = params.maxTokens ?? 16;
    const self = this;
    const start = Date.now() / 1000;
    const delta = (options?.delta ?? false) && !(options?.finalOnly ?? false);
    const finalOnly = options?.finalOnly ?? false;
    const sentTokens = targets.map(() => 0);
    const sentFinish = targets.map(() => false);
    let sentPromptLogprobs = false;
    return (async function* () {
      self.running++;
      self.promptTotal += ids.length;
      const outs: CompletionOutput[] = targets.map((_, i) => ({ index: i, text: '', tokenIds: [], logprobs: params.logprobs !== undefined ? [] : null, finishReason: null, stopReason: null }));
      const metrics = { arrivalTime: start, firstScheduledTime: start, firstTokenTime: null as number | null, lastTokenTime: null as number | null, finishedTime: null as number | null, numCachedTokens: 0 };
      try {
        for (let step = 0; ; step++) {
          await new Promise((r) => (self.tokenDelayMs > 0 ? setTimeout(r, self.tokenDelayMs) : setImmediate(r)));
          const abort = self.abortFlags.get(requestId) === true;
          let allDone = true;
          for (const o of outs) {
            if (o.finishReason !== null) continue;
            if (abort) {
              o.finishReason = 'abort';
              continue;
            }
            const target = targets[o.index];
            if (step >= target.length) {
              o.finishReason = 'stop';
              continue;
            }
            const tok = target[step];
            o.tokenIds = [...o.tokenIds, tok];
            o.text = self.tokenizer.decode(o.tokenIds);
            if (o.logprobs) o.logprobs = [...o.logprobs, self.logprobsFor(tok, params.logprobs ?? 0)];
            self.genTotal++;
            if (o.tokenIds.length >= maxTokens) o.finishReason = step + 1 >= target.length ? 'stop' : 'length';
            if (o.finishReason === null) allDone = false;
          }
          metrics.firstTokenTime ??= Date.now() / 1000;
          const finished = allDone || outs.every((o) => o.finishReason !== null);
          const out: RequestOutput = {
            requestId,
            prompt: promptText,
            promptTokenIds: ids,
            promptLogprobs: params.promptLogprobs !== undefined ? ids.map((t, i) => (i === 0 ? null : self.logprobsFor(t, params.promptLogprobs ?? 0))) : null,
            outputs: outs.map((o) => ({ ...o })),
            finished,
            metrics: { ...metrics },
          };
          // the engine's three output kinds (RequestOptions): final only, deltas of changed sequences, cumulative
          if (finalOnly && !finished) continue;
          if (delta) {
            out.outputs = [];
            outs.forEach((o, i) => {
              const from = sentTokens[i];
              if (from === o.tokenIds.length && !(o.finishReason !== null && !sentFinish[i])) return;
              out.outputs.push({ ...o, text: self.tokenizer.decode(o.tokenIds.slice(from)), tokenIds: o.tokenIds.slice(from), logprobs: o.logprobs ? o.logprobs.slice(from) : null });
              sentTokens[i] = o.tokenIds.length;
              sentFinish[i] = o.finishReason !== null;
            });
            if (sentPromptLogprobs) out.promptLogprobs = null;
            sentPromptLogprobs = true;
          }
          self.emitted.push(out);
          yield out;
          if (finished) {
            const end = Date.now() / 1000;
            for (const l of self.listeners) {
              l({
                requestId,
                finishReason: outs[0].finishReason ?? 'abort',
                promptTokens: ids.length,
                generationTokens: outs.reduce((a, o) => a + o.tokenIds.length, 0),
                queueTime: 0.001,
                timeToFirstToken: 0.01,
                interTokenLatencies: [0.02],
                e2eLatency: end - start,
              });
            }
            return;
          }
        }
      } finally {
        self.running--;
        self.abortFlags.delete(requestId);
      }
    })();
  }
}
