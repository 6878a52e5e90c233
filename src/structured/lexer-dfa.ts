// The lazily built DFA over bytes for sets of lexemes: a state is a set of live NFA states (of possibly several
// lexemes at once); transitions are computed on first use and kept in per-state 256-entry tables.
import { LexemeNfa } from './lexemes.js';

export const DEAD = -2;
const UNKNOWN = -1;
const MAX_DFA_STATES = 500_000;

export class LexerDfa {
  private readonly sets: Int32Array[] = [];
  /** trans[s][b]: next state, DEAD, or UNKNOWN (not computed yet) */
  readonly trans: Int32Array[] = [];
  /** lexemes whose accepting NFA state is in the set (empty for initial states: lexemes are non-empty) */
  readonly accepting: Int32Array[] = [];
  private readonly byKey = new Map<string, number>();
  private readonly initialByHash = new Map<number, Array<[number[], number]>>();
  private readonly initialStates = new Set<number>();

  constructor(readonly nfa: LexemeNfa) {}

  get stateCount(): number {
    return this.sets.length;
  }

  /** the state before the first byte of any of `lexemes` (sorted ids) */
  initial(lexemes: ArrayLike<number>): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < lexemes.length; i++) h = Math.imul(h ^ lexemes[i]!, 0x01000193);
    const bucket = this.initialByHash.get(h);
    if (bucket) {
      for (const [ids, state] of bucket) if (sameList(ids, lexemes)) return state;
    }
    const key = 'I' + Array.prototype.join.call(lexemes, ',');
    let hit = this.byKey.get(key);
    if (hit === undefined) {
      const acc = new Set<number>();
      for (let i = 0; i < lexemes.length; i++) for (const q of this.nfa.closure(this.nfa.lexStart[lexemes[i]!]!)) acc.add(q);
      hit = this.intern(key, Int32Array.from(acc).sort(), true);
    }
    const entry: [number[], number] = [Array.from(lexemes), hit];
    if (bucket) bucket.push(entry);
    else this.initialByHash.set(h, [entry]);
    return hit;
  }

  /**
   * The state described independently of this grammar: (lexeme definition, state offset in the lexeme) pairs.
   * Lexemes are built deterministically into contiguous states, so equal descriptions behave identically.
   */
  canonicalKey(s: number): string {
    const nfa = this.nfa;
    const parts: string[] = [];
    for (const q of this.sets[s]!) {
      const lex = nfa.stateLexeme[q]!;
      parts.push(`${nfa.lexGlobalId[lex]}:${q - nfa.lexStart[lex]!}`);
    }
    return (this.accepting[s]!.length === 0 && this.initialStates.has(s) ? 'I' : '') + parts.sort().join(',');
  }

  next(s: number, b: number): number {
    const t = this.trans[s]![b]!;
    return t !== UNKNOWN ? t : this.compute(s, b);
  }

  private compute(s: number, b: number): number {
    const nfa = this.nfa;
    const acc = new Set<number>();
    const { edgeStart, edgeLo, edgeHi, edgeTo } = nfa;
    for (const q of this.sets[s]!) {
      for (let k = edgeStart[q]!; k < edgeStart[q + 1]!; k++) {
        if (edgeLo[k]! <= b && b <= edgeHi[k]!) for (const r of nfa.closure(edgeTo[k]!)) acc.add(r);
      }
    }
    let t = DEAD;
    if (acc.size > 0) {
      const set = Int32Array.from(acc).sort();
      t = this.intern(set.join(','), set, false);
    }
    this.trans[s]![b] = t;
    return t;
  }

  private intern(key: string, set: Int32Array, initial: boolean): number {
    const hit = this.byKey.get(key);
    if (hit !== undefined) return hit;
    if (this.sets.length >= MAX_DFA_STATES) throw new Error('structured output: lexer DFA state limit reached');
    const id = this.sets.length;
    this.sets.push(set);
    this.trans.push(new Int32Array(256).fill(UNKNOWN));
    const accepting: number[] = [];
    if (!initial) {
      for (const q of set) {
        const lex = this.nfa.stateLexeme[q]!;
        if (this.nfa.lexAccept[lex] === q) accepting.push(lex);
      }
      accepting.sort((a, b) => a - b);
    }
    this.accepting.push(Int32Array.from(accepting));
    this.byKey.set(key, id);
    if (initial) this.initialStates.add(id);
    return id;
  }
}

function sameList(a: number[], b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
