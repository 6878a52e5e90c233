// Engine logprobs → OpenAI's shapes: chat `{content: [{token, logprob, bytes, top_logprobs}]}` and completions
// `{tokens, token_logprobs, top_logprobs, text_offset}`. -inf is sent as -9999.0, as vLLM does (JSON has no inf).
import type { TokenLogprobs } from '../runner/batch.js';
import type { TextTokenizer } from '../tokenizer/types.js';

export interface ChatTokenLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: Array<{ token: string; logprob: number; bytes: number[] }>;
}

export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: Array<number | null>;
  top_logprobs: Array<Record<string, number> | null>;
  text_offset: number[];
}

const clamp = (x: number): number => (Number.isFinite(x) ? x : x > 0 ? Number.MAX_VALUE : -9999.0);

export class TokenStrings {
  constructor(
    private readonly tokenizer: TextTokenizer,
    private readonly asTokenIds: boolean,
  ) {}

  text(id: number): string {
    return this.asTokenIds ? `token_id:${id}` : this.tokenizer.decode([id], { skipSpecialTokens: false });
  }
}

function utf8Bytes(s: string): number[] {
  return [...Buffer.from(s, 'utf8')];
}

export function chatLogprobs(tokenIds: number[], lps: TokenLogprobs[], topN: number, strs: TokenStrings): ChatTokenLogprob[] {
  return lps.map((lp, i) => {
    const token = strs.text(tokenIds[i]);
    return {
      token,
      logprob: clamp(lp.logprob),
      bytes: utf8Bytes(token),
      top_logprobs: lp.top.slice(0, topN).map((t) => {
        const s = strs.text(t.tokenId);
        return { token: s, logprob: clamp(t.logprob), bytes: utf8Bytes(s) };
      }),
    };
  });
}

/** @param startOffset character offset of the first token within the returned text (echoed prompt included) */
export function completionLogprobs(
  tokenIds: number[],
  lps: Array<TokenLogprobs | null>,
  topN: number,
  strs: TokenStrings,
  startOffset: number,
): CompletionLogprobs {
  const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  let offset = startOffset;
  for (let i = 0; i < tokenIds.length; i++) {
    const token = strs.text(tokenIds[i]);
    const lp = lps[i] ?? null;
    out.tokens.push(token);
    out.text_offset.push(offset);
    offset += token.length;
    if (lp === null) {
      out.token_logprobs.push(null);
      out.top_logprobs.push(null);
      continue;
    }
    out.token_logprobs.push(clamp(lp.logprob));
    // vLLM lists the sampled token next to the top alternatives
    const top: Record<string, number> = {};
    for (const t of lp.top.slice(0, topN)) top[strs.text(t.tokenId)] = clamp(t.logprob);
    top[token] = clamp(lp.logprob);
    out.top_logprobs.push(top);
  }
  return out;
}

export function concatCompletionLogprobs(a: CompletionLogprobs, b: CompletionLogprobs): CompletionLogprobs {
  return {
    tokens: [...a.tokens, ...b.tokens],
    token_logprobs: [...a.token_logprobs, ...b.token_logprobs],
    top_logprobs: [...a.top_logprobs, ...b.top_logprobs],
    text_offset: [...a.text_offset, ...b.text_offset],
  };
}

export type VllmPromptLogprobs = Array<Record<string, { logprob: number; rank: number | null; decoded_token: string }> | null>;

/** vLLM's `prompt_logprobs`: per prompt token, null for the first, else {token id: {logprob, rank, decoded_token}}
 * holding the prompt's own token and the top alternatives */
export function promptLogprobsVllm(promptIds: number[], lps: Array<TokenLogprobs | null> | null, topN: number, strs: TokenStrings): VllmPromptLogprobs | null {
  if (!lps) return null;
  return promptIds.map((id, i) => {
    const lp = lps[i] ?? null;
    if (lp === null) return null;
    const out: Record<string, { logprob: number; rank: number | null; decoded_token: string }> = {};
    out[String(id)] = { logprob: clamp(lp.logprob), rank: lp.rank, decoded_token: strs.text(id) };
    lp.top.slice(0, topN).forEach((t, r) => {
      if (!(String(t.tokenId) in out)) out[String(t.tokenId)] = { logprob: clamp(t.logprob), rank: r + 1, decoded_token: strs.text(t.tokenId) };
    });
    return out;
  });
}
