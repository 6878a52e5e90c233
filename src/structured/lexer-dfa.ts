// The lazily built DFA over bytes for sets of lexemes. A state is a set of configurations (lexeme, NFA state of
// that lexeme's automaton, count of its counted region) of possibly several lexemes at once; transitions are
// computed on first use and kept in per-state 256-entry tables.
// Counted regions (see lexemes.ts) give a string under maxLength one state per count, not NFA copies. To keep
// those states cheap, a state is stored as a count-free "shape" plus a base count: configurations tagged BASE
// have the base as their count. A transition of a shape depends on the base only through a few comparisons
// with the regions' bounds (its guard signature), so it is computed once per (shape, signature, byte) and
// reused for every count: walking the body of a string under maxLength computes a handful of transitions,
// not a few hundred per character.
import { sortAscending } from './sort-ascending.js';
import { mapKey } from './map-key.js';
import type { LexemeTable } from './lexeme-table.js';
import { ANY_BODY, QUOTED_BODY, type LexemeNfa } from './lexemes.js';

export const DEAD = -2;
const UNKNOWN = -1;
const MAX_DFA_STATES = 500_000;
/**
 * Transitions are kept in chunks of CHUNK_STATES states' rows (64 KiB): state s's transition on byte b is
 * chunks[s >>> CHUNK_BITS][((s & CHUNK_MASK) << 8) | b]. A lookup reads one cache line of one table (the few chunk
 * objects stay cached), where an array of per-state row views read the array, the state's view object and then the
 * row: three cache misses per transition of a mask whose states no recent mask used. Chunks are only ever added.
 */
export const CHUNK_BITS = 6;
const CHUNK_STATES = 1 << CHUNK_BITS;
export const CHUNK_MASK = CHUNK_STATES - 1;

// a configuration packed into one double: ((lexeme * STATE_SLOTS) + state) * TAG_SLOTS + tag, where the tag is
// an absolute count (< BASE) or BASE (the state's base count) or, inside a transition, BASE + 1
export const MAX_LEXEME_STATES = 2097152;
export const TAG_SLOTS = 4096;
const BASE = 2048;
/** shapes with more distinct bounds among BASE-tagged configurations are not cached per shape (signature would not fit) */
const MAX_SIGNED_BOUNDS = 8;
/**
 * selfLoops' runs stop counting here (longer tokens are walked byte by byte: exact either way); a loop that never
 * ends has this run too. An integer rather than Infinity: a field that holds small integers and Infinity changes
 * representation, and V8 then throws away the walker's optimized code.
 */
export const MAX_LOOP_RUN = 0x10000;
const STEP_DEAD = -1;
const STEP_UNCACHED = -2;
const LEXEME_SLOTS = TAG_SLOTS * MAX_LEXEME_STATES;

// A configuration's fields (exported for tests). Configurations pass 2^31, so `x % TAG_SLOTS` is a remainder of
// doubles, which V8 computes with a call to C's fmod (~45 ns per configuration decoded, against ~4 ns this way, in
// a micro-benchmark here; a transition decodes every configuration of its shape several times); dividing by a power
// of two and rounding down is exact below 2^53.
export function tagOf(x: number): number {
  return x - Math.floor(x / TAG_SLOTS) * TAG_SLOTS;
}
export function nfaStateOf(x: number): number {
  const rest = Math.floor(x / TAG_SLOTS);
  return rest - Math.floor(rest / MAX_LEXEME_STATES) * MAX_LEXEME_STATES;
}
export function lexemeOfConfig(x: number): number {
  return Math.floor(x / LEXEME_SLOTS);
}

/** a state described independently of its grammar, and the grammar's lexemes in that description's order */
export interface CanonicalState {
  key: string;
  /** slot i of the description is this grammar's lexeme slotLexemes[i] */
  slotLexemes: Int32Array;
  /**
   * Some count was capped at `horizon` (room or characters needed): the description holds for tokens of fewer
   * than `horizon` characters only. Uncapped descriptions (counts told exactly, or no max) hold for any token.
   */
  clamped: boolean;
}

/**
 * The bytes that keep a state in a loop: each either keeps the state as it is or (in a counted region) adds one
 * to its base count and nothing else, for at least `run` bytes in a row. A token of at most `run` bytes, all in
 * `bytes`, leaves the lexer alive in such a state without being walked byte by byte.
 */
export interface SelfLoops {
  /** 256 bits */
  bytes: Int32Array;
  run: number;
}

interface Shape {
  configs: Float64Array;
  initial: boolean;
  accepting: Int32Array;
  hasBase: boolean;
  /** the regions' bounds of BASE-tagged configurations (all inside counted regions), each pair once, for the guard signature */
  baseMin: Float64Array;
  baseMax: Float64Array;
  /** the length regions of BASE-tagged configurations, each once: their count classes and how many classes */
  lengthClasses: Int32Array[];
  lengthClassCounts: Int32Array;
  /** (signature * 256 + byte class) -> a step (see stepShape), or STEP_DEAD */
  steps: Map<number, number>;
  /** byte classes (see byteClasses), built on the shape's first transition (NO_CLASSES before) */
  classes: ByteClasses;
  /** this shape with BASE tags replaced by count 0 (a base of 0 is always stored in this form) */
  zeroForm: number;
  /** the state of this shape at base 0 once interned, else -1 (the only state of a shape without BASE tags) */
  baseZeroState: number;
}

export class LexerDfa {
  private readonly shapes: Shape[] = [];
  /** shapes by a hash of their configurations (compared exactly within a bucket) */
  private readonly shapeBuckets = new Map<number, number[]>();
  private readonly stateShape: number[] = [];
  private readonly stateBase: number[] = [];
  private readonly stateSig: number[] = [];
  private readonly stateByKey = new Map<number, number>();
  /** transitions in chunks (see CHUNK_BITS): next state, DEAD, or UNKNOWN (not computed yet) */
  readonly chunks: Int32Array[] = [];
  /** lexemes whose accepting NFA state is in the set (empty for initial states: lexemes are non-empty) */
  readonly accepting: Int32Array[] = [];
  private readonly initialByHash = new Map<number, Array<[number[], number]>>();
  private readonly initialStates = new Set<number>();
  /** canonicalState's answers, per (horizon, longest), per state */
  private readonly canonical = new Map<string, Array<CanonicalState | undefined>>();
  /** continuesAsAnyStringBody's answers, per token length bound, per state */
  private readonly anyBody = new Map<number, Array<boolean | undefined>>();
  /**
   * closure's stack of (NFA state, count, tag) triples: typed, with its own top (an array emptied by `length = 0` gives
   * up its storage, and the next pushes allocated it again, in every closure of every DFA state built)
   */
  private stack = new Float64Array(3 * 64);
  /** selfLoops' answers per state (null: no byte loops; undefined: not asked yet; one entry per state, kept dense) */
  private readonly loops: Array<SelfLoops | null | undefined> = [];
  /** configurations collected by a step: a list, with a set beside it once the list grows long */
  private readonly accList: number[] = [];
  private readonly accSet = new Set<number>();
  /** byteClasses' scratch: edge bounds, and +1/-1 where edges start/end */
  private readonly classCut = new Uint8Array(257);
  private readonly classCover = new Int32Array(257);
  private readonly classScratch = new Uint8Array(256);
  private readonly classScratchWords = new Int32Array(this.classScratch.buffer, 0, 64);
  /** byteClasses' scratch: the cut positions met, each once (their `classCut` and `classCover` entries reset after) */
  private readonly cutList: number[] = [];

  constructor(readonly lexemes: LexemeTable) {}

  get stateCount(): number {
    return this.stateShape.length;
  }

  /**
   * the bytes some NFA edge of the state's configurations takes, as 256 bits (bit b of word b >> 5): every other
   * byte leads to DEAD. Read from the shape's byte classes (built on its first transition, or now): checking a
   * byte here touches 32 bytes, where its transition reads a row of 1 KB per state (GrammarMatcher.computeMask asks
   * one state for up to a few hundred bytes, nearly all dead).
   */
  edgeBytes(s: number): Int32Array {
    const shape = this.shapes[this.stateShape[s]!]!;
    return (shape.classes !== NO_CLASSES ? shape.classes : (shape.classes = this.byteClasses(shape.configs))).onEdges;
  }

  /** the transition from `s` on byte `b` if computed already, else UNKNOWN (-1); computes nothing */
  known(s: number, b: number): number {
    return this.chunks[s >>> CHUNK_BITS]![((s & CHUNK_MASK) << 8) | b]!;
  }

  /**
   * Inside JSON strings where, until the next `"` byte, exactly the canonical string-body texts stay alive and
   * no lexeme ends (every configuration QUOTED_BODY, at least one ANY_BODY, see lexemes.ts), for every token of
   * fewer than `longest` characters: for such tokens without a `"` the state behaves as the body of an
   * unconstrained string. Answers are cached per `longest` (callers use a few: the trie's and the split bounds').
   */
  continuesAsAnyStringBody(s: number, longest: number): boolean {
    let cache = this.anyBody.get(longest);
    if (!cache) this.anyBody.set(longest, (cache = []));
    let hit = cache[s];
    if (hit === undefined) {
      hit = !this.initialStates.has(s);
      let any = false;
      const base = this.stateBase[s]!;
      const configs = this.shapes[this.stateShape[s]!]!.configs;
      for (let k = 0; k < configs.length; k++) {
        const x = configs[k]!;
        if (!hit) break;
        const tag = tagOf(x);
        const q = nfaStateOf(x);
        const nfa = this.lexemes.automaton(lexemeOfConfig(x)).nfa;
        const flags = nfa.stateFlags[q]!;
        if (!(flags & QUOTED_BODY)) hit = false;
        else if (flags & ANY_BODY) {
          // a counted region's loop: any character only while no token can use up the room left
          const r = nfa.stateRegion[q]!;
          if (r < 0 || nfa.regionMax[r]! - (tag === BASE ? base : tag) >= longest) any = true;
        }
      }
      hit = hit && any;
      cache[s] = hit;
    }
    return hit;
  }

  /** a state before the first byte of its lexemes */
  isInitial(s: number): boolean {
    return this.initialStates.has(s);
  }

  /** the state before the first byte of any of `lexemes` (sorted ids) */
  initial(lexemes: ArrayLike<number>): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < lexemes.length; i++) h = Math.imul(h ^ lexemes[i]!, 0x01000193);
    h = mapKey(h);
    const bucket = this.initialByHash.get(h);
    if (bucket) {
      for (const [ids, state] of bucket) if (sameList(ids, lexemes)) return state;
    }
    this.resetAcc();
    for (let i = 0; i < lexemes.length; i++) {
      const lex = lexemes[i]!;
      const a = this.lexemes.automaton(lex);
      this.closure(a.nfa, lex, a.start, 0, 0);
    }
    // initial states are kept apart from equal inner states: nothing has been read, so nothing is accepted
    const state = this.internState(this.internShape(sortAscending(this.accList), true), 0, true);
    const entry: [number[], number] = [Array.from(lexemes), state];
    if (bucket) bucket.push(entry);
    else this.initialByHash.set(h, [entry]);
    return state;
  }

  next(s: number, b: number): number {
    const t = this.chunks[s >>> CHUNK_BITS]![((s & CHUNK_MASK) << 8) | b]!;
    return t !== UNKNOWN ? t : this.compute(s, b);
  }

  /**
   * The state described independently of this grammar: per lexeme its shape and its configurations, where a
   * count is told as how many more characters the region needs and may take: exactly below `horizon`, as
   * Infinity from `longest` on (no token has that many characters), capped at `horizon` in between. Lexemes of
   * equal description behave identically for every token of fewer than `horizon` characters (and for every
   * token when nothing was capped), so a lexer walk computed for one serves all.
   */
  canonicalState(s: number, horizon: number, longest: number): CanonicalState {
    const bounds = `${horizon}/${longest}`;
    let cache = this.canonical.get(bounds);
    if (!cache) this.canonical.set(bounds, (cache = []));
    const hit = cache[s];
    if (hit) return hit;
    const perLex = new Map<number, string[]>();
    const base = this.stateBase[s]!;
    let clamped = false;
    // a count no token can reach is told as Infinity; one only long tokens can reach is capped at `horizon`. With a
    // `margin`, the count a state may still need on top of the token's characters shifts both
    const tell = (n: number, margin = 0): number => {
      if (n >= longest + margin) return Infinity;
      if (n < horizon + margin) return n;
      clamped = true;
      return horizon + margin;
    };
    const configs = this.shapes[this.stateShape[s]!]!.configs;
    for (let k = 0; k < configs.length; k++) {
      const x = configs[k]!;
      const tag = tagOf(x);
      const q = nfaStateOf(x);
      const lex = lexemeOfConfig(x);
      const c = tag === BASE ? base : tag;
      const nfa = this.lexemes.automaton(lex).nfa;
      const r = nfa.stateRegion[q]!;
      let part = String(q);
      if (r >= 0) {
        const need = Math.max(0, nfa.regionMin[r]! - c);
        const room = nfa.regionMax[r]! - c;
        if (nfa.regionEnd[r]! < 0) part += `:${tell(need)}/${tell(room)}`;
        // a length region: below min, a state's feasibility can turn at any count, so the count is told exactly;
        // once min is reached only the room matters, beyond the most characters a state needs to end (the margin)
        else part += need > 0 ? `:${need}/${room}` : `:0/${tell(room, nfa.regionMaxMinLen[r]!)}`;
      }
      let parts = perLex.get(lex);
      if (!parts) perLex.set(lex, (parts = []));
      parts.push(part);
    }
    const described = [...perLex].map(([lex, parts]) => ({ lex, d: `${this.lexemes.shapeId(lex)}[${parts.join(',')}]` }));
    described.sort((a, b) => (a.d < b.d ? -1 : a.d > b.d ? 1 : 0));
    const key = (this.initialStates.has(s) ? 'I' : '') + described.map((x) => x.d).join(' ');
    const out = { key, slotLexemes: Int32Array.from(described, (x) => x.lex), clamped };
    cache[s] = out;
    return out;
  }

  /** might a byte from `s` to `t` be one of its loop bytes (see selfLoops): the same state, or its shape one count on */
  loopsTo(s: number, t: number): boolean {
    return t === s || (t >= 0 && this.stateShape[t] === this.stateShape[s] && this.stateBase[t] === this.stateBase[s]! + 1);
  }

  /**
   * The state's loop bytes (see SelfLoops), or null when none. Read from the shape's steps per byte class (each
   * computed once per shape and guard signature), so it builds no states: a walk asks only where it is about to
   * cross a large subtree whose first byte loops.
   */
  selfLoops(s: number): SelfLoops | null {
    const hit = this.loops[s];
    if (hit !== undefined) return hit;
    const shapeId = this.stateShape[s]!;
    const shape = this.shapes[shapeId]!;
    const base = this.stateBase[s]!;
    const sig = this.stateSig[s]!;
    let out: SelfLoops | null = null;
    if (sig >= 0) {
      const classes = (shape.classes !== NO_CLASSES ? shape.classes : (shape.classes = this.byteClasses(shape.configs)));
      const bytes = new Int32Array(8);
      let any = false;
      let counted = false;
      for (let cls = 0; cls + 1 < classes.start.length; cls++) {
        if (classes.start[cls] === classes.start[cls + 1]) continue;
        let step = shape.steps.get(sig * 256 + cls);
        if (step === undefined) {
          step = this.stepShape(shape.configs, base, classes.members[classes.start[cls]!]!);
          if (step !== STEP_UNCACHED) shape.steps.set(sig * 256 + cls, step);
        }
        if (step < 0) continue;
        const mode = tagOf(step);
        if ((step - mode) / TAG_SLOTS !== shapeId) continue;
        // a shape without BASE tags has one state (its base is always 0): any step back to it stays there; with
        // BASE tags, mode 0 keeps the base and mode 1 adds one (an absolute count would not repeat from base + 1)
        if (shape.hasBase) {
          if (mode === 1) counted = true;
          else if (mode !== 0) continue;
        }
        for (let k = classes.start[cls]!; k < classes.start[cls + 1]!; k++) bytes[classes.members[k]! >>> 5] |= 1 << (classes.members[k]! & 31);
        any = true;
      }
      // steps from base + j are those from base while base + j has the same signature
      let run = MAX_LOOP_RUN;
      if (counted) for (run = 1; run < MAX_LOOP_RUN && guardSignature(shape, base + run) === sig; ) run++;
      if (any) out = { bytes, run };
    }
    this.loops[s] = out;
    return out;
  }

  private compute(s: number, b: number): number {
    const shape = this.shapes[this.stateShape[s]!]!;
    const base = this.stateBase[s]!;
    const sig = this.stateSig[s]!;
    const classes = (shape.classes !== NO_CLASSES ? shape.classes : (shape.classes = this.byteClasses(shape.configs)));
    const cls = classes.classOf[b]!;
    // bytes on no edge of the shape (class 0) are dead without stepping its configurations: about a fifth of a cold
    // mask's transitions, as nearly every new state meets one
    const t = cls === 0 ? DEAD : this.stepClass(shape, base, sig, cls, b);
    // every byte of the class steps alike: one computation fills them all
    const chunk = this.chunks[s >>> CHUNK_BITS]!;
    const row = (s & CHUNK_MASK) << 8;
    const runs = classes.runs;
    for (let k = classes.runStart[cls]!; k < classes.runStart[cls + 1]!; k += 2) chunk.fill(t, row | runs[k]!, (row | runs[k + 1]!) + 1);
    return t;
  }

  /** the state a byte of class `cls` (not 0) leads to from `shape` at `base` (guard signature `sig`), or DEAD */
  private stepClass(shape: Shape, base: number, sig: number, cls: number, b: number): number {
    let step = sig < 0 ? undefined : shape.steps.get(sig * 256 + cls);
    if (step === undefined) {
      step = this.stepShape(shape.configs, base, b);
      if (sig >= 0 && step !== STEP_UNCACHED) shape.steps.set(sig * 256 + cls, step);
    }
    if (step === STEP_UNCACHED) {
      // the result mixes counts relative to the base: step with absolute counts instead (not cached per shape)
      const absolute = shape.configs.map((x) => (tagOf(x) === BASE ? x - BASE + base : x)).sort();
      step = this.stepShape(absolute, 0, b);
    }
    return step === STEP_DEAD ? DEAD : this.stateOfStep(step, base);
  }

  /**
   * Bytes that no edge bound of the configurations' NFA states separates: a step depends on its byte only
   * through the edges containing it, so such bytes step alike (most of the 256 to the same dead end).
   */
  private byteClasses(configs: Float64Array): ByteClasses {
    // one pass over the edges: where each starts and ends (the cuts, listed once each) and how many cover each byte
    // (prefix sums of `cover`), so a shape costs its edge count and its cuts, not the bytes its edges span
    const cut = this.classCut;
    const cover = this.classCover;
    const cuts = this.cutList;
    cuts.length = 0;
    for (let i = 0; i < configs.length; i++) {
      const x = configs[i]!;
      const q = nfaStateOf(x);
      const { edgeStart, edgeLo, edgeHi } = this.lexemes.automaton(lexemeOfConfig(x)).nfa;
      for (let k = edgeStart[q]!; k < edgeStart[q + 1]!; k++) {
        const lo = edgeLo[k]!;
        const end = edgeHi[k]! + 1;
        if (cut[lo] === 0) addCut(cut, cuts, lo);
        if (cut[end] === 0) addCut(cut, cuts, end);
        cover[lo]++;
        cover[end]--;
      }
    }
    if (cut[0] === 0) addCut(cut, cuts, 0);
    sortAscending(cuts);
    // a class per span between cuts (the edges containing a byte are the same along a span), except that all
    // spans on no edge at all form class 0; hashed where the class changes, so equal partitions hash alike
    const classOf = this.classScratch;
    let next = 1; // class 0: bytes on no edge (they all step to DEAD)
    let covering = 0;
    let prev = -1;
    let h = 0x811c9dc5;
    for (let k = 0; k < cuts.length && cuts[k]! < 256; k++) {
      const from = cuts[k]!;
      covering += cover[from]!;
      const span = covering > 0 ? next++ : 0;
      classOf.fill(span, from, k + 1 < cuts.length ? cuts[k + 1]! : 256);
      if (span !== prev) h = Math.imul(Math.imul(h ^ from, 0x01000193) ^ span, 0x01000193);
      prev = span;
    }
    for (let k = 0; k < cuts.length; k++) {
      const c = cuts[k]!;
      cut[c] = 0;
      cover[c] = 0;
    }
    return internedClasses(h, classOf, this.classScratchWords, next);
  }

  private stateOfStep(step: number, base: number): number {
    const mode = tagOf(step);
    const shape = (step - mode) / TAG_SLOTS;
    return this.internState(shape, mode === 0 ? base : mode === 1 ? base + 1 : mode - 2, false);
  }

  /**
   * One byte from configurations whose BASE tags stand for `base`: the target shape * TAG_SLOTS + mode, where
   * mode 0 keeps the base, 1 adds one, 2 + n sets it to n; STEP_DEAD, or STEP_UNCACHED when the target needs two
   * different relative counts. The result depends on the base only through the guard signature.
   */
  private stepShape(configs: Float64Array, base: number, b: number): number {
    this.resetAcc();
    const acc = this.accList;
    // (indexed loops here and below: a for-of iterator was allocated per DFA step)
    for (let i = 0; i < configs.length; i++) {
      const x = configs[i]!;
      const tag = tagOf(x);
      const q = nfaStateOf(x);
      const lex = lexemeOfConfig(x);
      const isBase = tag === BASE;
      const c = isBase ? base : tag;
      const nfa = this.lexemes.automaton(lex).nfa;
      let nextCount = c;
      let nextTag = tag;
      if (nfa.isLoop[q]) {
        // a character starts in a counted region: room for it, then count it (past min only min matters)
        const r = nfa.stateRegion[q]!;
        const max = nfa.regionMax[r]!;
        if (c >= max) continue;
        nextCount = max === Infinity ? Math.min(c + 1, nfa.regionMin[r]!) : c + 1;
        nextTag = !isBase ? nextCount : nextCount === c ? BASE : BASE + 1;
      }
      const { edgeStart, edgeLo, edgeHi, edgeTo } = nfa;
      for (let k = edgeStart[q]!; k < edgeStart[q + 1]!; k++) {
        if (edgeLo[k]! <= b && b <= edgeHi[k]!) this.closure(nfa, lex, edgeTo[k]!, nextCount, nextTag);
      }
    }
    if (acc.length === 0) return STEP_DEAD;
    let sawBase = false;
    let sawNext = false;
    // absolute counts of configurations inside regions: one shared value > 0 becomes the new base
    let absCount = -1;
    for (let i = 0; i < acc.length; i++) {
      const x = acc[i]!;
      const tag = tagOf(x);
      if (tag === BASE) sawBase = true;
      else if (tag === BASE + 1) sawNext = true;
      else if (this.inRegion(x)) absCount = absCount === -1 || absCount === tag ? tag : -2;
    }
    if (sawBase && sawNext) return STEP_UNCACHED;
    // rewritten in place and looked up before copying: most steps reach a shape that exists already
    let mode = 0;
    if (sawNext) {
      for (let i = 0; i < acc.length; i++) if (tagOf(acc[i]!) === BASE + 1) acc[i] = acc[i]! - 1;
      mode = 1;
    } else if (!sawBase) {
      mode = 2;
      if (absCount > 0) {
        for (let i = 0; i < acc.length; i++) {
          const x = acc[i]!;
          if (tagOf(x) === absCount && this.inRegion(x)) acc[i] = x - absCount + BASE;
        }
        mode = 2 + absCount;
      }
    }
    sortAscending(acc);
    return this.internShape(acc, false) * TAG_SLOTS + mode;
  }

  private inRegion(x: number): boolean {
    return this.lexemes.automaton(lexemeOfConfig(x)).nfa.stateRegion[nfaStateOf(x)]! >= 0;
  }

  /** add the live configurations reachable from (q, count) through epsilon edges; leaving a region needs count >= min */
  private closure(nfa: LexemeNfa, lex: number, q0: number, c0: number, tag0: number): void {
    const live = nfa.liveStates;
    const { stateRegion, epsStart, epsTarget } = nfa;
    // (read only for automata with a length region: most have none)
    const counted = nfa.profileFeasible.length > 0;
    const base = lex * MAX_LEXEME_STATES;
    let stack = this.stack;
    stack[0] = q0;
    stack[1] = c0;
    stack[2] = tag0;
    let top = 3;
    while (top > 0) {
      const tag = stack[--top]!;
      const c = stack[--top]!;
      const q = stack[--top]!;
      if (!live[q]) continue;
      // inside a length region: only while a completion within its bounds remains from this count
      if (counted && !nfa.feasibleAt(q, c)) continue;
      const x = (base + q) * TAG_SLOTS + tag;
      if (!this.addAcc(x)) continue;
      const r = stateRegion[q]!;
      for (let j = epsStart[q]!; j < epsStart[q + 1]!; j++) {
        if (top + 3 > stack.length) {
          const more = new Float64Array(2 * stack.length);
          more.set(stack);
          this.stack = stack = more;
        }
        const t = epsTarget[j]!;
        if (stateRegion[t] === r) {
          stack[top++] = t;
          stack[top++] = c;
          stack[top++] = tag;
        } else if (r < 0 || c >= nfa.regionMin[r]!) {
          stack[top++] = t;
          stack[top++] = 0;
          stack[top++] = 0;
        }
      }
    }
  }

  private resetAcc(): void {
    this.accList.length = 0;
    // (clearing a Set replaces its table even when empty; most steps collect too few configurations to use it)
    if (this.accSet.size > 0) this.accSet.clear();
  }

  /** false if already collected */
  private addAcc(x: number): boolean {
    const list = this.accList;
    if (list.length < 32) {
      if (list.indexOf(x) >= 0) return false;
    } else {
      if (this.accSet.size === 0) for (const y of list) this.accSet.add(y);
      if (this.accSet.has(x)) return false;
      this.accSet.add(x);
    }
    list.push(x);
    return true;
  }

  /** `configs` sorted; copied only when the shape is new (callers may pass their scratch list) */
  private internShape(configs: ArrayLike<number>, initial: boolean): number {
    let h = initial ? 0x9e3779b9 : 0x811c9dc5;
    for (let i = 0; i < configs.length; i++) {
      const x = configs[i]!;
      const high = Math.floor(x / 0x40000000);
      h = Math.imul(h ^ (x - high * 0x40000000), 0x01000193);
      h = Math.imul(h ^ high, 0x01000193);
    }
    h = mapKey(h);
    let bucket = this.shapeBuckets.get(h);
    if (bucket) {
      for (const id of bucket) {
        const other = this.shapes[id]!;
        if (other.initial === initial && sameConfigs(other.configs, configs)) return id;
      }
    } else this.shapeBuckets.set(h, (bucket = []));
    const own = new Float64Array(configs);
    const accepting: number[] = [];
    const baseMin: number[] = [];
    const baseMax: number[] = [];
    const lengthClasses: Int32Array[] = [];
    const lengthClassCounts: number[] = [];
    let hasBase = false;
    for (let i = 0; i < own.length; i++) {
      const x = own[i]!;
      const tag = tagOf(x);
      const q = nfaStateOf(x);
      const lex = lexemeOfConfig(x);
      const a = this.lexemes.automaton(lex);
      if (!initial && a.accept === q && accepting[accepting.length - 1] !== lex) accepting.push(lex);
      if (tag === BASE) {
        hasBase = true;
        const r = a.nfa.stateRegion[q]!;
        // each bounds pair once: a length region's configurations (dozens in one shape) share theirs
        if (!hasPair(baseMin, baseMax, a.nfa.regionMin[r]!, a.nfa.regionMax[r]!)) {
          baseMin.push(a.nfa.regionMin[r]!);
          baseMax.push(a.nfa.regionMax[r]!);
        }
        const classes = a.nfa.regionCountClass[r]!;
        if (classes.length > 0 && !lengthClasses.includes(classes)) {
          lengthClasses.push(classes);
          lengthClassCounts.push(a.nfa.regionClassCount[r]!);
        }
      }
    }
    accepting.sort((p, q) => p - q);
    const id = this.shapes.length;
    const shape: Shape = { configs: own, initial, accepting: accepting.length > 0 ? new Int32Array(accepting) : NONE_ACCEPTED, hasBase, baseMin: hasBase ? new Float64Array(baseMin) : NO_BOUNDS, baseMax: hasBase ? new Float64Array(baseMax) : NO_BOUNDS, lengthClasses: lengthClasses.length > 0 ? lengthClasses : NO_LENGTH_CLASSES, lengthClassCounts: lengthClasses.length > 0 ? Int32Array.from(lengthClassCounts) : NO_CLASS_COUNTS, steps: new Map(), classes: NO_CLASSES, zeroForm: id, baseZeroState: -1 };
    this.shapes.push(shape);
    bucket.push(id);
    if (hasBase) shape.zeroForm = this.internShape(own.map((x) => (tagOf(x) === BASE ? x - BASE : x)).sort(), initial);
    return id;
  }

  private internState(shapeId: number, base: number, initial: boolean): number {
    let shape = this.shapes[shapeId]!;
    if (!shape.hasBase) base = 0;
    else if (base === 0) {
      shapeId = shape.zeroForm;
      shape = this.shapes[shapeId]!;
    }
    // most states have base 0 (no counted region): found on their shape, which the caller has at hand, rather than in
    // a map of every state (a lookup that missed the caches in most new transitions)
    const key = shapeId * BASE + base;
    const hit = base === 0 ? shape.baseZeroState : (this.stateByKey.get(key) ?? -1);
    if (hit >= 0) return hit;
    const id = this.stateShape.length;
    if (id >= MAX_DFA_STATES) throw new Error('structured output: lexer DFA state limit reached');
    // a fresh chunk of rows, all UNKNOWN (one backing store per CHUNK_STATES states, not one per state: each is a
    // malloc the garbage collector tracks as external memory)
    if ((id & CHUNK_MASK) === 0) this.chunks.push(new Int32Array(256 * CHUNK_STATES).fill(UNKNOWN));
    this.stateShape.push(shapeId);
    this.stateBase.push(base);
    this.stateSig.push(guardSignature(shape, base));
    this.accepting.push(shape.accepting);
    this.loops.push(undefined);
    if (base === 0) shape.baseZeroState = id;
    else this.stateByKey.set(key, id);
    if (initial) this.initialStates.add(id);
    return id;
  }
}

/**
 * a partition of the 256 bytes: class ids, each class's bytes members[start[c] .. start[c + 1]), and the same bytes
 * as runs of consecutive bytes, first and last: runs[k], runs[k + 1] for k from runStart[c] to runStart[c + 1] by 2
 * (a row's entries for a class are set a run at a time: the dead class alone is most of the 256 bytes); `words`:
 * classOf read as 64 words, to compare
 */
interface ByteClasses {
  classOf: Uint8Array;
  /** bytes on some edge (not in class 0), as 256 bits: bit b of word b >> 5 */
  onEdges: Int32Array;
  words: Int32Array;
  start: Int32Array;
  members: Uint8Array;
  runStart: Int32Array;
  runs: Uint8Array;
}

/**
 * A shape's classes before they are built: an object of the same kind rather than null, as for rowBlock (and the
 * bounds are typed arrays, not number arrays that turn from integers to doubles at an unbounded maxLength): V8
 * drops optimized code that relied on a field's kind when the field later holds another.
 */
const NO_CLASSES: ByteClasses = { classOf: new Uint8Array(0), onEdges: new Int32Array(0), words: new Int32Array(0), start: new Int32Array(0), members: new Uint8Array(0), runStart: new Int32Array(0), runs: new Uint8Array(0) };

/**
 * Everything a step of the shape can learn about its base: per bounds of its BASE-tagged configurations, whether a
 * character still fits and whether its region may end now or after one more character. -1: too many, not cached.
 */
function guardSignature(shape: Shape, base: number): number {
  if (shape.baseMin.length > MAX_SIGNED_BOUNDS) return -1;
  let sig = 0;
  for (let i = 0; i < shape.baseMin.length; i++) {
    const min = shape.baseMin[i]!;
    sig = sig * 8 + (base < shape.baseMax[i]! ? 4 : 0) + (base >= min ? 2 : 0) + (base + 1 >= min ? 1 : 0);
  }
  // a length region's states drop out at counts of their own (see LexemeNfa.analyzeLengthRegions): the count's class
  for (let i = 0; i < shape.lengthClasses.length; i++) {
    const classes = shape.lengthClasses[i]!;
    sig = sig * shape.lengthClassCounts[i]! + classes[Math.min(base, classes.length - 1)]!;
    if (sig > MAX_SIGNATURE) return -1;
  }
  return sig;
}

/** signatures stay small enough that signature * 256 + byte class is an exact double */
const MAX_SIGNATURE = 2 ** 40;

/**
 * Byte classes by content, shared by every shape and grammar of the process: most shapes cut the bytes alike (a
 * string body's, a number's, a literal's next byte), and each ByteClasses is three typed arrays whose backing
 * stores are allocated outside V8's heap (slow to make, and counted as external memory that starts collections),
 * which cold masks built by the dozen per new lexer-DFA shape. `h`: a hash of `classOf`'s 256 entries.
 */
const classesByHash = new Map<number, ByteClasses[]>();
const MAX_INTERNED_CLASSES = 4096;
let internedClassCount = 0;

function internedClasses(hash: number, classOf: Uint8Array, words: Int32Array, count: number): ByteClasses {
  const h = mapKey(hash);
  let bucket = classesByHash.get(h);
  if (bucket) {
    for (const c of bucket) if (sameWords(c.words, words)) return c;
  } else {
    if (internedClassCount >= MAX_INTERNED_CLASSES) {
      classesByHash.clear();
      internedClassCount = 0;
    }
    classesByHash.set(h, (bucket = []));
  }
  const own = Uint8Array.from(classOf);
  const start = new Int32Array(count + 1);
  for (let b = 0; b < 256; b++) start[own[b]! + 1]++;
  for (let c = 0; c < count; c++) start[c + 1] += start[c]!;
  const fill = start.slice(0, count);
  const members = new Uint8Array(256);
  for (let b = 0; b < 256; b++) members[fill[own[b]!]!++] = b;
  // runs of consecutive members, class by class, as inclusive [first, last] byte pairs (256 fits no byte)
  const runStart = new Int32Array(count + 1);
  const runList: number[] = [];
  for (let c = 0; c < count; c++) {
    runStart[c] = runList.length;
    for (let k = start[c]!; k < start[c + 1]!; ) {
      const lo = members[k]!;
      let hi = lo;
      k++;
      while (k < start[c + 1]! && members[k] === hi + 1) {
        hi++;
        k++;
      }
      runList.push(lo, hi);
    }
  }
  runStart[count] = runList.length;
  const onEdges = new Int32Array(8);
  for (let b = 0; b < 256; b++) if (own[b] !== 0) onEdges[b >>> 5] |= 1 << (b & 31);
  const classes = { classOf: own, onEdges, words: new Int32Array(own.buffer, own.byteOffset, 64), start, members, runStart, runs: Uint8Array.from(runList) };
  bucket.push(classes);
  internedClassCount++;
  return classes;
}

/** byteClasses: mark byte position `at` as a cut and list it (each once) */
function addCut(cut: Uint8Array, cuts: number[], at: number): void {
  cut[at] = 1;
  cuts.push(at);
}

function sameWords(a: Int32Array, b: Int32Array): boolean {
  for (let i = 0; i < 64; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** shapes that accept nothing, or have no counted configurations, share these (never written) */
const NONE_ACCEPTED = new Int32Array(0);
const NO_BOUNDS = new Float64Array(0);
const NO_LENGTH_CLASSES: Int32Array[] = [];
const NO_CLASS_COUNTS = new Int32Array(0);

function sameConfigs(a: Float64Array, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hasPair(mins: number[], maxes: number[], min: number, max: number): boolean {
  for (let i = 0; i < mins.length; i++) if (mins[i] === min && maxes[i] === max) return true;
  return false;
}

function sameList(a: number[], b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
