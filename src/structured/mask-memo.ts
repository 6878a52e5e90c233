// Masks reused across parser states by what the parser answered. A mask that needs the parser (a lexeme may end
// inside a token) asks it only one thing, over and over: from this set of the chart, does a scan of these lexemes
// succeed, and where does the next lexeme's lexer start then (a DFA state of the shared lexer)? The trie walk sees
// nothing else of the parser, so two parser states that answer every question a mask's computation asked alike
// give that mask bit for bit, whatever else differs between them (the property that comes next, how deep the
// value is nested, which grammar it is). A first request meets a new parser state at nearly every lexeme end, so
// its masks there were computed every time (on the 2-core box, 42 % of first-request masks, p50 ~15 µs), though
// most equalled a mask computed before. Each computation's questions and answers are noted here (a ScanTrace),
// kept with the mask under its state's mask class, and a new state asks the same questions again (the parser's
// work only, no trie walk) to find a mask that is exactly its own.
import type { StoredMask } from './mask-store.js';

/** questions a trace notes at most: a mask asking more is not kept (the replay would cost what the walk does) */
const MAX_TRACE = 64;
/** masks kept per mask class, the oldest dropped first */
const MAX_PER_CLASS = 8;
/**
 * classes kept per store, the oldest dropped first (a grammar keeps its lists while it lives): a class's masks hold
 * its lexer walk's 19 KB mask (Qwen3's vocabulary), which the walk cache may have dropped. mask-bench's 200 schemas
 * (40 per subset) met 1,407 classes with 1,957 masks kept, ~160 words of their own each.
 */
const MAX_CLASSES = 1024;
/** a mask holding more words of its own (StoredMask.ownWords) is not kept: at most 4 KB each */
const MAX_OWN_WORDS = 1024;

/**
 * One mask's questions, in the order first asked. Question n was asked from the set that question parent[n]'s
 * scan made (-1: the set the mask started from); `query`: the lexemes scanned, as -1 - g for the lexer walk's
 * boundary group g, else the DFA state whose accepted lexemes they were; `answer`: the DFA state where the next
 * lexeme starts after the scan, or -1 where it failed. Parents come before their children.
 */
export interface MemoTrace {
  parent: Int32Array;
  query: Int32Array;
  answer: Int32Array;
  /** whether end of sequence was allowed */
  eos: boolean;
}

export interface MemoEntry extends MemoTrace {
  mask: StoredMask;
}

/** notes one computation's questions (one per thread computes at a time: reset before each) */
export class ScanTrace {
  private parent = new Int32Array(MAX_TRACE);
  private query = new Int32Array(MAX_TRACE);
  private answer = new Int32Array(MAX_TRACE);
  private count = 0;
  /** more than MAX_TRACE questions: not kept */
  private overflow = false;
  /** per chart set above the start: the question whose scan made it */
  private nodeOfSet = new Int32Array(16);

  /** a new computation from chart set `baseSet` (its index) */
  reset(baseSet: number): void {
    this.count = 0;
    this.overflow = false;
    this.ensure(baseSet + 1);
    this.nodeOfSet[baseSet] = -1;
  }

  /**
   * A scan from chart set `set` of lexemes `query` (see MemoTrace) answered `answer`. A question asked before (same
   * set, same lexemes) is not noted again; a successful scan's new set (set + 1) is the question's from now on.
   */
  note(set: number, query: number, answer: number): void {
    const parent = this.nodeOfSet[set]!;
    const { parent: ps, query: qs } = this;
    let n = this.count - 1;
    while (n >= 0 && (qs[n] !== query || ps[n] !== parent)) n--;
    if (n < 0) {
      if (this.count === MAX_TRACE) {
        this.overflow = true;
        return;
      }
      n = this.count++;
      ps[n] = parent;
      qs[n] = query;
      this.answer[n] = answer;
    }
    if (answer >= 0) {
      this.ensure(set + 2);
      this.nodeOfSet[set + 1] = n;
    }
  }

  /** the trace as kept with its mask, or null where it overflowed */
  entry(eos: boolean, mask: StoredMask): MemoEntry | null {
    if (this.overflow) return null;
    const n = this.count;
    return { parent: this.parent.slice(0, n), query: this.query.slice(0, n), answer: this.answer.slice(0, n), eos, mask };
  }

  private ensure(sets: number): void {
    if (this.nodeOfSet.length < sets) {
      const grown = new Int32Array(2 * sets);
      grown.set(this.nodeOfSet);
      this.nodeOfSet = grown;
    }
  }
}

/** the masks kept per mask class, for every grammar over one walk cache and shared lexer (state-classes.ts) */
export class MaskMemos {
  private readonly byClass = new Map<string, MemoEntry[]>();
  /** masks found here instead of computed (benchmarks and tests read it) */
  reused = 0;

  /** the class's list (the same array from then on: grammars keep it per class id) */
  list(classKey: string): MemoEntry[] {
    let l = this.byClass.get(classKey);
    if (!l) {
      if (this.byClass.size >= MAX_CLASSES) this.byClass.delete(this.byClass.keys().next().value!);
      this.byClass.set(classKey, (l = []));
    }
    return l;
  }

  get classes(): number {
    return this.byClass.size;
  }
}

/** keep `e` at the front of its class's list, the oldest dropped (a mask of many own words is not kept) */
export function remember(list: MemoEntry[], e: MemoEntry): void {
  if (e.mask.ownWords > MAX_OWN_WORDS) return;
  if (list.length >= MAX_PER_CLASS) list.pop();
  list.unshift(e);
}
