// A ServerEngine without a model, for run-batch tests: words are tokens, and each request generates
// max_tokens words "w0 w1 ..." and finishes with 'length'. Counts the requests it saw.
import { DEFAULT_ENGINE_ARGS } from '../../src/config/engine-args.js';
import type { ModelConfig } from '../../src/loader/model-config-types.js';
import type { EngineStats, FinishedRequestStats, PromptInput } from '../../src/engine/serving-engine.js';
import type { RequestOutput, SamplingParams } from '../../src/engine/types.js';
import type { ServerEngine, TemplateMessage } from '../../src/server/server-engine.js';
import type { TextTokenizer } from '../../src/tokenizer/types.js';

class WordTokenizer implements TextTokenizer {
  private readonly words: string[] = ['<eos>'];
  readonly eosTokenId = 0;
  readonly bosTokenId = null;
  readonly padTokenId = null;
  get size(): number {
    return 1000;
  }
  encode(text: string): number[] {
    return text.split(/\s+/).filter((w) => w !== '').map((w) => {
      let id = this.words.indexOf(w);
      if (id < 0) id = this.words.push(w) - 1;
      return id;
    });
  }
  decode(ids: ArrayLike<number>): string {
    return Array.from(ids, (i) => this.words[i] ?? `<${i}>`).join(' ');
  }
  idToToken(id: number): string | undefined {
    return this.words[id];
  }
  tokenToId(token: string): number | undefined {
    const i = this.words.indexOf(token);
    return i < 0 ? undefined : i;
  }
  isSpecial(id: number): boolean {
    return id === 0;
  }
}

export class FakeServerEngine implements ServerEngine {
  readonly args = { ...DEFAULT_ENGINE_ARGS };
  readonly modelConfig = { vocabSize: 1000 } as ModelConfig;
  readonly maxModelLen = 512;
  readonly tokenizer = new WordTokenizer();
  readonly chatTemplate = {
    render: (messages: TemplateMessage[]): string => messages.map((m) => `${m.role}: ${m.content ?? ''}`).join(' ') + ' assistant:',
  };
  readonly seen: string[] = [];

  async *generate(prompt: PromptInput, params: SamplingParams, requestId: string): AsyncGenerator<RequestOutput> {
    this.seen.push(requestId);
    const promptTokenIds = typeof prompt === 'string' ? this.tokenizer.encode(prompt) : prompt.promptTokenIds;
    const n = params.maxTokens ?? 4;
    const tokenIds: number[] = [];
    for (let i = 0; i < n; i++) {
      await new Promise((r) => setTimeout(r, 1));
      tokenIds.push(...this.tokenizer.encode(`w${i}`));
      const finished = i === n - 1;
      yield {
        requestId,
        prompt: null,
        promptTokenIds,
        promptLogprobs: null,
        outputs: [{ index: 0, text: this.tokenizer.decode(tokenIds), tokenIds: [...tokenIds], logprobs: null, finishReason: finished ? 'length' : null, stopReason: null }],
        finished,
        metrics: { arrivalTime: 0, firstScheduledTime: null, firstTokenTime: null, lastTokenTime: null, finishedTime: null, numCachedTokens: 0 },
      };
    }
  }
  abort(): void {}
  stats(): EngineStats {
    return { numRunning: 0, numWaiting: 0, kvCacheUsage: 0, prefixCacheQueries: 0, prefixCacheHits: 0, numPreemptions: 0, promptTokensTotal: 0, generationTokensTotal: 0 };
  }
  onRequestFinished(_listener: (s: FinishedRequestStats) => void): void {}
  async shutdown(): Promise<void> {}
}
