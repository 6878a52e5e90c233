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
/**
 * A class's masks are kept by the answer to its first question (every computation of a class asks the same first
 * question: no answer is known yet to make them differ), so a new state asks that once and replays only the traces
 * answered alike there: at most this many per answer, and this many answers per class, the oldest dropped first
 */
const MAX_PER_ANSWER = 8;
const MAX_ANSWERS = 32;
/**
 * masks kept per store: a full store drops its oldest class (a grammar keeps its lists while it lives). mask-bench's
 * 200 schemas (40 per subset) met 1,407 classes, whose masks hold ~160 words of their own each; each class's also
 * hold its lexer walk's 19 KB mask (Qwen3's vocabulary), which the walk cache may have dropped.
 */
const MAX_ENTRIES = 8192;
const MAX_CLASSES = 1024;
/** a mask holding more words of its own (StoredMask.ownWords) is not kept: at most 4 KB each */
const MAX_OWN_WORDS = 1024;
/** the bounds above, for tests */
export const MEMO_LIMITS = { MAX_PER_ANSWER, MAX_ANSWERS, MAX_ENTRIES, MAX_CLASSES, MAX_OWN_WORDS } as const;
/** the first question of a class whose masks ask none (they depend on end of sequence only) */
export const NO_QUESTION = 0x7fffffff;

/**
 * One mask's questions, in the order first asked, as triples (parent, query, answer) back to back. Question n was
 * asked from the set that question `parent`'s scan made (-1: the set the mask started from); `query`: the lexemes
 * scanned, as -1 - g for the lexer walk's boundary group g, else the DFA state whose accepted lexemes they were;
 * `answer`: the DFA state where the next lexeme starts after the scan, or -1 where it failed. Parents come before
 * their children. (A plain array: the typed arrays of a first version cost a microsecond or so each to allocate, for
 * every mask computed.)
 */
export interface MemoEntry {
  questions: number[];
  /** whether end of sequence was allowed */
  eos: boolean;
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
   * A scan from chart set `set` of lexemes `query` (see MemoEntry) answered `answer`. A question asked before (same
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
    const questions: number[] = [];
    for (let n = 0; n < this.count; n++) questions.push(this.parent[n]!, this.query[n]!, this.answer[n]!);
    return { questions, eos, mask };
  }

  private ensure(sets: number): void {
    if (this.nodeOfSet.length < sets) {
      const grown = new Int32Array(2 * sets);
      grown.set(this.nodeOfSet);
      this.nodeOfSet = grown;
    }
  }
}

/** the masks kept of one mask class (see MAX_PER_ANSWER) */
export class MemoClass {
  /** the class's first question (MemoEntry's query), NO_QUESTION, or null before the first mask is kept */
  firstQuery: number | null = null;
  private readonly byAnswer = new Map<number, MemoEntry[]>();
  size = 0;
  /** still counted by its store (a dropped class lives on in the grammars that met it, bounded by itself) */
  inStore = true;

  /** the masks whose first question was answered `answer` (NO_QUESTION: those that asked none), newest first */
  withFirstAnswer(answer: number): MemoEntry[] | undefined {
    return this.byAnswer.get(answer);
  }

  /** keep `e`; false where it is not kept (many own words, or a first question other than the class's) */
  add(e: MemoEntry): boolean {
    if (e.mask.ownWords > MAX_OWN_WORDS) return false;
    const q = e.questions.length > 0 ? e.questions[1]! : NO_QUESTION;
    if (this.firstQuery === null) this.firstQuery = q;
    else if (this.firstQuery !== q) return false;
    const a = q === NO_QUESTION ? NO_QUESTION : e.questions[2]!;
    let l = this.byAnswer.get(a);
    if (!l) {
      if (this.byAnswer.size >= MAX_ANSWERS) {
        const [oldest, dropped] = this.byAnswer.entries().next().value!;
        this.byAnswer.delete(oldest);
        this.size -= dropped.length;
      }
      this.byAnswer.set(a, (l = []));
    }
    if (l.length >= MAX_PER_ANSWER) {
      l.pop();
      this.size--;
    }
    l.unshift(e);
    this.size++;
    return true;
  }
}

/** the masks kept per mask class, for every grammar over one walk cache and shared lexer (state-classes.ts) */
export class MaskMemos {
  private readonly byClass = new Map<string, MemoClass>();
  private entries = 0;
  /** masks found here instead of computed (benchmarks and tests read it) */
  reused = 0;

  /** the class's masks (the same object from then on: grammars keep it per class id) */
  forClass(classKey: string): MemoClass {
    let c = this.byClass.get(classKey);
    if (!c) {
      if (this.byClass.size >= MAX_CLASSES) this.dropOldest();
      this.byClass.set(classKey, (c = new MemoClass()));
    }
    return c;
  }

  /** keep `e` in class `c` (from forClass) */
  remember(c: MemoClass, e: MemoEntry): void {
    const before = c.size;
    if (!c.add(e) || !c.inStore) return;
    this.entries += c.size - before;
    while (this.entries > MAX_ENTRIES && this.byClass.size > 1) this.dropOldest();
  }

  get classes(): number {
    return this.byClass.size;
  }

  /** masks kept in the classes still counted (tests read it) */
  get size(): number {
    return this.entries;
  }

  private dropOldest(): void {
    const [key, c] = this.byClass.entries().next().value!;
    this.byClass.delete(key);
    c.inStore = false;
    this.entries -= c.size;
  }
}
