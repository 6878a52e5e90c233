// Lexemes compiled to byte-level NFAs (Thompson construction), then trimmed so that every kept state can
// still reach its lexeme's accepting state: a non-empty set of NFA states therefore always has a completion.
// Edges are collected in flat lists and turned into CSR arrays once, which keeps compiling cheap.
// A repetition of one character class (`[a-z]{3,200}`, a string body under maxLength) is not copied `max` times:
// it becomes a counted region, one loop state whose outgoing edges each start a character ("tick"), with its
// bounds checked by a counter that the lexer DFA carries next to the NFA state (see lexer-dfa.ts).
// A pattern under minLength/maxLength (`len`) is one counted region too: the pattern's states, where every character
// start counts, instead of its product with a copied `.{min,max}` (an email under maxLength 255 passed 20,000 states).
import { ANY_CHAR, RNode, containsKind, intersectRanges, rep, subtractRanges } from './regex-ast.js';
import { utf8Sequences, ByteRangeSeq } from './utf8.js';
import { analyzeLengthRegion } from './length-region-analysis.js';

/** how a character is spelled in bytes: plain UTF-8, or as it must appear inside a JSON string literal */
export type Spelling = 'raw' | 'json';

// JSON.stringify's escapes: the canonical (and only accepted) spelling of these characters in a JSON string
const JSON_ESCAPED = [0x00, 0x1f, 0x22, 0x22, 0x5c, 0x5c];
const NON_ASCII = [0x80, 0x10ffff];
const SHORT_ESCAPES: Record<number, string> = { 8: 'b', 9: 't', 10: 'n', 12: 'f', 13: 'r', 0x22: '"', 0x5c: '\\' };
export function jsonEscapeOf(cp: number): string {
  return SHORT_ESCAPES[cp] !== undefined ? '\\' + SHORT_ESCAPES[cp] : '\\u' + cp.toString(16).padStart(4, '0');
}

const MAX_NFA_STATES = 4_000_000;

/** thrown when a build passes the state budget its caller gave (see LexemeNfa's constructor) */
export class StateBudgetExceeded extends Error {
  constructor(readonly budget: number) {
    super(`internal: lexeme automaton over its budget of ${budget} states`);
  }
}

/**
 * State flags for splitting lexer walks inside JSON strings (string-body-split.ts). QUOTED_BODY: a character
 * boundary inside a JSON-spelled body that is closed by a raw `"`: every continuation without a `"` byte that
 * stays alive is a prefix of canonical JSON string-body text, and none reaches the lexeme's end. ANY_BODY (with
 * QUOTED_BODY): moreover every such prefix stays alive (any character may follow; for the loop state of a
 * counted region with a finite max, only while the count leaves room).
 */
export const QUOTED_BODY = 1;
export const ANY_BODY = 2;
const MAX_PRODUCT_STATES = 20_000;
/** counts of a counted region stay below this (the lexer DFA packs them into its configurations) */
export const MAX_REGION_COUNT = 2000;

/**
 * Is this repetition built as a counted region (a loop plus a counter) rather than copied. The class must have a
 * character in any spelling: then a count below min can always grow, so every reachable count has a completion.
 */
export function isCountedRep(n: RNode): boolean {
  return (
    n.k === 'rep' &&
    n.x.k === 'cls' &&
    !classIsEmpty(n.x.r, 'raw') &&
    n.min <= MAX_REGION_COUNT &&
    (n.max === Infinity || (n.max <= MAX_REGION_COUNT && n.max - n.min >= 4))
  );
}

/**
 * Can `x` be built as a length region: its characters all come from classes (buildClass counts them), with no
 * intersection, name trie or second length inside.
 */
export function isRegionPattern(x: RNode): boolean {
  return !containsKind(x, NOT_IN_REGIONS);
}
const NOT_IN_REGIONS: ReadonlyArray<RNode['k']> = ['and', 'notOneOf', 'len'];

// the arrays of a LexemeNfa before finalize() (shared: nothing can be written to an empty array)
const NO_INTS = new Int32Array(0);
const NO_BYTES = new Uint8Array(0);

/**
 * Scratch for finalize() (never reentered: builds inside a build finish before it): fill cursors, the reverse
 * graph, the liveness stack. Typed arrays cost more to allocate than most small automata cost to build.
 */
let scratch = new Int32Array(1024);
/** larger scratch is not kept (a huge automaton's would stay allocated for the process's life) */
const MAX_KEPT_SCRATCH = 1 << 18;
function scratchOf(size: number): Int32Array {
  if (size > MAX_KEPT_SCRATCH) return new Int32Array(size);
  if (scratch.length < size) scratch = new Int32Array(Math.min(MAX_KEPT_SCRATCH, Math.max(size, scratch.length * 2)));
  return scratch;
}

export class LexemeNfa {
  private nStates = 0;
  // collected in plain arrays of small integers (cheaper to grow than typed arrays), turned into CSR by finalize
  /** epsilon edges as pairs from, to */
  private readonly epsPairs: number[] = [];
  /** byte edges as quadruples from, lo, hi, to */
  private readonly edQuads: number[] = [];
  private readonly stateLex: number[] = [];
  private readonly stateReg: number[] = [];
  private readonly stateFlag: number[] = [];
  /** > 0 while building a JSON-spelled body closed by a raw quote (its character boundaries get QUOTED_BODY) */
  private quotedBody = 0;
  private currentRegion = -1;
  /** bounds of each counted region (max may be Infinity: then the count saturates at min) */
  readonly regionMin: number[] = [];
  readonly regionMax: number[] = [];
  /** per state: its counted region or -1 */
  stateRegion = NO_INTS;
  /** per state: QUOTED_BODY / ANY_BODY bits */
  stateFlags = NO_INTS;
  /** per state: 1 where a character starts inside a counted region (each byte edge counts one; a loop state or a length region's class start) */
  isLoop = NO_BYTES;
  /** per counted region: a length region's first and last states (buildLengthRegion), or -1 for a counted repetition */
  readonly regionEntry: number[] = [];
  readonly regionEnd: number[] = [];
  /**
   * Length regions only (see analyzeLengthRegions): per state its feasibility profile or -1; per profile, 1 at count
   * c where a configuration (state, c) can still reach the region's end with a count within the bounds; per region,
   * each count's class (counts of one class are alike for every profile at the count and at the next one) and the
   * number of classes. A counted repetition's region has an empty class list.
   */
  stateProfile = NO_INTS;
  profileFeasible: Uint8Array[] = [];
  regionCountClass: Int32Array[] = [];
  regionClassCount: number[] = [];
  /** per length region: the most characters any of its states needs at least to reach the end (0 for others) */
  regionMaxMinLen: number[] = [];
  private readonly loopStates: number[] = [];
  readonly lexStart: number[] = [];
  readonly lexAccept: number[] = [];
  readonly lexNullable: boolean[] = [];
  /** CSR after finalize(): byte edges of state q are edgeLo/Hi/To[edgeStart[q] .. edgeStart[q+1]) */
  edgeStart = NO_INTS;
  edgeLo = NO_BYTES;
  edgeHi = NO_BYTES;
  edgeTo = NO_INTS;
  /** CSR after finalize(): epsilon edges of state q go to epsTarget[epsStart[q] .. epsStart[q+1]) */
  epsStart = NO_INTS;
  epsTarget = NO_INTS;
  stateLexeme = NO_INTS;
  private live: Uint8Array | null = null;
  private closures: Array<Int32Array | undefined> = [];
  private current = -1;

  /**
   * `counters` off: every repetition is copied (the product construction of `and` needs plain state sets).
   * `budget`: a build that needs more states throws StateBudgetExceeded (callers that may leave a lexeme for
   * later bound their work with it); the hard limit past which no lexeme is built is MAX_NFA_STATES.
   */
  constructor(
    private readonly counters = true,
    private readonly budget = MAX_NFA_STATES,
  ) {}

  get lexemeCount(): number {
    return this.lexStart.length;
  }
  get stateCount(): number {
    return this.nStates;
  }
  get liveStates(): Uint8Array {
    return this.live!;
  }

  add(node: RNode, spelling: Spelling, nullable: boolean): number {
    if (this.live) throw new Error('internal: lexemes added after the NFA was finalized');
    const id = this.lexStart.length;
    this.current = id;
    const s = this.newState();
    const e = this.build(node, spelling, s);
    this.lexStart.push(s);
    this.lexAccept.push(e);
    this.lexNullable.push(nullable);
    return id;
  }

  private newState(): number {
    return this.newStates(1, this.quotedBody > 0 ? QUOTED_BODY : 0);
  }
  /** `count` new states with these flags; returns the first */
  private newStates(count: number, flags: number): number {
    const first = this.nStates;
    if (first + count > MAX_NFA_STATES) throw new Error('structured output: lexer automaton too large (too many repetitions)');
    if (first + count > this.budget) throw new StateBudgetExceeded(this.budget);
    for (let i = 0; i < count; i++) {
      this.stateLex.push(this.current);
      this.stateReg.push(this.currentRegion);
      this.stateFlag.push(flags);
    }
    this.nStates = first + count;
    return first;
  }
  private eps(a: number, b: number): void {
    this.epsPairs.push(a, b);
  }
  private edge(a: number, lo: number, hi: number, b: number): void {
    this.edQuads.push(a, lo, hi, b);
  }

  private build(n: RNode, sp: Spelling, s: number): number {
    switch (n.k) {
      case 'cls':
        return this.buildClass(n.r, sp, s);
      case 'json':
        return this.build(n.x, 'json', s);
      case 'notOneOf':
        return this.buildNotOneOf(n.names, s);
      case 'and': {
        // product states may sit inside a character: no flags for them
        const quoted = this.quotedBody;
        this.quotedBody = 0;
        const e = this.buildAnd(n.xs, sp, s);
        this.quotedBody = quoted;
        return e;
      }
      case 'seq': {
        let cur = s;
        for (let i = 0; i < n.xs.length; i++) {
          const x = n.xs[i]!;
          const quoted = sp === 'raw' && x.k === 'json' && isQuote(n.xs[i + 1]);
          if (quoted) {
            // the body starts right here, at its first character boundary
            this.stateFlag[cur] |= QUOTED_BODY;
            this.quotedBody++;
          }
          cur = this.build(x, sp, cur);
          if (quoted) this.quotedBody--;
        }
        return cur;
      }
      case 'alt': {
        const e = this.newState();
        for (const x of n.xs) {
          const t = this.newState();
          this.eps(s, t);
          this.eps(this.build(x, sp, t), e);
        }
        return e;
      }
      case 'len':
        if (this.counters && this.currentRegion < 0 && isRegionPattern(n.x) && n.min <= MAX_REGION_COUNT && (n.max === Infinity || n.max <= MAX_REGION_COUNT)) return this.buildLengthRegion(n.x, n.min, n.max, sp, s);
        // no second counter inside a region, nor counters inside a product: the intersection, as any other
        return this.build({ k: 'and', xs: [n.x, rep(ANY_CHAR, n.min, n.max)] }, sp, s);
      case 'rep': {
        if (this.counters && this.currentRegion < 0 && isCountedRep(n)) return this.buildCounted(n.x as { k: 'cls'; r: number[] }, n.min, n.max, sp, s);
        let cur = s;
        for (let i = 0; i < n.min; i++) cur = this.build(n.x, sp, cur);
        if (n.max === Infinity) {
          const t = this.newState();
          this.eps(cur, t);
          this.eps(this.build(n.x, sp, t), t);
          return t;
        }
        if (n.max === n.min) return cur;
        const e = this.newState();
        for (let i = n.min; i < n.max; i++) {
          this.eps(cur, e);
          cur = this.build(n.x, sp, cur);
        }
        this.eps(cur, e);
        return e;
      }
    }
  }

  /** s -> loop state (count 0) -> one character per round (count + 1) -> exit once the count reaches min */
  private buildCounted(x: { k: 'cls'; r: number[] }, min: number, max: number, sp: Spelling, s: number): number {
    this.currentRegion = this.newRegion(min, max);
    // (its class's start, so it counts: see buildClass)
    const loop = this.newState();
    // any character: with a finite max, any only while the room left exceeds the longest token (LexerDfa checks)
    if (x.r.length === 2 && x.r[0] === 0 && x.r[1] === 0x10ffff) this.markAnyBody(loop);
    this.eps(s, loop);
    this.eps(this.buildClass(x.r, sp, loop), loop);
    this.currentRegion = -1;
    const exit = this.newState();
    this.eps(loop, exit);
    return exit;
  }

  /**
   * x restricted to min..max characters: x's states form one counted region, entered with count 0 from s, and
   * every character start inside it counts one (buildClass marks them); the exit needs the count at min. Inner
   * repetitions are copied (a configuration has one counter).
   */
  private buildLengthRegion(x: RNode, min: number, max: number, sp: Spelling, s: number): number {
    const region = this.newRegion(min, max);
    this.currentRegion = region;
    const entry = this.newState();
    this.eps(s, entry);
    const end = this.build(x, sp, entry);
    this.regionEntry[region] = entry;
    this.regionEnd[region] = end;
    this.currentRegion = -1;
    const exit = this.newState();
    this.eps(end, exit);
    return exit;
  }

  private newRegion(min: number, max: number): number {
    this.regionMin.push(min);
    this.regionMax.push(max);
    this.regionEntry.push(-1);
    this.regionEnd.push(-1);
    return this.regionMin.length - 1;
  }

  /**
   * Intersection by product construction: each operand is built into its own NFA, then the reachable tuples of
   * their state sets become states here (bytes with the same successor tuple share one edge).
   */
  private buildAnd(xs: RNode[], sp: Spelling, s: number): number {
    const parts = xs.map((x) => {
      const nfa = new LexemeNfa(false, this.budget);
      nfa.add(x, sp, false);
      nfa.finalize();
      return nfa;
    });
    const e = this.newState();
    const ids = new Map<string, number>();
    const queue: Int32Array[][] = [];
    const keyOf = (t: Int32Array[]) => t.map((x) => x.join(',')).join('|');
    const start = parts.map((p) => p.closure(p.lexStart[0]!));
    if (start.some((x) => x.length === 0)) return e;
    ids.set(keyOf(start), s);
    queue.push(start);
    while (queue.length) {
      const t = queue.pop()!;
      const from = ids.get(keyOf(t))!;
      if (parts.every((p, i) => t[i]!.includes(p.lexAccept[0]!))) this.eps(from, e);
      // bytes between two consecutive edge bounds of the tuple's states behave alike: one successor per span
      const cutSet = new Set<number>([0, 256]);
      for (let i = 0; i < parts.length; i++) {
        const p = parts[i]!;
        for (const q of t[i]!) {
          for (let k = p.edgeStart[q]!; k < p.edgeStart[q + 1]!; k++) cutSet.add(p.edgeLo[k]!).add(p.edgeHi[k]! + 1);
        }
      }
      const cuts = Int32Array.from(cutSet).sort();
      for (let j = 0; j + 1 < cuts.length; j++) {
        const b = cuts[j]!;
        const next: Int32Array[] = [];
        for (let i = 0; i < parts.length; i++) {
          const p = parts[i]!;
          const acc = new Set<number>();
          for (const q of t[i]!) {
            for (let k = p.edgeStart[q]!; k < p.edgeStart[q + 1]!; k++) if (p.edgeLo[k]! <= b && b <= p.edgeHi[k]!) for (const r of p.closure(p.edgeTo[k]!)) acc.add(r);
          }
          if (acc.size === 0) break;
          next.push(Int32Array.from(acc).sort());
        }
        if (next.length < parts.length) continue;
        const key = keyOf(next);
        let id = ids.get(key);
        if (id === undefined) {
          if (ids.size >= MAX_PRODUCT_STATES) throw new Error(`structured output: intersection of patterns too large (over ${MAX_PRODUCT_STATES} states)`);
          id = this.newState();
          ids.set(key, id);
          queue.push(next);
        }
        this.edge(from, b, cuts[j + 1]! - 1, id);
      }
    }
    return e;
  }

  /**
   * Any JSON string body except the given names: a trie of the names where every other character leads to one
   * shared free state. ASCII characters get direct edges; multi-byte and escaped characters share one fragment
   * each (the free state's too) unless a name continues with such a character there.
   */
  private buildNotOneOf(names: string[], s: number): number {
    const e = this.newState();
    const free = this.newState();
    this.markAnyBody(free);
    this.eps(free, e);
    const sharedNonAscii = this.newState();
    this.eps(this.buildClass(NON_ASCII, 'json', sharedNonAscii), free);
    const sharedEscaped = this.newState();
    this.eps(this.buildClass(JSON_ESCAPED, 'json', sharedEscaped), free);
    // the free state: any character, then free again
    this.plainAsciiEdges(free, [], free);
    this.eps(free, sharedNonAscii);
    this.eps(free, sharedEscaped);
    interface TrieNode {
      end: boolean;
      kids: Map<number, TrieNode>;
    }
    const root: TrieNode = { end: false, kids: new Map() };
    for (const name of names) {
      let cur = root;
      for (const c of name) {
        const cp = c.codePointAt(0)!;
        let k = cur.kids.get(cp);
        if (!k) cur.kids.set(cp, (k = { end: false, kids: new Map() }));
        cur = k;
      }
      cur.end = true;
    }
    const visit = (n: TrieNode, q: number) => {
      this.markAnyBody(q);
      if (!n.end) this.eps(q, e);
      const kids = [...n.kids.keys()].sort((x, y) => x - y);
      const escapedKid = kids.some((cp) => cp < 0x20 || cp === 0x22 || cp === 0x5c);
      const wideKid = kids.length > 0 && kids[kids.length - 1]! >= 0x80;
      // plain ASCII characters that no name continues with: one byte straight to the free state
      this.plainAsciiEdges(q, kids, free);
      if (wideKid) this.eps(this.buildClass(subtractRanges(NON_ASCII, kids.flatMap((cp) => [cp, cp])), 'json', q), free);
      else this.eps(q, sharedNonAscii);
      if (escapedKid) this.eps(this.buildClass(subtractRanges(JSON_ESCAPED, kids.flatMap((cp) => [cp, cp])), 'json', q), free);
      else this.eps(q, sharedEscaped);
      // a name's next character: its class's end state is the next trie node's state
      for (const [cp, k] of n.kids) visit(k, this.buildClass([cp, cp], 'json', q));
    };
    visit(root, s);
    return e;
  }

  /** edges q -> to on each plain (unescaped) ASCII character not in `except` (sorted code points) */
  private plainAsciiEdges(q: number, except: number[], to: number): void {
    // the runs between the characters that break them: the escaped `"` and `\`, the excepted ones, the end of ASCII
    let lo = 0x20;
    let i = 0;
    for (const stop of [0x22, 0x5c, 0x80]) {
      for (; i < except.length && except[i]! < stop; i++) lo = this.asciiRun(q, lo, except[i]!, to);
      lo = this.asciiRun(q, lo, stop, to);
    }
  }

  /** the edge for the characters lo .. stop - 1 (if any, and not below 0x20); returns where the next run starts */
  private asciiRun(q: number, lo: number, stop: number, to: number): number {
    if (lo < stop) this.edge(q, lo, stop - 1, to);
    return Math.max(lo, stop + 1);
  }

  /** a character class: instantiate its cached byte-level fragment (state 0 = s, 1 = end, 2.. = inner) */
  private buildClass(ranges: number[], sp: Spelling, s: number): number {
    const t = classTemplate(ranges, sp);
    // inside a counted region a character starts here: its byte edges count one (lexer-dfa.ts, stepShape)
    if (this.currentRegion >= 0) this.loopStates.push(s);
    const e = this.newState();
    const base = e - 1;
    if (t.inner > 0) this.newStates(t.inner, 0); // inside a character
    // the template's edges, local ids mapped to this NFA's states
    const ed = t.edges;
    const out = this.edQuads;
    for (let k = 0; k < ed.length; k += 4) {
      const a = ed[k]!;
      const b = ed[k + 3]!;
      out.push(a === 0 ? s : a === 1 ? e : base + a, ed[k + 1]!, ed[k + 2]!, b === 0 ? s : b === 1 ? e : base + b);
    }
    return e;
  }

  /** any character may follow (only where the state is a quoted body's character boundary) */
  private markAnyBody(q: number): void {
    if (this.stateFlag[q]! & QUOTED_BODY) this.stateFlag[q] |= ANY_BODY;
  }

  /** build the CSR arrays and mark the states that can reach their lexeme's accepting state; call once */
  finalize(): void {
    const n = this.nStates;
    this.stateLexeme = new Int32Array(this.stateLex);
    this.stateRegion = new Int32Array(this.stateReg);
    this.stateFlags = new Int32Array(this.stateFlag);
    this.isLoop = new Uint8Array(n);
    for (const q of this.loopStates) this.isLoop[q] = 1;
    const ep = this.epsPairs;
    const ne = ep.length >> 1;
    const eq = this.edQuads;
    const m = eq.length >> 2;
    // CSR by counting sort on the source state (stable: edges keep their order of construction)
    const epsStart = new Int32Array(n + 1);
    for (let i = 0; i < ne; i++) epsStart[ep[2 * i]! + 1]++;
    for (let q = 0; q < n; q++) epsStart[q + 1] += epsStart[q]!;
    const epsTarget = new Int32Array(ne);
    const edgeStart = new Int32Array(n + 1);
    for (let i = 0; i < m; i++) edgeStart[eq[4 * i]! + 1]++;
    for (let q = 0; q < n; q++) edgeStart[q + 1] += edgeStart[q]!;
    const edgeLo = new Uint8Array(m);
    const edgeHi = new Uint8Array(m);
    const edgeTo = new Int32Array(m);
    // scratch: [0, n + 1) fill cursors, then the reverse graph's offsets; [n + 1, 2n + 1) its cursors, then the
    // liveness stack; [2n + 1, ...) the reverse graph's sources
    const work = scratchOf(2 * n + 1 + ne + m);
    const cursor = work;
    for (let q = 0; q < n; q++) cursor[q] = epsStart[q]!;
    for (let i = 0; i < ne; i++) epsTarget[cursor[ep[2 * i]!]!++] = ep[2 * i + 1]!;
    for (let q = 0; q < n; q++) cursor[q] = edgeStart[q]!;
    for (let i = 0; i < m; i++) {
      const j = cursor[eq[4 * i]!]!++;
      edgeLo[j] = eq[4 * i + 1]!;
      edgeHi[j] = eq[4 * i + 2]!;
      edgeTo[j] = eq[4 * i + 3]!;
    }
    this.epsStart = epsStart;
    this.epsTarget = epsTarget;
    this.edgeStart = edgeStart;
    this.edgeLo = edgeLo;
    this.edgeHi = edgeHi;
    this.edgeTo = edgeTo;
    this.live = this.reachAccept(work, null);
    this.analyzeLengthRegions();
    // a length region whose entry has no completion at count 0 blocks every path through it
    let blocked: Uint8Array | null = null;
    for (let r = 0; r < this.regionEnd.length; r++) {
      const end = this.regionEnd[r]!;
      if (end < 0) continue;
      const entry = this.regionEntry[r]!;
      const p = this.stateProfile[entry]!;
      if (this.live[entry] && (p < 0 || !this.profileFeasible[p]![0])) (blocked ??= new Uint8Array(n))[entry] = 1;
    }
    if (blocked) this.live = this.reachAccept(scratchOf(2 * n + 1 + ne + m), blocked);
  }

  /** states that reach an accepting state over both edge kinds, not through `blocked` ones */
  private reachAccept(work: Int32Array, blocked: Uint8Array | null): Uint8Array {
    const n = this.nStates;
    const ep = this.epsPairs;
    const ne = ep.length >> 1;
    const eq = this.edQuads;
    const m = eq.length >> 2;
    const revStart = work;
    revStart.fill(0, 0, n + 1);
    for (let i = 0; i < ne; i++) revStart[ep[2 * i + 1]! + 1]++;
    for (let i = 0; i < m; i++) revStart[eq[4 * i + 3]! + 1]++;
    for (let q = 0; q < n; q++) revStart[q + 1] += revStart[q]!;
    const at = n + 1;
    const revBase = 2 * n + 1;
    for (let q = 0; q < n; q++) work[at + q] = revBase + revStart[q]!;
    for (let i = 0; i < ne; i++) work[work[at + ep[2 * i + 1]!]!++] = ep[2 * i]!;
    for (let i = 0; i < m; i++) work[work[at + eq[4 * i + 3]!]!++] = eq[4 * i]!;
    const live = new Uint8Array(n);
    let sp = at;
    for (const a of this.lexAccept) {
      if (!live[a]) {
        live[a] = 1;
        work[sp++] = a;
      }
    }
    while (sp > at) {
      const q = work[--sp]!;
      for (let j = revBase + revStart[q]!; j < revBase + revStart[q + 1]!; j++) {
        const p = work[j]!;
        if (!live[p] && !(blocked && blocked[p])) {
          live[p] = 1;
          work[sp++] = p;
        }
      }
    }
    return live;
  }

  /**
   * For each length region, which counts leave each of its states a completion within [min, max]
   * (length-region-analysis.ts). The lexer DFA drops configurations without one, so that no prefix it keeps is a
   * dead end (the product construction's states had this by their liveness).
   */
  private analyzeLengthRegions(): void {
    const n = this.nStates;
    this.stateProfile = new Int32Array(n).fill(-1);
    const index = new Int32Array(n);
    for (let r = 0; r < this.regionEnd.length; r++) {
      const end = this.regionEnd[r]!;
      this.regionCountClass.push(NO_INTS);
      this.regionClassCount.push(0);
      this.regionMaxMinLen.push(0);
      if (end < 0) continue;
      index.fill(-1);
      const states: number[] = [];
      for (let q = 0; q < n; q++) if (this.stateRegion[q] === r && this.live![q]) index[q] = states.push(q) - 1;
      // the region's edges between its live states, as index pairs: weight 1 from a character's start, else 0
      const edges: [number[], number[]] = [[], []];
      for (let i = 0; i < states.length; i++) {
        const q = states[i]!;
        for (let j = this.epsStart[q]!; j < this.epsStart[q + 1]!; j++) {
          const t = index[this.epsTarget[j]!]!;
          if (t >= 0) edges[0].push(i, t);
        }
        for (let j = this.edgeStart[q]!; j < this.edgeStart[q + 1]!; j++) {
          const t = index[this.edgeTo[j]!]!;
          if (t >= 0) edges[this.isLoop[q] ? 1 : 0].push(i, t);
        }
      }
      const a = analyzeLengthRegion(states.length, edges[0], edges[1], index[end]!, this.regionMin[r]!, this.regionMax[r]!);
      const first = this.profileFeasible.length;
      this.profileFeasible.push(...a.rows);
      for (let i = 0; i < states.length; i++) this.stateProfile[states[i]!] = first + a.rowOf[i]!;
      this.regionCountClass[r] = a.countClass;
      this.regionClassCount[r] = a.classCount;
      this.regionMaxMinLen[r] = a.maxMinLen;
    }
  }

  /** outside length regions always; inside, whether (q, count) can still reach the region's end within its bounds */
  feasibleAt(q: number, count: number): boolean {
    const p = this.stateProfile[q]!;
    return p < 0 || this.profileFeasible[p]![count] === 1;
  }

  /** can the lexeme match at least one non-empty string */
  lexemeLive(lex: number): boolean {
    for (const q of this.closure(this.lexStart[lex]!)) {
      for (let k = this.edgeStart[q]!; k < this.edgeStart[q + 1]!; k++) if (this.live![this.edgeTo[k]!]) return true;
    }
    return false;
  }

  /** live states reachable through epsilon edges, sorted */
  closure(q: number): Int32Array {
    const hit = this.closures[q];
    if (hit) return hit;
    const live = this.live!;
    const seen = new Set<number>();
    const stack = [q];
    while (stack.length) {
      const x = stack.pop()!;
      if (seen.has(x) || !live[x]) continue;
      seen.add(x);
      for (let j = this.epsStart[x]!; j < this.epsStart[x + 1]!; j++) stack.push(this.epsTarget[j]!);
    }
    const out = Int32Array.from(seen).sort();
    this.closures[q] = out;
    return out;
  }
}

interface ClassTemplate {
  inner: number;
  /** flat quadruples from, lo, hi, to over local ids (0 = start, 1 = end) */
  edges: Int32Array;
}
const templateCache = new Map<string, ClassTemplate>();
/** the same templates by the identity of a pattern's ranges array, which builds meet again and again */
const templatesByRanges: Record<Spelling, WeakMap<number[], ClassTemplate>> = { raw: new WeakMap(), json: new WeakMap() };
/** and single characters (trie edges of notOneOf), by code point */
const templatesByChar: Record<Spelling, Map<number, ClassTemplate>> = { raw: new Map(), json: new Map() };

/** a class none of whose characters can be spelled (e.g. only surrogates) */
export function classIsEmpty(ranges: number[], sp: Spelling): boolean {
  return classTemplate(ranges, sp).edges.length === 0;
}

/** the byte-level fragment of a class, computed once per (ranges, spelling) and shared by every compile */
function classTemplate(ranges: number[], sp: Spelling): ClassTemplate {
  const single = ranges.length === 2 && ranges[0] === ranges[1];
  let t = single ? templatesByChar[sp].get(ranges[0]!) : templatesByRanges[sp].get(ranges);
  if (t) return t;
  t = templateByKey(ranges, sp);
  if (single) {
    if (templatesByChar[sp].size < 20000) templatesByChar[sp].set(ranges[0]!, t);
  } else templatesByRanges[sp].set(ranges, t);
  return t;
}

function templateByKey(ranges: number[], sp: Spelling): ClassTemplate {
  const key = sp + ranges.join(',');
  const hit = templateCache.get(key);
  if (hit) return hit;
  const edges: number[] = [];
  let next = 2;
  const chain = (bs: ByteRangeSeq) => {
    let cur = 0;
    for (let j = 0; j < bs.length; j++) {
      const t = j === bs.length - 1 ? 1 : next++;
      edges.push(cur, bs[j]![0], bs[j]![1], t);
      cur = t;
    }
  };
  const plain = sp === 'json' ? subtractRanges(ranges, JSON_ESCAPED) : ranges;
  for (let i = 0; i < plain.length; i += 2) for (const bs of utf8Sequences(plain[i]!, plain[i + 1]!)) chain(bs);
  const esc = sp === 'json' ? intersectRanges(ranges, JSON_ESCAPED) : [];
  if (esc.length > 0) {
    // backslash, then a short escape letter or u00 + two lowercase hex digits
    const bsl = next++;
    edges.push(0, 0x5c, 0x5c, bsl);
    // the \u00XX escapes: per high digit (0 or 1), a bit per low digit
    const lows = [0, 0];
    for (let i = 0; i < esc.length; i += 2) {
      for (let cp = esc[i]!; cp <= esc[i + 1]!; cp++) {
        const short = SHORT_ESCAPES[cp];
        if (short !== undefined) edges.push(bsl, short.charCodeAt(0), short.charCodeAt(0), 1);
        else lows[cp >> 4] |= 1 << (cp & 15);
      }
    }
    if (lows[0] || lows[1]) {
      const u1 = next++;
      const u2 = next++;
      const u3 = next++;
      edges.push(bsl, 0x75, 0x75, u1, u1, 0x30, 0x30, u2, u2, 0x30, 0x30, u3);
      for (let h = 0; h < 2; h++) {
        if (!lows[h]) continue;
        const x = next++;
        edges.push(u3, 0x30 + h, 0x30 + h, x);
        // runs of consecutive low digits become one byte range (a run never spans 9 to a: not adjacent bytes)
        for (let d = 0; d < 16; d++) {
          if (!(lows[h]! & (1 << d))) continue;
          let end = d;
          while (end + 1 < 16 && end !== 9 && lows[h]! & (1 << (end + 1))) end++;
          edges.push(x, hexDigit(d), hexDigit(end), 1);
          d = end;
        }
      }
    }
  }
  const t = { inner: next - 2, edges: Int32Array.from(edges) };
  if (templateCache.size < 20000) templateCache.set(key, t);
  return t;
}

/** the lowercase hex digit's byte (JSON.stringify's spelling) */
function hexDigit(d: number): number {
  return d < 10 ? 0x30 + d : 0x57 + d;
}

function isQuote(x: RNode | undefined): boolean {
  return x !== undefined && x.k === 'cls' && x.r.length === 2 && x.r[0] === 0x22 && x.r[1] === 0x22;
}
