// The runner/backend contract: one call per engine step with a flat batch.
// Every backend (`ts` reference, native `cpu`, native `cuda`) implements `Backend.execute` with the same meaning,
// so the scheduler and engine never know which one runs.

/** Per-row sampling settings, already resolved (request → generation_config → default). */
export interface RowSampling {
  temperature: number; // 0 = greedy
  topP: number; // 1 = off
  topK: number; // -1 or 0 = off
  minP: number; // 0 = off
  repetitionPenalty: number; // 1 = off
  presencePenalty: number; // 0 = off
  frequencyPenalty: number; // 0 = off
  /** token id → additive bias */
  logitBias: Map<number, number> | null;
  /** when set, every other token is masked out */
  allowedTokenIds: Int32Array | null;
  /** single-token bad words (multi-token bad words are resolved by the engine into this list per step) */
  bannedTokenIds: Int32Array | null;
  /** seed for the per-request counter-based RNG; null = engine-global seeded stream */
  seed: number | null;
  /** index of the token being sampled within this sequence's output (RNG counter: batch-independent) */
  outputIndex: number;
  /** number of top logprobs wanted for the sampled token (-1 = none, 0 = only the sampled token's logprob) */
  logprobs: number;
  /** prompt logprobs wanted for this row's query tokens (-1 = none) */
  promptLogprobs: number;
  /** tokens already known for the sequence: prompt and output (penalties read these; never copied) */
  promptTokenIds: ArrayLike<number>;
  outputTokenIds: ArrayLike<number>;
}

export interface StepBatch {
  /** total scheduled tokens in this step */
  numTokens: number;
  tokenIds: Int32Array; // [numTokens]
  positions: Int32Array; // [numTokens]
  /** KV slot (block * blockSize + offset) each token's K/V is written to */
  slotMapping: Int32Array; // [numTokens]
  numRows: number;
  /** row r owns tokens [queryStartLoc[r], queryStartLoc[r+1]) */
  queryStartLoc: Int32Array; // [numRows + 1]
  /** KV length of row r after this step (cached context + new tokens) */
  contextLens: Int32Array; // [numRows]
  /** row-major [numRows, maxBlocksPerRow], -1 padded */
  blockTables: Int32Array;
  maxBlocksPerRow: number;
  /** rows whose last token is sampled this step (a partial prefill chunk samples nothing) */
  sampleRows: Int32Array;
  /** sampling settings, parallel to sampleRows */
  sampling: RowSampling[];
  /** optional grammar masks, row-major [sampleRows.length, ceil(vocab/32)]; bit set = allowed */
  grammarBitmask: Int32Array | null;
  /** which sample rows use the bitmask (1) and which are free (0) */
  grammarRows: Uint8Array | null;
  /**
   * per sample row: -1, or an earlier row whose mask this row's equals (rows of one schema at one position share a
   * cached mask): the engine did not write this row's part of grammarBitmask, readers take that row's. Null: none.
   */
  grammarSameAs?: Int32Array | null;
  /**
   * When set, the engine fills grammarBitmask/grammarRows (already allocated, zeroed) while the backend runs the
   * forward pass, and resolves this once they are complete: a backend must await it before it reads either of them
   * (so the masks cost no step time on a backend whose forward runs off the JS thread). It never rejects: a row
   * whose mask failed is left free (grammarRows 0) and the engine fails that request itself.
   */
  masksReady?: Promise<void> | null;
  /**
   * Set with masksReady. The backend calls it once the forward's logits are ready, right before it awaits
   * masksReady: the engine's deadline for masks still being computed on worker threads starts then (a row whose mask
   * misses it is deferred: it samples unconstrained and the engine discards its token). Every backend calls it; one
   * that never did would simply wait for every mask.
   */
  logitsReady?: (() => void) | null;
  /** per row: 1 = the backend must also return the logits of every query token (prompt logprobs) */
  promptLogitsRows?: Uint8Array | null;
  /**
   * per row (null = none): prompt logprobs to compute from this step's query tokens. targetTokenIds[j] is the token
   * that query token j predicts (the next prompt token), -1 where it is not a prompt token (the last prompt position).
   */
  promptLogprobs?: Array<{ numLogprobs: number; targetTokenIds: Int32Array } | null> | null;
}

export interface TokenLogprobs {
  /** logprob of the chosen token */
  logprob: number;
  /** rank of the chosen token (1 = best) */
  rank: number;
  /** top-k alternatives, best first */
  top: Array<{ tokenId: number; logprob: number }>;
}

export interface StepResult {
  /**
   * sampled token per entry of sampleRows; -1 when the row's masks left no token to sample (that request fails).
   * The engine discards the token of a row whose grammar mask it deferred (grammarRows 0 for a structured row): that
   * row is scheduled again at the same position next step.
   */
  sampledTokenIds: Int32Array;
  /** per sample row, when its logprobs >= 0 */
  logprobs: Array<TokenLogprobs | null>;
  /** per row of the batch: logprobs of tokens [start+1 .. end] predicted from this step's query tokens, when asked */
  promptLogprobs: Array<Array<TokenLogprobs> | null> | null;
}

export interface BackendInfo {
  kind: 'ts' | 'cpu' | 'cuda';
  /** human-readable device name for logs */
  device: string;
  numBlocks: number;
  blockSize: number;
  vocabSize: number;
}

export interface Backend {
  readonly info: BackendInfo;
  execute(batch: StepBatch): Promise<StepResult>;
  close(): Promise<void>;
}
