// Messages between the mask worker pool (engine thread) and its worker threads.
import type { StructuredConstraint } from '../../engine/types.js';
import type { PackedVocab } from './vocab-transfer.js';

export interface MaskWorkerInit {
  vocab: PackedVocab;
  /** the provider's compile cache size (the same semantics as the engine thread's provider) */
  maxCompiled: number;
  /** the pool's progress word (row-claims.ts newProgress): bumped after each row marked written */
  progress: SharedArrayBuffer;
}

/** one request's row: bring its mirror up to date, then write its mask into the shared bitmask */
export interface MirrorRow {
  /** the request's id within the pool */
  key: number;
  /** present when the worker has no mirror for the key yet: compile (cached) and start one */
  constraint?: StructuredConstraint;
  /** tokens accepted since the mirror's last sync (the whole output when the constraint is sent) */
  tokens: number[];
  /** where the row starts in the bitmask (in int32 words) */
  offset: number;
  /** the row's word in the fill's claims (row-claims.ts): the worker computes the mask only if it claims it first */
  claim: number;
}

export type ToWorker =
  /** `claims`: one word per row of the engine's fill (all workers' rows), see row-claims.ts */
  | { type: 'fill'; id: number; bitmask: SharedArrayBuffer; claims: SharedArrayBuffer; rows: MirrorRow[] }
  /**
   * a new request: compile its constraint, start its mirror and compute its first mask now (into the worker's mask
   * cache), before its first step needs it; then, once idle, build its lexemes' automata
   */
  | { type: 'mirror'; key: number; constraint: StructuredConstraint }
  | { type: 'drop'; keys: number[] };

/** where a worker's time on one fill went, ms (benchmarks read it) */
export interface FillParts {
  /** feeding the mirrors the rows' tokens, and how many */
  syncMs: number;
  tokens: number;
  /** the masks computed here (shared lexer walks included), and those copied from this thread's cache */
  computeMs: number;
  copyMs: number;
  /** of computeMs: shared lexer walks made (lexer-walk.ts; each thread keeps its own) */
  walks: number;
  walkMs: number;
  /** lexer DFA states built (the thread's shared lexer: shared-lexer.ts) */
  dfaStates: number;
  /** collection pauses on the thread since its previous answer (not all inside this fill), and of them all but scavenges */
  gcMs: number;
  gcMajorMs: number;
}

export function emptyFillParts(): FillParts {
  return { syncMs: 0, tokens: 0, computeMs: 0, copyMs: 0, walks: 0, walkMs: 0, dfaStates: 0, gcMs: 0, gcMajorMs: 0 };
}

export type FromWorker =
  | { type: 'ready' }
  /**
   * per row: null = filled (or left to the engine thread, which claimed it first), else the error message (the worker then holds no mirror for that key); `computed`: rows
   * whose mask the worker computed (the others were copies from its cache); `automataBuilt`: lexeme automata built
   * while computing them; `idleJobs`: mirrored grammars whose automata are still to be built when idle; `busyMs`:
   * from reading the message to answering it, which began at `startedAt` (performance.timeOrigin + performance.now(),
   * comparable across threads); `busyUntil`: when the thread last finished other work before it (same clock; 0:
   * none), so a late start tells waiting behind that work from waking up; `slowestRowMs`: its slowest row; `walkDiffs`: per row filled, its mask's StoredMask.walkDiff (null: kept
   * whole, or not filled), which lets the engine thread cache the mask without comparing its words; `parts`: where
   * the fill's time went (FillParts)
   */
  | { type: 'filled'; id: number; errors: Array<string | null>; walkDiffs: Array<Int32Array | null>; computed: number; parts: FillParts; automataBuilt: number; idleJobs: number; busyMs: number; slowestRowMs: number; startedAt: number; busyUntil: number };
