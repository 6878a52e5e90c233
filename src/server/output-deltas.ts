// Per-choice "what is new" from the engine's outputs. Streams run the engine in delta mode (each output holds only
// the new text, tokens and logprobs of the sequences that changed, prompt logprobs once); the tracker also accepts
// cumulative outputs (everything so far), so both engine output kinds give the same deltas.
import type { TokenLogprobs } from '../runner/batch.js';
import type { FinishReason, RequestOutput } from '../engine/types.js';

export interface ChoiceDelta {
  /** the engine's output index within the request (0..n-1) */
  index: number;
  text: string;
  tokenIds: number[];
  logprobs: TokenLogprobs[] | null;
  finishReason: FinishReason | null;
  stopReason: string | number | null;
}

interface Seen {
  textLen: number;
  tokens: number;
  logprobs: number;
  finished: boolean;
}

export class OutputDeltaTracker {
  private readonly seen = new Map<number, Seen>();
  /** the request's prompt logprobs, kept from the output that carried them */
  promptLogprobs: Array<TokenLogprobs | null> | null = null;

  /** @param delta whether the engine sends delta outputs (RequestOptions.delta) */
  constructor(private readonly delta: boolean) {}

  /** output tokens of all choices so far */
  get completionTokens(): number {
    let n = 0;
    for (const s of this.seen.values()) n += s.tokens;
    return n;
  }

  update(out: RequestOutput): ChoiceDelta[] {
    if (out.promptLogprobs && !this.promptLogprobs) this.promptLogprobs = out.promptLogprobs;
    const deltas: ChoiceDelta[] = [];
    for (const o of out.outputs) {
      let s = this.seen.get(o.index);
      if (!s) {
        s = { textLen: 0, tokens: 0, logprobs: 0, finished: false };
        this.seen.set(o.index, s);
      }
      if (s.finished) continue;
      const d: ChoiceDelta = this.delta
        ? { index: o.index, text: o.text, tokenIds: o.tokenIds, logprobs: o.logprobs, finishReason: o.finishReason, stopReason: o.stopReason }
        : {
            index: o.index,
            text: o.text.slice(s.textLen),
            tokenIds: o.tokenIds.slice(s.tokens),
            logprobs: o.logprobs ? o.logprobs.slice(s.logprobs) : null,
            finishReason: o.finishReason,
            stopReason: o.stopReason,
          };
      s.textLen += d.text.length;
      s.tokens += d.tokenIds.length;
      s.logprobs += d.logprobs ? d.logprobs.length : 0;
      s.finished = o.finishReason !== null;
      deltas.push(d);
    }
    return deltas;
  }
}

/** output tokens of a cumulative (final) output */
export function countCompletionTokens(out: RequestOutput): number {
  let n = 0;
  for (const o of out.outputs) n += o.tokenIds.length;
  return n;
}
