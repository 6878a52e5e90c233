// Earley parser over lexemes with the Aycock–Horspool nullable fix. The chart is a stack of item sets in flat
// typed arrays: scanning pushes a set, truncate() pops back (the token-trie walk uses this to backtrack without
// allocating). Each set knows its allowed lexemes (as the lexer DFA's initial state) and whether it accepts.
import { sortAscending } from './sort-ascending.js';
import { Grammar, lexemeOf } from './grammar.js';

/** where a lexer starts: the DFA state before the first byte of any of a set of lexemes */
export interface LexerStarts {
  /** `lexemes`: the grammar's ids, sorted (the first `count` of them) */
  initial(lexemes: ArrayLike<number>, count: number): number;
}

/**
 * First capacities of the chart and of the scratch arrays below: small on purpose, so that every parser grows them
 * within its first few masks and the provider's warm-up request runs the growing code. With room for a typical
 * output (1024 items, 256 sets), the first parser of a process to outgrow one ran that code for the first time
 * mid-request, which V8 answers by throwing away the optimized code of the whole mask path (the array's field stops
 * being constant, the branch had no type feedback): the next dozen or so masks ran unoptimized, 5-10 times slower.
 */
const FIRST_ITEMS = 32;
const FIRST_SETS = 8;
/** duplicates table slots (kept at most half full) and keyOf's items */
const FIRST_SLOTS = 8;
const FIRST_KEY_ITEMS = 2;

export class EarleyParser {
  private iRule = new Int32Array(FIRST_ITEMS);
  private iDot = new Int32Array(FIRST_ITEMS);
  private iOrigin = new Int32Array(FIRST_ITEMS);
  private nItems = 0;
  private setStart = new Int32Array(FIRST_SETS);
  private setLexState = new Int32Array(FIRST_SETS);
  private setAccepting = new Uint8Array(FIRST_SETS);
  private setKey = new Int32Array(FIRST_SETS);
  /** per set k: the accepting lexemes its successor set k+1 was last scanned with (null = none cached) */
  private scannedWith: Array<Int32Array | null> = [];
  /**
   * per set k: lexemes a scan from it last found nothing for (null = none): the trie walk asks the same failing
   * scan at every sibling node that ends a lexeme, and a failing scan looks at every item of the set
   */
  private failedWith: Array<Int32Array | null> = [];
  private nSets = 0;
  /**
   * The items of the set being built, for finding duplicates: an open-addressing table of item indices, valid where
   * its slot's stamp is the current one (a new set takes a new stamp instead of clearing). A Set of the items' keys
   * allocated a heap number per key (they pass 2^31) and a new table per set.
   */
  private dedupeSlots = new Int32Array(FIRST_SLOTS);
  private dedupeStamps = new Int32Array(FIRST_SLOTS);
  private dedupeStamp = 0;
  /** the first item of the set being built, and how many it has */
  private dedupeFrom = 0;
  private dedupeCount = 0;
  /** keyOf's scratch: (rule, dot, origin's key or -1 for the set itself) per item */
  private keyParts = new Int32Array(3 * FIRST_KEY_ITEMS);
  private readonly predictedStamp: Int32Array;
  private readonly lexStamp: Int32Array;
  private stamp = 0;
  /** a set's allowed lexemes, the first of them (kept at its size: `length = 0` would free it, and push allocate again) */
  private readonly allowed: number[] = [];
  /** total items created, for bounding the work of one mask */
  work = 0;

  constructor(
    readonly g: Grammar,
    private readonly starts: LexerStarts,
    private readonly keys: SetKeyInterner,
  ) {
    this.predictedStamp = new Int32Array(g.ntCount);
    this.lexStamp = new Int32Array(g.lexemes.count);
    this.setStart[0] = 0;
    this.startSet();
    this.addItem(0, 0, 0);
    this.nSets = 1;
    this.closeSet(0);
  }

  get setCount(): number {
    return this.nSets;
  }
  /** the lexer DFA state at the start of the next lexeme */
  get lexState(): number {
    return this.setLexState[this.nSets - 1]!;
  }
  get accepting(): boolean {
    return this.setAccepting[this.nSets - 1] === 1;
  }

  truncate(nSets: number): void {
    this.nSets = nSets;
    this.nItems = this.setStart[nSets]!;
  }

  /** push the set after one of `lexemes` (sorted ids ending at the same byte); false (nothing pushed) if none fits */
  scan(lexemes: Int32Array): boolean {
    const g = this.g;
    const k = this.nSets - 1;
    const from = this.setStart[k]!;
    const to = this.nItems;
    // the token-trie walk scans the same lexemes from the same set over and over: reuse the set still in place
    const prev = this.scannedWith[k];
    if (prev && sameIds(prev, lexemes)) {
      this.nSets = k + 2;
      this.nItems = this.setStart[k + 2]!;
      return true;
    }
    const failed = this.failedWith[k];
    if (failed && sameIds(failed, lexemes)) return false;
    // set k+1 is rebuilt below: what was noted of it and of the sets after it no longer holds
    for (let j = k; j < this.scannedWith.length; j++) this.scannedWith[j] = null;
    for (let j = k + 1; j < this.failedWith.length; j++) this.failedWith[j] = null;
    this.ensureSets(k + 2);
    this.setStart[k + 1] = to;
    this.nSets = k + 2;
    this.startSet();
    for (let i = from; i < to; i++) {
      const r = this.iRule[i]!;
      const d = this.iDot[i]!;
      if (d >= g.ruleLen[r]!) continue;
      const s = g.rhs[g.ruleStart[r]! + d]!;
      if (s >= 0) continue;
      const lex = lexemeOf(s);
      for (let j = 0; j < lexemes.length; j++) {
        if (lexemes[j] === lex) {
          this.addItem(r, d + 1, this.iOrigin[i]!);
          break;
        }
      }
    }
    if (this.nItems === to) {
      this.nSets = k + 1;
      this.failedWith[k] = lexemes;
      return false;
    }
    this.closeSet(k + 1);
    this.scannedWith[k] = lexemes;
    return true;
  }

  private closeSet(k: number): void {
    const g = this.g;
    const st = ++this.stamp;
    const allowed = this.allowed;
    let nAllowed = 0;
    let accepting = 0;
    for (let i = this.setStart[k]!; i < this.nItems; i++) {
      const r = this.iRule[i]!;
      const d = this.iDot[i]!;
      const origin = this.iOrigin[i]!;
      if (d >= g.ruleLen[r]!) {
        const a = g.ruleLhs[r]!;
        if (r === 0 && origin === 0) accepting = 1;
        // complete: advance the items of the origin set waiting for `a`
        const oEnd = origin === k ? this.nItems : this.setStart[origin + 1]!;
        for (let j = this.setStart[origin]!; j < oEnd; j++) {
          const r2 = this.iRule[j]!;
          const d2 = this.iDot[j]!;
          if (d2 < g.ruleLen[r2]! && g.rhs[g.ruleStart[r2]! + d2] === a) this.addItem(r2, d2 + 1, this.iOrigin[j]!);
        }
        continue;
      }
      const s = g.rhs[g.ruleStart[r]! + d]!;
      if (s < 0) {
        const lex = lexemeOf(s);
        if (this.lexStamp[lex] !== st) {
          this.lexStamp[lex] = st;
          if (nAllowed < allowed.length) allowed[nAllowed] = lex;
          else allowed.push(lex);
          nAllowed++;
        }
        continue;
      }
      if (this.predictedStamp[s] !== st) {
        this.predictedStamp[s] = st;
        for (let q = g.ntRuleStart[s]!; q < g.ntRuleStart[s + 1]!; q++) this.addItem(g.ntRules[q]!, 0, k);
      }
      if (g.ntNullable[s]) this.addItem(r, d + 1, origin);
    }
    sortAscending(allowed, nAllowed);
    this.setLexState[k] = this.starts.initial(allowed, nAllowed);
    this.setAccepting[k] = accepting;
    this.setKey[k] = -1;
    this.setStart[k + 1] = this.nItems;
  }

  /** the items added from now on form a new set: forget the previous set's for finding duplicates */
  private startSet(): void {
    if (this.dedupeStamp === 0x3fffffff) {
      this.dedupeStamps.fill(0);
      this.dedupeStamp = 0;
    }
    this.dedupeStamp++;
    this.dedupeFrom = this.nItems;
    this.dedupeCount = 0;
  }

  /** the item's slot in the duplicates table: where it is, or the free slot where it goes */
  private dedupeSlot(r: number, d: number, origin: number): number {
    const slots = this.dedupeSlots;
    const stamps = this.dedupeStamps;
    const mask = slots.length - 1;
    const stamp = this.dedupeStamp;
    let h = Math.imul(Math.imul(r, 0x9e3779b1) ^ Math.imul(d, 0x85ebca6b) ^ Math.imul(origin, 0xc2b2ae35), 0x27d4eb2f);
    h = (h ^ (h >>> 15)) & mask;
    while (stamps[h] === stamp) {
      const j = slots[h]!;
      if (this.iRule[j] === r && this.iDot[j] === d && this.iOrigin[j] === origin) return h;
      h = (h + 1) & mask;
    }
    return h;
  }

  /** a table twice as large, holding the set's items so far (kept at most half full) */
  private growDedupe(): void {
    this.dedupeSlots = new Int32Array(this.dedupeSlots.length * 2);
    this.dedupeStamps = new Int32Array(this.dedupeStamps.length * 2);
    for (let j = this.dedupeFrom; j < this.nItems; j++) {
      const h = this.dedupeSlot(this.iRule[j]!, this.iDot[j]!, this.iOrigin[j]!);
      this.dedupeStamps[h] = this.dedupeStamp;
      this.dedupeSlots[h] = j;
    }
  }

  private addItem(r: number, d: number, origin: number): void {
    const h = this.dedupeSlot(r, d, origin);
    if (this.dedupeStamps[h] === this.dedupeStamp) return;
    this.dedupeStamps[h] = this.dedupeStamp;
    this.dedupeSlots[h] = this.nItems;
    if (this.nItems >= this.iRule.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.iRule = grow(this.iRule);
      this.iDot = grow(this.iDot);
      this.iOrigin = grow(this.iOrigin);
    }
    this.iRule[this.nItems] = r;
    this.iDot[this.nItems] = d;
    this.iOrigin[this.nItems] = origin;
    this.nItems++;
    this.work++;
    if (++this.dedupeCount * 2 > this.dedupeSlots.length) this.growDedupe();
  }

  private ensureSets(n: number): void {
    if (n + 1 < this.setStart.length) return;
    const grow = <T extends Int32Array | Uint8Array>(a: T): T => {
      const b = new (a.constructor as { new (n: number): T })(a.length * 2);
      b.set(a);
      return b;
    };
    this.setStart = grow(this.setStart);
    this.setLexState = grow(this.setLexState);
    this.setAccepting = grow(this.setAccepting);
    this.setKey = grow(this.setKey);
  }

  /**
   * A canonical id of the parse state at the top set: equal ids mean equal futures (same items, origins
   * canonicalized recursively), so masks computed for one request serve every request in the same state.
   */
  stateKey(): number {
    return this.keyOf(this.nSets - 1);
  }

  private keyOf(k: number): number {
    const hit = this.setKey[k]!;
    if (hit >= 0) return hit;
    const from = this.setStart[k]!;
    const n = this.setStart[k + 1]! - from;
    // the origins' keys first (recursively: they fill the scratch themselves), then this set's parts
    for (let i = from; i < from + n; i++) {
      const o = this.iOrigin[i]!;
      if (o !== k) this.keyOf(o);
    }
    if (this.keyParts.length < 3 * n) this.keyParts = new Int32Array(6 * n);
    const parts = this.keyParts;
    for (let j = 0; j < n; j++) {
      const o = this.iOrigin[from + j]!;
      parts[3 * j] = this.iRule[from + j]!;
      parts[3 * j + 1] = this.iDot[from + j]!;
      parts[3 * j + 2] = o === k ? -1 : this.setKey[o]!;
    }
    const id = this.keys.intern(parts, n);
    this.setKey[k] = id;
    return id;
  }
}

function sameIds(a: Int32Array, b: Int32Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Ids of item sets by content: a set is its items as (rule, dot, origin's id or -1 for the set itself) triples, in
 * any order. Equal multisets of triples get equal ids.
 */
export class SetKeyInterner {
  /**
   * the sets' canonical (sorted) triples back to back, set `id`'s from tripleStart[id] (3 ints per item, itemCount[id]
   * items); the sets whose hash falls in one bucket of `heads` (open hashing, power-of-two size, at most half as many
   * sets as buckets) chained from its head through `nextInBucket`, each set's full hash kept to skip the others. Most
   * sets a first request keys are new ones: flat arrays spare each an array, an entry object and a bucket of its own,
   * and a Map keyed by 32-bit hashes boxed half of them (outside V8's small-integer range) on every lookup.
   */
  private triples = new Int32Array(3 * 64);
  private triplesUsed = 0;
  private tripleStart = new Int32Array(16);
  private itemCount = new Int32Array(16);
  private nextInBucket = new Int32Array(16);
  private hashOf = new Int32Array(16);
  private heads = new Int32Array(64).fill(-1);
  private count = 0;
  /** sort scratch: triple indices, and the triples they index while sorting */
  private order = new Int32Array(FIRST_KEY_ITEMS);
  private sorting: Int32Array = new Int32Array(0);
  /** one comparator for every call (a closure made per call gives V8 a new call target each time: deopts) */
  private readonly byTriple = (a: number, b: number): number => compareTriples(this.sorting, a, b);

  get size(): number {
    return this.count;
  }

  /** the id of the set whose triples are parts[0 .. 3n) (read only; parts may be the caller's scratch) */
  intern(parts: Int32Array, n: number): number {
    if (this.order.length < n) this.order = new Int32Array(2 * n);
    const order = this.order;
    if (n <= INSERTION_SORT_ITEMS) {
      // most sets hold a handful of items: a sort with a comparator costs more in calls than the sort itself
      for (let j = 0; j < n; j++) {
        let k = j;
        for (; k > 0 && compareTriples(parts, order[k - 1]!, j) > 0; k--) order[k] = order[k - 1]!;
        order[k] = j;
      }
    } else {
      for (let j = 0; j < n; j++) order[j] = j;
      this.sorting = parts;
      order.subarray(0, n).sort(this.byTriple);
    }
    let h = 0x811c9dc5 ^ n;
    for (let j = 0; j < n; j++) {
      const t = 3 * order[j]!;
      h = Math.imul(h ^ parts[t]!, 0x01000193);
      h = Math.imul(h ^ parts[t + 1]!, 0x01000193);
      h = Math.imul(h ^ parts[t + 2]!, 0x01000193);
    }
    for (let e = this.heads[h & (this.heads.length - 1)]!; e >= 0; e = this.nextInBucket[e]!) {
      if (this.hashOf[e] === h && this.itemCount[e] === n && sameTriples(this.triples, this.tripleStart[e]!, parts, order, n)) return e;
    }
    const id = this.count++;
    if (id === this.tripleStart.length) {
      this.tripleStart = grown(this.tripleStart, 2 * id);
      this.itemCount = grown(this.itemCount, 2 * id);
      this.nextInBucket = grown(this.nextInBucket, 2 * id);
      this.hashOf = grown(this.hashOf, 2 * id);
    }
    if (2 * this.count > this.heads.length) this.rehash(2 * this.heads.length);
    let at = this.triplesUsed;
    if (at + 3 * n > this.triples.length) this.triples = grown(this.triples, 2 * (at + 3 * n));
    this.tripleStart[id] = at;
    this.itemCount[id] = n;
    this.hashOf[id] = h;
    const bucket = h & (this.heads.length - 1);
    this.nextInBucket[id] = this.heads[bucket]!;
    this.heads[bucket] = id;
    const triples = this.triples;
    for (let j = 0; j < n; j++) {
      const t = 3 * order[j]!;
      triples[at++] = parts[t]!;
      triples[at++] = parts[t + 1]!;
      triples[at++] = parts[t + 2]!;
    }
    this.triplesUsed = at;
    return id;
  }

  /** `size` buckets (a power of two), every set chained again (ids below `count`: the one being added is not yet) */
  private rehash(size: number): void {
    this.heads = new Int32Array(size).fill(-1);
    for (let e = 0; e < this.count - 1; e++) {
      const bucket = this.hashOf[e]! & (size - 1);
      this.nextInBucket[e] = this.heads[bucket]!;
      this.heads[bucket] = e;
    }
  }
}

/** sets of at most this many items are sorted by insertion (a set's items: p50 4, p90 9 in JSONSchemaBench outputs) */
const INSERTION_SORT_ITEMS = 24;

/** triple a of `parts` against triple b: rule, then dot, then origin */
function compareTriples(parts: Int32Array, a: number, b: number): number {
  const x = 3 * a;
  const y = 3 * b;
  return parts[x]! - parts[y]! || parts[x + 1]! - parts[y + 1]! || parts[x + 2]! - parts[y + 2]!;
}

/** are the n triples of `triples` from `at` those of `parts` taken in `order` */
function sameTriples(triples: Int32Array, at: number, parts: Int32Array, order: Int32Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    const t = 3 * order[j]!;
    const x = at + 3 * j;
    if (triples[x] !== parts[t] || triples[x + 1] !== parts[t + 1] || triples[x + 2] !== parts[t + 2]) return false;
  }
  return true;
}

/** `a` copied into a new array of `size` ints */
function grown(a: Int32Array, size: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(size);
  b.set(a);
  return b;
}

