// vLLM v1 token-budget scheduler. There are no prefill/decode phases: each step every running sequence, then each
// waiting one, advances its computed tokens toward its known tokens (prompt + output) within the step's token budget
// and row limit; a long prompt is thereby split over steps (chunked prefill). When the KV pool cannot hold a running
// sequence's next tokens, the newest (FCFS) or lowest-priority (priority policy) running sequence is preempted by
// recompute: its blocks are freed and it goes back to the front of the waiting queue.
import type { StepBatch } from '../runner/batch.js';
import { KvCacheManager } from '../kv-cache/kv-cache-manager.js';
import type { Sequence } from './sequence.js';
import { WaitingQueue, comesBefore, type SchedulingPolicy } from './waiting-queue.js';
import { buildStepBatch } from './build-step-batch.js';

export interface SchedulerConfig {
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  policy: SchedulingPolicy;
  numBlocks: number;
  blockSize: number;
  enablePrefixCaching: boolean;
}

export interface ScheduledStep {
  batch: StepBatch;
  /** sequence of each batch row */
  rows: Sequence[];
  /** sequence of each entry of batch.sampleRows */
  sampleSeqs: Sequence[];
  /** sequences preempted while scheduling this step */
  preempted: Sequence[];
}

export class Scheduler {
  readonly kv: KvCacheManager;
  readonly config: SchedulerConfig;
  private running: Sequence[] = [];
  private readonly waiting: WaitingQueue;
  private runningHasFinished = false;
  numPreemptions = 0;

  constructor(config: SchedulerConfig) {
    for (const k of ['maxNumSeqs', 'maxNumBatchedTokens'] as const) {
      if (!Number.isInteger(config[k]) || config[k] <= 0) throw new Error(`${k} must be a positive integer, got ${config[k]}.`);
    }
    this.config = config;
    this.kv = new KvCacheManager(config);
    this.waiting = new WaitingQueue(config.policy);
  }

  addSequence(seq: Sequence): void {
    seq.status = 'waiting';
    this.waiting.add(seq);
  }

  /** ends a sequence (stopped, aborted or failed) and frees its blocks at once */
  finish(seq: Sequence): void {
    if (seq.status === 'finished') return;
    if (seq.status === 'running') this.runningHasFinished = true;
    seq.status = 'finished';
    this.kv.free(seq);
  }

  get numRunning(): number {
    let n = 0;
    for (const s of this.running) if (s.status === 'running') n++;
    return n;
  }

  get numWaiting(): number {
    this.waiting.prune();
    return this.waiting.length;
  }

  hasWork(): boolean {
    return this.numRunning > 0 || this.numWaiting > 0;
  }

  schedule(): ScheduledStep | null {
    if (this.runningHasFinished) {
      this.running = this.running.filter((s) => s.status === 'running');
      this.runningHasFinished = false;
    }
    this.waiting.prune();
    const rows: Sequence[] = [];
    const counts: number[] = [];
    const preempted: Sequence[] = [];
    let budget = this.config.maxNumBatchedTokens;

    for (let i = 0; i < this.running.length && budget > 0; ) {
      const seq = this.running[i];
      const n = Math.min(seq.numTokens - seq.numComputedTokens, budget);
      if (n <= 0) {
        i++;
        continue;
      }
      let selfPreempted = false;
      while (!this.kv.allocateSlots(seq, seq.numComputedTokens, n)) {
        const victimIdx = this.config.policy === 'priority' ? this.lowestPriorityRunning() : this.running.length - 1;
        const victim = this.running[victimIdx];
        this.running.splice(victimIdx, 1);
        const r = rows.indexOf(victim);
        if (r >= 0) {
          budget += counts[r];
          rows.splice(r, 1);
          counts.splice(r, 1);
        }
        this.preempt(victim);
        preempted.push(victim);
        if (victimIdx < i) i--;
        if (victim === seq) {
          selfPreempted = true;
          break;
        }
      }
      // the sequence preempted itself (it was the lowest priority): the ones after it may fit in what it freed
      if (selfPreempted) continue;
      rows.push(seq);
      counts.push(n);
      budget -= n;
      i++;
    }

    // Like vLLM: no new admissions in a step that had to preempt (memory is short).
    if (preempted.length === 0) {
      for (let w = 0; w < this.waiting.length && budget > 0 && this.running.length < this.config.maxNumSeqs; ) {
        const seq = this.waiting.at(w);
        if (this.waitsForLeader(seq)) {
          w++;
          continue;
        }
        const prefix = this.kv.findComputedPrefix(seq);
        const n = Math.min(seq.numTokens - prefix.numTokens, budget);
        if (!this.kv.allocateSlots(seq, prefix.numTokens, n, prefix)) break;
        this.waiting.removeAt(w);
        this.kv.recordQuery(seq.numTokens, prefix.numTokens);
        if (seq.numCachedTokens < 0) seq.numCachedTokens = prefix.numTokens;
        seq.numComputedTokens = prefix.numTokens;
        seq.status = 'running';
        this.running.push(seq);
        rows.push(seq);
        counts.push(n);
        budget -= n;
      }
    }

    // everything running was preempted: admit from the waiting queue (which no longer waits on memory)
    if (rows.length === 0 && preempted.length > 0) {
      const retry = this.schedule();
      if (retry) retry.preempted.unshift(...preempted);
      return retry;
    }
    if (rows.length === 0) return null;
    const { batch, sampleSeqs } = buildStepBatch(rows, counts, this.kv.blockSize);
    return { batch, rows, sampleSeqs, preempted };
  }

  /** after the backend ran the step: the rows' new full blocks become prefix-cache hits for others */
  commitStep(step: ScheduledStep): void {
    for (const seq of step.rows) if (seq.status === 'running') this.kv.commitComputed(seq, seq.numComputedTokens);
  }

  /**
   * the engine discarded the token this step sampled for `seq` (its grammar mask was deferred): its last known token
   * is scheduled again next step, to be sampled then. Its KV was computed and stays valid (rewritten with the same
   * values); blocks commitStep registered stay registered.
   */
  deferSample(seq: Sequence): void {
    if (seq.status !== 'running') return;
    if (seq.numComputedTokens !== seq.numTokens) {
      throw new Error(`scheduler: deferSample for ${seq.id}, which sampled nothing this step (${seq.numComputedTokens} of ${seq.numTokens} tokens computed)`);
    }
    seq.numComputedTokens--;
  }

  private preempt(seq: Sequence): void {
    this.kv.free(seq);
    seq.numComputedTokens = 0;
    seq.numPreemptions++;
    this.numPreemptions++;
    seq.status = 'waiting';
    this.waiting.addPreempted(seq);
  }

  private lowestPriorityRunning(): number {
    let worst = 0;
    for (let i = 1; i < this.running.length; i++) if (comesBefore(this.running[worst], this.running[i])) worst = i;
    return worst;
  }

  /** n > 1 siblings wait for their leader's prompt KV so that they share it through the prefix cache */
  private waitsForLeader(seq: Sequence): boolean {
    const leader = seq.prefillLeader;
    if (leader === null || !this.kv.enablePrefixCaching || seq.skipPrefixCache || leader.skipPrefixCache) return false;
    return leader.status !== 'finished' && leader.numComputedTokens < leader.promptLength;
  }
}
