// The engine loop's body. One EngineCore owns all model state; each `step()` is schedule → backend.execute →
// update sequences (append tokens, detokenize, check stops, free finished). AsyncEngine drives it and yields to the
// event loop between steps. A failure inside one request (its grammar, its detokenizer) ends that request only.
import type { Backend, StepResult } from '../runner/batch.js';
import { derivedSeed } from '../runner/sampler-rng.js';
import { Scheduler, type ScheduledStep } from '../scheduler/scheduler.js';
import { Sequence } from '../scheduler/sequence.js';
import type { SchedulingPolicy } from '../scheduler/waiting-queue.js';
import type { TextTokenizer } from '../tokenizer/types.js';
import { bannedByBadWords, tokenizeBadWords } from './bad-words.js';
import type { DetokenizerFactory } from './detokenizer.js';
import { GrammarStarter, providerGrammar } from './deferred-grammars.js';
import { writeMaskRow, type BulkMaskFiller, type GrammarProvider, type RequestGrammar } from './grammar.js';
import { fillWithWorkers } from './worker-masks.js';
import { SharedMaskRows } from './shared-mask-rows.js';
import { RequestState, SequenceState } from './request-state.js';
import { StepMaskBuffer } from './step-mask-buffer.js';
import { checkMaskGraceMs, DEFAULT_STRUCTURED_OUTPUT_MASK_GRACE_MS, emptyMaskStats, LogitsSignal, type StructuredMaskStats } from './mask-deadline.js';
import { resolveSamplingParams, type GenerationDefaults, type ResolvedSamplingParams } from './sampling-params.js';
import type { EngineStats, FinishedRequestStats } from './serving-engine.js';
import { findStopString, stopHoldback } from './stop-strings.js';
import type { RequestOptions, RequestOutput, SamplingParams } from './types.js';

export interface EngineCoreOptions {
  backend: Backend;
  /** needed for text prompts, stop strings, bad words and output text; without it outputs carry token ids only */
  tokenizer: TextTokenizer | null;
  detokenizer: DetokenizerFactory | null;
  maxModelLen: number;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  schedulingPolicy: SchedulingPolicy;
  enablePrefixCaching: boolean;
  seed: number;
  maxLogprobs: number;
  /** the first is the tokenizer's EOS; further ones (generation_config) act as stop tokens */
  eosTokenIds: number[];
  generationDefaults?: GenerationDefaults;
  grammar?: GrammarProvider;
  /**
   * with mask worker threads: how long (ms) a step waits, once the backend's logits are ready, for masks still being
   * computed before it defers their rows to the next step; 0 allowed. Default 1 ms (mask-deadline.ts).
   */
  structuredOutputMaskGraceMs?: number;
  /** wall clock in seconds (tests may inject one) */
  now?: () => number;
}

export interface RequestSink {
  emit(out: RequestOutput): void;
  fail(err: Error): void;
}

/** the request itself is invalid (an HTTP 400) */
export class RequestRejectedError extends Error {
  override name = 'RequestRejectedError';
  readonly status = 400;
}

/** the grammar rows of a step, between prepareSampling and applyResult */
interface PendingMasks {
  /** indices into the step's sample rows */
  rows: number[];
  words: number;
  filler: BulkMaskFiller | null;
  resolve: () => void;
  logits: LogitsSignal;
  /** sample rows whose mask missed the step's deadline: their tokens are discarded (applyResult) */
  deferred: Set<number>;
}

interface SeqRef {
  req: RequestState;
  state: SequenceState;
  badWords: number[][];
}

export class EngineCore {
  readonly scheduler: Scheduler;
  readonly backend: Backend;
  private readonly opts: EngineCoreOptions;
  private readonly requests = new Map<string, RequestState>();
  private readonly seqRefs = new Map<Sequence, SeqRef>();
  private readonly finishListeners: Array<(s: FinishedRequestStats) => void> = [];
  private arrivals = 0;
  private inStep = false;
  private deferredFrees: Sequence[] = [];
  private promptTokensTotal = 0;
  private generationTokensTotal = 0;
  private readonly now: () => number;
  private readonly vocabSize: number;
  private readonly maskBuffer: StepMaskBuffer;
  private readonly grammarStarter: GrammarStarter | null;
  private readonly maskGraceMs: number;
  private readonly maskCounters: StructuredMaskStats = emptyMaskStats();

  constructor(opts: EngineCoreOptions) {
    this.opts = opts;
    this.backend = opts.backend;
    this.vocabSize = opts.backend.info.vocabSize;
    this.now = opts.now ?? (() => Date.now() / 1000);
    this.maskBuffer = new StepMaskBuffer(opts.maxNumSeqs, Math.ceil(this.vocabSize / 32));
    this.grammarStarter = opts.grammar ? new GrammarStarter(opts.grammar) : null;
    this.maskGraceMs = checkMaskGraceMs(opts.structuredOutputMaskGraceMs ?? DEFAULT_STRUCTURED_OUTPUT_MASK_GRACE_MS);
    const { numBlocks, blockSize } = opts.backend.info;
    if (numBlocks * blockSize < opts.maxModelLen) {
      throw new Error(
        `The KV cache (${numBlocks} blocks of ${blockSize} tokens = ${numBlocks * blockSize} tokens) cannot hold one sequence of ` +
          `max_model_len ${opts.maxModelLen}; raise numKvBlocks / cpuKvCacheBytes or lower maxModelLen.`,
      );
    }
    this.scheduler = new Scheduler({
      maxNumSeqs: opts.maxNumSeqs,
      maxNumBatchedTokens: opts.maxNumBatchedTokens,
      policy: opts.schedulingPolicy,
      numBlocks,
      blockSize,
      enablePrefixCaching: opts.enablePrefixCaching,
    });
  }

  onRequestFinished(listener: (s: FinishedRequestStats) => void): void {
    this.finishListeners.push(listener);
  }

  /** builds the structured-output engine now instead of at the first constraint (GrammarProvider.prepare) */
  prepareGrammar(): void {
    this.opts.grammar?.prepare?.();
  }

  hasRequest(requestId: string): boolean {
    return this.requests.has(requestId);
  }

  hasWork(): boolean {
    return this.scheduler.hasWork();
  }

  /** validates and queues a request; throws (changing nothing) when it is invalid */
  addRequest(
    requestId: string,
    input: { prompt: string | null; promptTokenIds: number[] },
    params: SamplingParams,
    options: RequestOptions,
    sink: RequestSink,
  ): void {
    if (this.requests.has(requestId)) throw new RequestRejectedError(`Request id ${requestId} already running.`);
    const priority = options.priority ?? 0;
    if (!Number.isInteger(priority)) throw new RequestRejectedError(`priority must be an integer, got ${priority}.`);
    if (priority !== 0 && this.opts.schedulingPolicy !== 'priority') {
      throw new RequestRejectedError(`Got priority ${priority} but Priority scheduling is not enabled.`);
    }
    const ids = input.promptTokenIds;
    if (ids.length === 0) throw new RequestRejectedError('The decoder prompt cannot be empty');
    for (const t of ids) {
      if (!Number.isInteger(t) || t < 0 || t >= this.vocabSize) throw new RequestRejectedError(`Token id ${t} is out of vocabulary`);
    }
    const p = resolveSamplingParams(params, { vocabSize: this.vocabSize, maxLogprobs: this.opts.maxLogprobs, defaults: this.opts.generationDefaults });
    const maxLen = this.opts.maxModelLen;
    if (p.maxTokens !== null && ids.length + p.maxTokens > maxLen) {
      throw new RequestRejectedError(
        `This model's maximum context length is ${maxLen} tokens. However, you requested ${ids.length + p.maxTokens} tokens ` +
          `(${ids.length} in the messages, ${p.maxTokens} in the completion). Please reduce the length of the messages or completion.`,
      );
    }
    if (ids.length >= maxLen) {
      throw new RequestRejectedError(
        `This model's maximum context length is ${maxLen} tokens. However, you requested ${ids.length} tokens in the messages, Please reduce the length of the messages.`,
      );
    }
    const tok = this.opts.tokenizer;
    if ((p.stop.length > 0 || p.badWords.length > 0) && !tok) throw new RequestRejectedError('stop strings and bad_words need a tokenizer');
    if (p.structured && !this.grammarStarter) throw new RequestRejectedError('structured output is not available');
    const badWords = p.badWords.length > 0 && tok ? tokenizeBadWords(p.badWords, tok) : [];
    const grammars = p.structured ? this.grammarStarter!.create(p.structured, p.n) : [];

    const maxTokens = p.maxTokens ?? Math.min(maxLen - ids.length, p.defaultMaxTokens ?? Infinity);
    const req = new RequestState(
      requestId,
      input.prompt,
      ids.slice(),
      p,
      maxTokens,
      // final-only outputs are cumulative (one output carries everything)
      (options.delta ?? false) && !(options.finalOnly ?? false),
      options.finalOnly ?? false,
      stopHoldback(p.stop, p.includeStopStrInOutput),
      (o) => sink.emit(o),
      (e) => sink.fail(e),
      this.now(),
    );
    const arrival = this.arrivals++;
    let leader: Sequence | null = null;
    for (let i = 0; i < p.n; i++) {
      // vLLM's parallel sampling: child i of a seeded request uses seed + i
      const seed = p.seed !== null ? p.seed + i : derivedSeed(this.opts.seed, arrival * 4096 + i);
      const seq: Sequence = new Sequence({
        id: p.n === 1 ? requestId : `${i}_${requestId}`,
        arrivalIndex: arrival,
        promptTokenIds: ids,
        priority,
        cacheSalt: options.cacheSalt ?? null,
        skipPrefixCache: p.promptLogprobs !== null && i === 0,
        prefillLeader: leader,
        sampling: this.rowSampling(p, seed, i === 0),
      });
      leader ??= seq;
      const detok = tok && this.opts.detokenizer
        ? this.opts.detokenizer(ids, { skipSpecialTokens: p.skipSpecialTokens, spacesBetweenSpecialTokens: p.spacesBetweenSpecialTokens })
        : null;
      const state = new SequenceState(i, seq, detok, grammars[i] ?? null, p.logprobs !== null);
      req.seqs.push(state);
      this.seqRefs.set(seq, { req, state, badWords });
    }
    this.requests.set(requestId, req);
    for (const s of req.seqs) this.scheduler.addSequence(s.seq);
  }

  /** ends a request now: its outputs end with finishReason 'abort'; its KV is freed (after the running step) */
  abort(requestId: string): boolean {
    const req = this.requests.get(requestId);
    if (!req) return false;
    for (const s of req.seqs) {
      if (s.finished) continue;
      s.finishReason = 'abort';
      s.dirty = true;
    }
    this.finishRequest(req);
    return true;
  }

  stats(): EngineStats {
    const kv = this.scheduler.kv;
    return {
      numRunning: this.scheduler.numRunning,
      numWaiting: this.scheduler.numWaiting,
      kvCacheUsage: kv.usage,
      prefixCacheQueries: kv.prefixCacheQueries,
      prefixCacheHits: kv.prefixCacheHits,
      numPreemptions: this.scheduler.numPreemptions,
      promptTokensTotal: this.promptTokensTotal,
      generationTokensTotal: this.generationTokensTotal,
    };
  }

  /** structured-output mask counters since the engine started or resetMaskStats (a copy) */
  maskStats(): StructuredMaskStats {
    return { ...this.maskCounters };
  }

  resetMaskStats(): void {
    Object.assign(this.maskCounters, emptyMaskStats());
  }

  /** one engine step; resolves after every output of the step was emitted */
  async step(): Promise<void> {
    const step = this.scheduler.schedule();
    if (!step) {
      if (this.scheduler.hasWork()) this.failStuckRequests();
      return;
    }
    const now = this.now();
    for (const seq of step.rows) {
      const ref = this.seqRefs.get(seq)!;
      if (ref.req.times.firstScheduled === null) {
        ref.req.times.firstScheduled = now;
        this.promptTokensTotal += ref.req.promptTokenIds.length;
      }
    }
    let result: StepResult;
    let masksDone: Promise<void> | null = null;
    let maskRows: PendingMasks | null = null;
    // from here until the step's KV is written, frees are deferred (the batch still points at the blocks)
    this.inStep = true;
    try {
      maskRows = this.prepareSampling(step);
      // the forward starts first; the masks are computed while it runs (the backend awaits batch.masksReady)
      const executing = this.backend.execute(step.batch);
      masksDone = this.fillMasks(step, maskRows);
      result = await executing;
    } finally {
      // the step is over once every mask was either written or deferred (a deferred row's worker writes into a
      // bitmask no later step gets: StepMaskBuffer.discard)
      if (masksDone) await masksDone;
      this.inStep = false;
      for (const seq of this.deferredFrees) this.scheduler.finish(seq);
      this.deferredFrees = [];
    }
    this.scheduler.commitStep(step);
    this.applyResult(step, result, maskRows?.deferred ?? null);
  }

  private rowSampling(p: ResolvedSamplingParams, seed: number, isFirst: boolean) {
    return {
      temperature: p.temperature,
      topP: p.topP,
      topK: p.topK,
      minP: p.minP,
      repetitionPenalty: p.repetitionPenalty,
      presencePenalty: p.presencePenalty,
      frequencyPenalty: p.frequencyPenalty,
      logitBias: p.logitBias,
      allowedTokenIds: p.allowedTokenIds,
      bannedTokenIds: null,
      seed,
      outputIndex: 0,
      logprobs: p.logprobs ?? -1,
      promptLogprobs: isFirst && p.promptLogprobs !== null ? p.promptLogprobs : -1,
      promptTokenIds: [] as number[],
      outputTokenIds: [] as number[],
    };
  }

  /**
   * per-step sampling inputs that must be ready before the forward starts: RNG counter, min_tokens and bad-words
   * bans. Returns the sample rows that need a grammar mask; the step's bitmask (reused from step to step, zero outside
   * these rows) is set and batch.masksReady created, and fillMasks fills the rows once the forward has started.
   */
  private prepareSampling(step: ScheduledStep): PendingMasks | null {
    const { batch, sampleSeqs } = step;
    const maskRows: number[] = [];
    for (let i = 0; i < sampleSeqs.length; i++) {
      const seq = sampleSeqs[i];
      const ref = this.seqRefs.get(seq);
      if (!ref) continue;
      const { req, state, badWords } = ref;
      const s = seq.sampling;
      s.outputIndex = seq.outputTokenIds.length;
      const p = req.params;
      let banned: Set<number> | null = null;
      if (seq.outputTokenIds.length < p.minTokens) {
        banned = new Set(p.stopTokenIds);
        for (const e of this.opts.eosTokenIds) banned.add(e);
      }
      if (badWords.length > 0) bannedByBadWords(badWords, seq.outputTokenIds, (banned ??= new Set()));
      s.bannedTokenIds = banned && banned.size > 0 ? Int32Array.from(banned) : null;
      if (state.grammar && !state.grammarDone) maskRows.push(i);
    }
    if (maskRows.length === 0) return null;
    const words = Math.ceil(this.vocabSize / 32);
    const filler = this.opts.grammar?.bulkFiller?.(maskRows.length) ?? null;
    batch.grammarBitmask = this.maskBuffer.take(sampleSeqs.length, maskRows, filler);
    batch.grammarRows = new Uint8Array(sampleSeqs.length);
    batch.grammarSameAs = new Int32Array(sampleSeqs.length).fill(-1);
    let resolve!: () => void;
    batch.masksReady = new Promise<void>((r) => (resolve = r));
    const logits = new LogitsSignal();
    batch.logitsReady = logits.signal;
    return { rows: maskRows, words, filler, resolve, logits, deferred: new Set() };
  }

  /**
   * feeds each grammar row its previous token (see acceptToken), fills the step's grammar masks and resolves
   * batch.masksReady; never rejects. Runs while the forward does. A grammar that rejects its token or throws (or whose
   * worker thread fails) ends its own request: its row stays free (zero) and its sampled token is discarded.
   * Without a bulk filler (no mask workers) every mask is computed here, on the engine thread: nothing can interrupt
   * it, so the step waits for the slowest (cold) one. With one, see fillWithWorkers.
   */
  private async fillMasks(step: ScheduledStep, pending: PendingMasks | null): Promise<void> {
    if (!pending) return;
    const { batch, sampleSeqs } = step;
    const bitmask = batch.grammarBitmask!;
    const grammarRows = batch.grammarRows!;
    const { rows, words, filler } = pending;
    const shared = new SharedMaskRows(batch.grammarSameAs!);
    let reusable = false;
    this.maskCounters.steps++;
    try {
      if (filler) {
        reusable = await this.fillWithWorkers(step, pending, filler, shared);
        return;
      }
      for (const i of rows) {
        const ref = this.seqRefs.get(sampleSeqs[i]);
        if (!ref) continue; // its request failed earlier in this loop
        try {
          this.feedPendingToken(ref.state);
          const grammar = ref.state.grammar!;
          const identity = grammar.cachedMaskIdentity?.() ?? null;
          if (!shared.share(i, identity)) {
            writeMaskRow(grammar, identity, bitmask, i * words, i, this.maskBuffer);
            // a mask computed here (a cold one) is cached now: later rows at the same state share this row
            shared.wrote(i, identity ?? grammar.cachedMaskIdentity?.() ?? null);
          }
          grammarRows[i] = 1;
          // a mask left to a worker that has since gone: this thread computed it again
          ref.state.lateMask = null;
          ref.state.maskDeferrals = 0;
        } catch (e) {
          // the row samples unconstrained; its token is discarded because the request has failed
          this.failRequest(ref.req, e);
        }
      }
      reusable = true;
    } finally {
      // a failed row may hold part of a mask: free rows are zero (not a deferred one: its worker may still be
      // writing it, and its LateMask reads it later)
      for (const i of rows) {
        if (grammarRows[i] === 1 || pending.deferred.has(i)) continue;
        bitmask.fill(0, i * words, (i + 1) * words);
        this.maskBuffer.hold(i, null);
      }
      // a worker thread that failed or was left behind may still write into the bitmask: later steps get a new one
      if (!reusable) this.maskBuffer.discard();
      const { at } = pending.logits;
      if (at !== null) {
        const wait = performance.now() - at;
        this.maskCounters.maskWaitMs += wait;
        if (wait > this.maskCounters.maxMaskWaitMs) this.maskCounters.maxMaskWaitMs = wait;
      }
      pending.resolve();
    }
  }

  /**
   * Masks with the mask workers (worker-masks.ts): each row's pending token is fed there, a row whose mask is a cache
   * copy on this thread is filled here, the cold ones go to the workers, and a row deferred before waits for the mask
   * its worker computes for it. Rows not done a grace after the logits are ready are deferred (pending.deferred).
   * Returns whether the bitmask can be reused (no row failed or was left to a worker).
   */
  private async fillWithWorkers(step: ScheduledStep, pending: PendingMasks, filler: BulkMaskFiller, shared: SharedMaskRows): Promise<boolean> {
    const { batch, sampleSeqs } = step;
    const rows: Array<{ i: number; grammar: RequestGrammar }> = [];
    const late: number[] = [];
    for (const i of pending.rows) {
      const ref = this.seqRefs.get(sampleSeqs[i]);
      if (!ref) continue;
      // deferred with its grammar untouched: no token to feed, and its mask is on its way
      if (ref.state.lateMask) {
        late.push(i);
        continue;
      }
      try {
        rows.push({ i, grammar: providerGrammar(ref.state.grammar!) });
      } catch (e) {
        this.failRequest(ref.req, e);
      }
    }
    const live = (i: number) => this.seqRefs.get(sampleSeqs[i])?.state ?? null;
    const { deferred, bitmaskInUse, cachedRows, coldRows, aheadRows } = await fillWithWorkers(
      {
        bitmask: batch.grammarBitmask!,
        grammarRows: batch.grammarRows!,
        words: pending.words,
        logits: pending.logits,
        graceMs: this.maskGraceMs,
        rows,
        feed: (i) => {
          // a sibling's failure may have ended the request meanwhile (n > 1): its row stays free
          const ref = this.seqRefs.get(sampleSeqs[i]);
          if (!ref) throw new Error('structured output: the request ended before its mask');
          this.feedPendingToken(ref.state);
        },
        pendingToken: (i) => this.seqRefs.get(sampleSeqs[i])?.state.grammarPendingToken ?? -1,
        shared,
        held: this.maskBuffer,
        late,
        live,
        fail: (i, e) => {
          const ref = this.seqRefs.get(sampleSeqs[i]);
          if (ref) this.failRequest(ref.req, e);
        },
      },
      filler,
    );
    this.maskCounters.rowsCachedOnEngine += cachedRows;
    this.maskCounters.rowsOnWorkers += coldRows;
    this.maskCounters.rowsPostedAhead += aheadRows;
    for (const i of deferred) pending.deferred.add(i);
    if (deferred.length > 0) {
      this.maskCounters.stepsDeferred++;
      this.maskCounters.rowsDeferred += deferred.length;
    }
    return !bitmaskInUse;
  }

  /** tells the grammar the token sampled for it in its previous step (acceptToken left it pending) */
  private feedPendingToken(s: SequenceState): void {
    const token = s.grammarPendingToken;
    if (token < 0) return;
    s.grammarPendingToken = -1;
    if (!s.grammar!.acceptToken(token)) throw new Error(`structured output: the grammar rejected token ${token}`);
  }

  /** `deferred`: sample rows whose mask was deferred (fillWithWorkers): their tokens are discarded, nothing advances */
  private applyResult(step: ScheduledStep, result: StepResult, deferred: Set<number> | null): void {
    const now = this.now();
    const touched = new Set<RequestState>();
    if (result.promptLogprobs) this.collectPromptLogprobs(step, result);
    for (let i = 0; i < step.sampleSeqs.length; i++) {
      const seq = step.sampleSeqs[i];
      const ref = this.seqRefs.get(seq);
      if (!ref || ref.state.finished || seq.status !== 'running') continue;
      if (deferred?.has(i)) {
        this.scheduler.deferSample(seq);
        continue;
      }
      const { req, state } = ref;
      try {
        this.acceptToken(req, state, result.sampledTokenIds[i], result.logprobs[i] ?? null);
      } catch (e) {
        this.failRequest(req, e);
        continue;
      }
      this.generationTokensTotal++;
      // an n > 1 sibling that finished stops being scheduled while the others go on
      if (state.finished) this.releaseSequence(seq);
      req.times.firstToken ??= now;
      req.times.lastToken = now;
      req.times.tokenTimes.push(now);
      touched.add(req);
    }
    for (const req of touched) {
      if (req.failed) continue;
      const done = req.finished;
      if (done) this.finishRequest(req);
      else if (!req.finalOnly) req.emit(req.buildOutput());
    }
  }

  private acceptToken(req: RequestState, s: SequenceState, token: number, logprobs: StepResult['logprobs'][number]): void {
    const seq = s.seq;
    const p = req.params;
    if (token < 0) {
      throw new Error('no token can be sampled: allowed_token_ids, bad_words, min_tokens and the structured-output grammar together exclude every token');
    }
    seq.appendOutputToken(token);
    if (s.logprobs) {
      if (!logprobs) throw new Error('backend returned no logprobs for a row that asked for them');
      s.logprobs.push(logprobs);
    }
    s.dirty = true;
    if (s.grammar && !s.grammarDone) {
      // the grammar is told the token right before its next mask is computed, while the next forward runs (not
      // here, between the steps). The token was sampled under the grammar's mask; should the grammar still reject
      // it, the request fails then. An EOS ends the grammar: it is not asked again.
      if (this.opts.eosTokenIds.includes(token)) s.grammarDone = true;
      else s.grammarPendingToken = token;
    }

    // token-level stops (vLLM v1 order: length, then min_tokens gate, then EOS, then stop_token_ids)
    const nOut = seq.outputTokenIds.length;
    let tokenStop = false;
    if (nOut >= req.maxTokens || seq.numTokens >= this.opts.maxModelLen) {
      s.finishReason = 'length';
    } else if (nOut >= p.minTokens) {
      const eos = this.opts.eosTokenIds;
      if (!p.ignoreEos && eos.length > 0 && token === eos[0]) {
        s.finishReason = 'stop';
        tokenStop = true;
      } else if (p.stopTokenIds.includes(token) || (!p.ignoreEos && eos.indexOf(token) > 0)) {
        s.finishReason = 'stop';
        s.stopReason = token;
        tokenStop = true;
      }
    }
    if (s.detok) {
      const newText = tokenStop && !p.includeStopStrInOutput ? '' : s.detok.push([token]);
      s.text += newText;
      if (p.stop.length > 0 && nOut > p.minTokens) {
        const m = findStopString(s.text, newText.length, p.stop);
        if (m) {
          s.text = s.text.slice(0, p.includeStopStrInOutput ? m.index + m.stop.length : m.index);
          s.finishReason = 'stop';
          s.stopReason = m.stop;
          return;
        }
      }
      if (s.finished && !tokenStop) s.text += s.detok.flush();
    }
  }

  private collectPromptLogprobs(step: ScheduledStep, result: StepResult): void {
    const spec = step.batch.promptLogprobs;
    if (!spec || !result.promptLogprobs) return;
    for (let r = 0; r < spec.length; r++) {
      const lp = result.promptLogprobs[r];
      if (!spec[r] || !lp) continue;
      const req = this.seqRefs.get(step.rows[r])?.req;
      if (!req?.promptLogprobs) continue;
      const start = step.batch.positions[step.batch.queryStartLoc[r]];
      for (let j = 0; j < lp.length; j++) req.promptLogprobs[start + 1 + j] = lp[j];
    }
  }

  /** every sequence of the request is finished: free, emit the final output, report stats */
  private finishRequest(req: RequestState): void {
    if (!this.requests.has(req.requestId)) return;
    this.requests.delete(req.requestId);
    for (const s of req.seqs) {
      this.releaseSequence(s.seq);
      this.seqRefs.delete(s.seq);
      s.grammar?.release?.();
    }
    const finishedAt = this.now();
    req.times.finished = finishedAt;
    if (!req.failed) req.emit(req.buildOutput());
    const t = req.times;
    const lat: number[] = [];
    for (let i = 1; i < t.tokenTimes.length; i++) lat.push(t.tokenTimes[i] - t.tokenTimes[i - 1]);
    const stats: FinishedRequestStats = {
      requestId: req.requestId,
      finishReason: req.failed ? 'error' : req.seqs[0].finishReason ?? 'abort',
      promptTokens: req.promptTokenIds.length,
      generationTokens: req.seqs.reduce((a, s) => a + s.seq.outputTokenIds.length, 0),
      queueTime: t.firstScheduled !== null ? t.firstScheduled - t.arrival : finishedAt - t.arrival,
      timeToFirstToken: t.firstToken !== null ? t.firstToken - t.arrival : null,
      interTokenLatencies: lat,
      e2eLatency: finishedAt - t.arrival,
    };
    for (const l of this.finishListeners) {
      try {
        l(stats);
      } catch {
        // a metrics listener must not break the engine loop
      }
    }
  }

  private failRequest(req: RequestState, e: unknown): void {
    if (req.failed) return;
    req.failed = true;
    for (const s of req.seqs) if (!s.finished) s.finishReason = 'abort';
    req.fail(e instanceof Error ? e : new Error(String(e)));
    this.finishRequest(req);
  }

  /** frees at once, or right after the step in flight (its KV may still be being written) */
  private releaseSequence(seq: Sequence): void {
    if (this.inStep) this.deferredFrees.push(seq);
    else this.scheduler.finish(seq);
  }

  /** releases the backend and the grammar provider's threads (after the last step) */
  async close(): Promise<void> {
    try {
      await this.backend.close();
    } finally {
      await this.opts.grammar?.close?.();
    }
  }

  /** fails every request (the backend itself failed) */
  failAll(err: Error): void {
    for (const req of [...this.requests.values()]) this.failRequest(req, err);
  }

  private failStuckRequests(): void {
    const err = new Error('the KV cache cannot hold this request even with nothing else running');
    for (const req of [...this.requests.values()]) this.failRequest(req, err);
  }
}
