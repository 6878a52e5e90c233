// One schedulable sequence: a prompt plus the tokens generated so far. A request with n > 1 becomes n sequences
// (vLLM's parallel sampling fan-out); the scheduler only ever sees sequences.
import type { RowSampling } from '../runner/batch.js';
import { SequenceKv, type KvSequence } from '../kv-cache/kv-cache-manager.js';

export type SequenceStatus = 'waiting' | 'running' | 'finished';

export class Sequence implements KvSequence {
  readonly id: string;
  /** arrival order, the FCFS tie-breaker */
  readonly arrivalIndex: number;
  readonly priority: number;
  readonly cacheSalt: string | null;
  readonly skipPrefixCache: boolean;
  readonly promptLength: number;
  /** prompt followed by output tokens */
  readonly tokenIds: number[];
  readonly outputTokenIds: number[] = [];
  numComputedTokens = 0;
  /** tokens served from the prefix cache at first scheduling (-1 = not scheduled yet) */
  numCachedTokens = -1;
  numPreemptions = 0;
  status: SequenceStatus = 'waiting';
  readonly kv = new SequenceKv();
  /** resolved sampling settings; the engine refreshes the per-step fields before each step */
  readonly sampling: RowSampling;
  /** n > 1 siblings wait until this sequence has computed the shared prompt, then hit its cached blocks */
  readonly prefillLeader: Sequence | null;

  constructor(init: {
    id: string;
    arrivalIndex: number;
    promptTokenIds: number[];
    sampling: RowSampling;
    priority?: number;
    cacheSalt?: string | null;
    skipPrefixCache?: boolean;
    prefillLeader?: Sequence | null;
  }) {
    this.id = init.id;
    this.arrivalIndex = init.arrivalIndex;
    this.priority = init.priority ?? 0;
    this.cacheSalt = init.cacheSalt ?? null;
    this.skipPrefixCache = init.skipPrefixCache ?? false;
    this.promptLength = init.promptTokenIds.length;
    this.tokenIds = init.promptTokenIds.slice();
    this.sampling = init.sampling;
    this.prefillLeader = init.prefillLeader ?? null;
    this.sampling.promptTokenIds = this.tokenIds.slice(0, this.promptLength);
    this.sampling.outputTokenIds = this.outputTokenIds;
  }

  get numTokens(): number {
    return this.tokenIds.length;
  }

  appendOutputToken(tokenId: number): void {
    this.tokenIds.push(tokenId);
    this.outputTokenIds.push(tokenId);
  }
}
