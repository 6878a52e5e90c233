// Earley parser over lexemes with the Aycock–Horspool nullable fix. The chart is a stack of item sets in flat
// typed arrays: scanning pushes a set, truncate() pops back (the token-trie walk uses this to backtrack without
// allocating). Each set knows its allowed lexemes (as the lexer DFA's initial state) and whether it accepts.
import { Grammar, lexemeOf } from './grammar.js';

/** where a lexer starts: the DFA state before the first byte of any of a set of lexemes */
export interface LexerStarts {
  /** `lexemes`: the grammar's ids, sorted */
  initial(lexemes: ArrayLike<number>): number;
}

export class EarleyParser {
  private iRule = new Int32Array(1024);
  private iDot = new Int32Array(1024);
  private iOrigin = new Int32Array(1024);
  private nItems = 0;
  private setStart = new Int32Array(256);
  private setLexState = new Int32Array(256);
  private setAccepting = new Uint8Array(256);
  private setKey = new Int32Array(256);
  /** per set k: the accepting lexemes its successor set k+1 was last scanned with (null = none cached) */
  private scannedWith: Array<Int32Array | null> = [];
  private nSets = 0;
  private readonly dedupe = new Set<number>();
  private readonly predictedStamp: Int32Array;
  private readonly lexStamp: Int32Array;
  private stamp = 0;
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
    this.dedupe.clear();
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
    for (let j = k; j < this.scannedWith.length; j++) this.scannedWith[j] = null;
    this.ensureSets(k + 2);
    this.setStart[k + 1] = to;
    this.nSets = k + 2;
    this.dedupe.clear();
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
      return false;
    }
    this.closeSet(k + 1);
    this.scannedWith[k] = lexemes;
    return true;
  }

  private closeSet(k: number): void {
    const g = this.g;
    const st = ++this.stamp;
    this.allowed.length = 0;
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
          this.allowed.push(lex);
        }
        continue;
      }
      if (this.predictedStamp[s] !== st) {
        this.predictedStamp[s] = st;
        for (let q = g.ntRuleStart[s]!; q < g.ntRuleStart[s + 1]!; q++) this.addItem(g.ntRules[q]!, 0, k);
      }
      if (g.ntNullable[s]) this.addItem(r, d + 1, origin);
    }
    this.allowed.sort(ascending);
    this.setLexState[k] = this.starts.initial(this.allowed);
    this.setAccepting[k] = accepting;
    this.setKey[k] = -1;
    this.setStart[k + 1] = this.nItems;
  }

  private addItem(r: number, d: number, origin: number): void {
    const key = (r * (this.g.maxRuleLen + 1) + d) * 4194304 + origin;
    if (this.dedupe.has(key)) return;
    this.dedupe.add(key);
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
    const parts: string[] = [];
    for (let i = this.setStart[k]!; i < this.setStart[k + 1]!; i++) {
      const o = this.iOrigin[i]!;
      parts.push(`${this.iRule[i]}.${this.iDot[i]}.${o === k ? 's' : this.keyOf(o)}`);
    }
    parts.sort();
    const id = this.keys.intern(parts.join(' '));
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

export class SetKeyInterner {
  private readonly ids = new Map<string, number>();
  intern(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.ids.size;
      this.ids.set(s, id);
    }
    return id;
  }
}

/** one comparator for every set (a closure made per call gave V8 a new call target each time: deopts) */
const ascending = (x: number, y: number): number => x - y;
