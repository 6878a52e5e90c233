// A context-free grammar over lexemes. Builders (JSON Schema, regex, choice, GBNF) add rules; build() drops
// symbols that derive no finite string, so every parse prefix the parser keeps can still be completed.
import { RNode, nodeKey, nullable as regexNullable } from './regex-ast.js';
import type { Spelling } from './lexemes.js';
import { LexemeTable } from './lexeme-table.js';

/** symbol: >= 0 nonterminal, < 0 terminal (lexeme id = -sym - 1) */
export type Sym = number;
export const terminalSym = (lexeme: number): Sym => -lexeme - 1;
export const lexemeOf = (sym: Sym): number => -sym - 1;

export class GrammarError extends Error {}

export class GrammarBuilder {
  private readonly names: string[] = [];
  private readonly rules: Array<{ lhs: number; rhs: Sym[] }> = [];
  private readonly lexemeByKey = new Map<string, Sym>();
  private readonly nullableLexemeNt = new Map<string, Sym>();
  readonly lexemes = new LexemeTable();

  nonterminal(name: string): number {
    this.names.push(name);
    return this.names.length - 1;
  }

  rule(lhs: number, rhs: Sym[]): void {
    this.rules.push({ lhs, rhs });
  }

  /** a nonterminal with the given alternatives */
  choice(name: string, alternatives: Sym[][]): number {
    const nt = this.nonterminal(name);
    for (const a of alternatives) this.rule(nt, a);
    return nt;
  }

  /**
   * A symbol matching exactly the strings of `node` (spelled as `spelling`). A pattern that also matches the empty
   * string becomes a nonterminal with an empty alternative: lexemes themselves are never empty.
   */
  lexeme(node: RNode, spelling: Spelling = 'raw'): Sym {
    const key = spelling + nodeKey(node);
    const isNullable = regexNullable(node);
    if (isNullable) {
      const hit = this.nullableLexemeNt.get(key);
      if (hit !== undefined) return hit;
    }
    let t = this.lexemeByKey.get(key);
    if (t === undefined) {
      t = terminalSym(this.lexemes.add(node, spelling, isNullable, key));
      this.lexemeByKey.set(key, t);
    }
    if (!isNullable) return t;
    const nt = this.choice('nullable-lexeme', [[t], []]);
    this.nullableLexemeNt.set(key, nt);
    return nt;
  }

  build(start: number): Grammar {
    const lexLive = Array.from({ length: this.lexemes.count }, (_, i) => this.lexemes.lexemeLive(i));
    // productive nonterminals: fixed point over rules whose symbols are all productive
    const productive = new Uint8Array(this.names.length);
    let changed = true;
    const symOk = (s: Sym) => (s < 0 ? lexLive[lexemeOf(s)]! : productive[s] === 1);
    while (changed) {
      changed = false;
      for (const r of this.rules) {
        if (!productive[r.lhs] && r.rhs.every(symOk)) {
          productive[r.lhs] = 1;
          changed = true;
        }
      }
    }
    if (!productive[start]) throw new GrammarError('the constraint admits no output at all (its language is empty)');
    const kept = this.rules.filter((r) => productive[r.lhs] && r.rhs.every(symOk));
    // rule 0 is the augmented start S' -> start
    const all = [{ lhs: this.names.length, rhs: [start] }, ...kept];
    const ntCount = this.names.length + 1;
    return new Grammar(ntCount, all, this.lexemes);
  }
}

export class Grammar {
  readonly ruleLhs: Int32Array;
  readonly ruleStart: Int32Array;
  readonly ruleLen: Int32Array;
  readonly rhs: Int32Array;
  /** rules of each nonterminal, flat: ntRules[ntRuleStart[A] .. ntRuleStart[A+1]) */
  readonly ntRuleStart: Int32Array;
  readonly ntRules: Int32Array;
  readonly ntNullable: Uint8Array;
  readonly maxRuleLen: number;

  constructor(
    readonly ntCount: number,
    rules: Array<{ lhs: number; rhs: Sym[] }>,
    readonly lexemes: LexemeTable,
  ) {
    const n = rules.length;
    this.ruleLhs = new Int32Array(n);
    this.ruleStart = new Int32Array(n);
    this.ruleLen = new Int32Array(n);
    const flat: number[] = [];
    rules.forEach((r, i) => {
      this.ruleLhs[i] = r.lhs;
      this.ruleStart[i] = flat.length;
      this.ruleLen[i] = r.rhs.length;
      flat.push(...r.rhs);
    });
    this.rhs = Int32Array.from(flat);
    this.maxRuleLen = Math.max(1, ...rules.map((r) => r.rhs.length));
    const byNt: number[][] = Array.from({ length: ntCount }, () => []);
    rules.forEach((r, i) => byNt[r.lhs]!.push(i));
    this.ntRuleStart = new Int32Array(ntCount + 1);
    const nr: number[] = [];
    for (let a = 0; a < ntCount; a++) {
      this.ntRuleStart[a] = nr.length;
      nr.push(...byNt[a]!);
    }
    this.ntRuleStart[ntCount] = nr.length;
    this.ntRules = Int32Array.from(nr);
    this.ntNullable = new Uint8Array(ntCount);
    let changed = true;
    while (changed) {
      changed = false;
      rules.forEach((r) => {
        if (!this.ntNullable[r.lhs] && r.rhs.every((s) => s >= 0 && this.ntNullable[s] === 1)) {
          this.ntNullable[r.lhs] = 1;
          changed = true;
        }
      });
    }
  }

  get ruleCount(): number {
    return this.ruleLhs.length;
  }
}
