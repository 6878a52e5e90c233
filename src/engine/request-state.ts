// Engine-side state of one request: its sequences (n of them), their text and stop state, and output building.
import type { TokenLogprobs } from '../runner/batch.js';
import type { Sequence } from '../scheduler/sequence.js';
import type { RequestGrammar } from './grammar.js';
import type { SequenceDetokenizer } from './detokenizer.js';
import type { LateMask } from './worker-masks.js';
import type { ResolvedSamplingParams } from './sampling-params.js';
import type { CompletionOutput, FinishReason, RequestOutput } from './types.js';

export class SequenceState {
  text = '';
  logprobs: TokenLogprobs[] | null;
  finishReason: FinishReason | null = null;
  stopReason: string | number | null = null;
  /** how much was already emitted (for delta outputs) */
  sentText = 0;
  sentTokens = 0;
  /** tokens produced this step (for which an output is due) */
  dirty = false;
  /**
   * the grammar accepted an EOS token: the structure is complete. Only ignore_eos lets the sequence go on, and then
   * it goes on unconstrained (as vLLM does once a grammar has terminated)
   */
  grammarDone = false;
  /**
   * a sampled token the grammar has not been told yet (-1: none): the engine feeds it right before the sequence's
   * next mask is computed, off the path between two steps
   */
  grammarPendingToken = -1;
  /**
   * the mask a worker is computing (or has computed) for this sequence's current grammar state after a step deferred
   * it: later steps wait for it instead of asking again (worker-masks.ts)
   */
  lateMask: LateMask | null = null;
  /** steps deferred in a row (the grace grows with it: maskGraceFor) */
  maskDeferrals = 0;
  constructor(
    readonly index: number,
    readonly seq: Sequence,
    readonly detok: SequenceDetokenizer | null,
    readonly grammar: RequestGrammar | null,
    wantLogprobs: boolean,
  ) {
    this.logprobs = wantLogprobs ? [] : null;
  }

  get finished(): boolean {
    return this.finishReason !== null;
  }
}

export interface RequestTimes {
  arrival: number;
  firstScheduled: number | null;
  firstToken: number | null;
  lastToken: number | null;
  finished: number | null;
  tokenTimes: number[];
}

export class RequestState {
  readonly seqs: SequenceState[] = [];
  promptLogprobs: Array<TokenLogprobs | null> | null;
  readonly times: RequestTimes;
  /** emitted the prompt logprobs already (delta mode sends them once) */
  private sentPromptLogprobs = false;
  failed = false;

  constructor(
    readonly requestId: string,
    readonly prompt: string | null,
    readonly promptTokenIds: number[],
    readonly params: ResolvedSamplingParams,
    readonly maxTokens: number,
    readonly delta: boolean,
    readonly finalOnly: boolean,
    readonly holdback: number,
    readonly emit: (out: RequestOutput) => void,
    readonly fail: (err: Error) => void,
    now: number,
  ) {
    this.promptLogprobs = params.promptLogprobs !== null ? new Array(promptTokenIds.length).fill(null) : null;
    this.times = { arrival: now, firstScheduled: null, firstToken: null, lastToken: null, finished: null, tokenTimes: [] };
  }

  get finished(): boolean {
    return this.seqs.every((s) => s.finished);
  }

  buildOutput(): RequestOutput {
    const finished = this.finished;
    const outputs: CompletionOutput[] = [];
    for (const s of this.seqs) {
      if (this.delta && !s.dirty) continue;
      outputs.push(this.completionOutput(s));
      s.dirty = false;
    }
    let promptLogprobs = this.promptLogprobs;
    if (this.delta) {
      if (this.sentPromptLogprobs) promptLogprobs = null;
      this.sentPromptLogprobs = true;
    }
    const seq0 = this.seqs[0].seq;
    return {
      requestId: this.requestId,
      prompt: this.prompt,
      promptTokenIds: this.promptTokenIds,
      promptLogprobs,
      outputs,
      finished,
      metrics: {
        arrivalTime: this.times.arrival,
        firstScheduledTime: this.times.firstScheduled,
        firstTokenTime: this.times.firstToken,
        lastTokenTime: this.times.lastToken,
        finishedTime: this.times.finished,
        numCachedTokens: Math.max(0, seq0.numCachedTokens),
      },
    };
  }

  private completionOutput(s: SequenceState): CompletionOutput {
    // text that could still turn out to be the start of a stop string stays back until it cannot
    const visible = s.finished ? s.text.length : Math.max(s.sentText, s.text.length - this.holdback);
    const tokens = s.seq.outputTokenIds;
    let out: CompletionOutput;
    if (this.delta) {
      out = {
        index: s.index,
        text: s.text.slice(s.sentText, visible),
        tokenIds: tokens.slice(s.sentTokens),
        logprobs: s.logprobs ? s.logprobs.slice(s.sentTokens) : null,
        finishReason: s.finishReason,
        stopReason: s.stopReason,
      };
    } else {
      out = {
        index: s.index,
        text: s.text.slice(0, visible),
        tokenIds: tokens.slice(),
        logprobs: s.logprobs ? s.logprobs.slice() : null,
        finishReason: s.finishReason,
        stopReason: s.stopReason,
      };
    }
    s.sentText = visible;
    s.sentTokens = tokens.length;
    return out;
  }
}
