// GBNF (llama.cpp's grammar syntax, as vLLM's guided_grammar accepts it with xgrammar) → grammar over lexemes.
// Every terminal becomes one-character lexemes, so no lexing decision is ever needed: the parse is exact.
import { Grammar, GrammarBuilder, GrammarError, Sym } from './grammar.js';
import { RNode, cls, negateRanges, normalizeRanges, MAX_CODE_POINT } from './regex-ast.js';

type Expr =
  | { k: 'chars'; r: number[] } // one character from the ranges
  | { k: 'ref'; name: string }
  | { k: 'seq'; xs: Expr[] }
  | { k: 'alt'; xs: Expr[] }
  | { k: 'rep'; x: Expr; min: number; max: number };

const MAX_REPEAT = 1000;

export function gbnfToGrammar(text: string): Grammar {
  const rules = new GbnfParser(text).parse();
  if (!rules.has('root')) throw new GrammarError('GBNF: no rule named "root"');
  const b = new GrammarBuilder();
  const nts = new Map<string, number>();
  for (const name of rules.keys()) nts.set(name, b.nonterminal(name));
  const charLexemes = new Map<string, Sym>();
  const lower = (e: Expr): Sym[] => {
    switch (e.k) {
      case 'chars': {
        const key = e.r.join(',');
        let s = charLexemes.get(key);
        if (s === undefined) {
          s = b.lexeme(cls(e.r) as RNode);
          charLexemes.set(key, s);
        }
        return [s];
      }
      case 'ref': {
        const nt = nts.get(e.name);
        if (nt === undefined) throw new GrammarError(`GBNF: rule "${e.name}" is used but not defined`);
        return [nt];
      }
      case 'seq':
        return e.xs.flatMap(lower);
      case 'alt': {
        const nt = b.nonterminal('group');
        for (const x of e.xs) b.rule(nt, lower(x));
        return [nt];
      }
      case 'rep': {
        const body = lower(e.x);
        const out: Sym[] = [];
        for (let i = 0; i < e.min; i++) out.push(...body);
        if (e.max === Infinity) {
          // left recursion: the parse state does not grow with the number of repetitions
          const star = b.nonterminal('star');
          b.rule(star, []);
          b.rule(star, [star, ...body]);
          out.push(star);
        } else {
          // nested optionals: (x (x (x)?)?)?
          let tail: number | null = null;
          for (let i = e.min; i < e.max; i++) {
            const o = b.nonterminal('optional');
            b.rule(o, []);
            b.rule(o, tail === null ? body : [...body, tail]);
            tail = o;
          }
          if (tail !== null) out.push(tail);
        }
        return out;
      }
    }
  };
  for (const [name, e] of rules) {
    const nt = nts.get(name)!;
    for (const alt of e.k === 'alt' ? e.xs : [e]) b.rule(nt, lower(alt));
  }
  return b.build(nts.get('root')!);
}

class GbnfParser {
  private i = 0;
  constructor(private readonly s: string) {}

  private fail(msg: string): never {
    const line = this.s.slice(0, this.i).split('\n').length;
    throw new GrammarError(`GBNF: ${msg} (line ${line})`);
  }

  private skipSpace(newlines: boolean): void {
    for (;;) {
      const c = this.s[this.i];
      if (c === '#') {
        while (this.i < this.s.length && this.s[this.i] !== '\n') this.i++;
      } else if (c === ' ' || c === '\t' || c === '\r' || (newlines && c === '\n')) this.i++;
      else break;
    }
  }

  parse(): Map<string, Expr> {
    const rules = new Map<string, Expr>();
    this.skipSpace(true);
    while (this.i < this.s.length) {
      const name = this.name();
      if (!name) this.fail(`expected a rule name, got ${JSON.stringify(this.s.slice(this.i, this.i + 10))}`);
      this.skipSpace(true);
      if (!this.s.startsWith('::=', this.i)) this.fail(`expected ::= after "${name}"`);
      this.i += 3;
      if (rules.has(name)) this.fail(`rule "${name}" defined twice`);
      rules.set(name, this.alternatives());
      this.skipSpace(true);
    }
    return rules;
  }

  private name(): string {
    const m = /^[A-Za-z0-9_-]+/.exec(this.s.slice(this.i, this.i + 200));
    if (!m) return '';
    this.i += m[0].length;
    return m[0];
  }

  /** does a new rule (name ::=) start here */
  private atRuleStart(): boolean {
    const m = /^[A-Za-z0-9_-]+[ \t]*(\r?\n[ \t]*)?::=/.exec(this.s.slice(this.i, this.i + 300));
    return m !== null;
  }

  private alternatives(): Expr {
    const xs: Expr[] = [this.sequence()];
    for (;;) {
      this.skipSpace(true);
      if (this.s[this.i] !== '|') break;
      this.i++;
      xs.push(this.sequence());
    }
    return xs.length === 1 ? xs[0]! : { k: 'alt', xs };
  }

  private sequence(): Expr {
    const xs: Expr[] = [];
    for (;;) {
      this.skipSpace(false);
      // a sequence may continue on the next line unless a new rule starts there
      if (this.s[this.i] === '\n') {
        const save = this.i;
        this.skipSpace(true);
        if (this.i >= this.s.length || this.atRuleStart() || this.s[this.i] === '|' || this.s[this.i] === ')') {
          this.i = save;
          break;
        }
      }
      const c = this.s[this.i];
      if (c === undefined || c === '|' || c === ')' || c === '\n') break;
      xs.push(this.postfix(this.primary()));
    }
    return xs.length === 1 ? xs[0]! : { k: 'seq', xs };
  }

  private primary(): Expr {
    const c = this.s[this.i]!;
    if (c === '"') return this.literal();
    if (c === '[') return this.charClass();
    if (c === '.') {
      this.i++;
      return { k: 'chars', r: [0, 9, 11, MAX_CODE_POINT] };
    }
    if (c === '(') {
      this.i++;
      const e = this.alternatives();
      this.skipSpace(true);
      if (this.s[this.i] !== ')') this.fail('missing )');
      this.i++;
      return e;
    }
    const name = this.name();
    if (!name) this.fail(`unexpected ${JSON.stringify(c)}`);
    return { k: 'ref', name };
  }

  private postfix(e: Expr): Expr {
    for (;;) {
      const c = this.s[this.i];
      if (c === '*') e = { k: 'rep', x: e, min: 0, max: Infinity };
      else if (c === '+') e = { k: 'rep', x: e, min: 1, max: Infinity };
      else if (c === '?') e = { k: 'rep', x: e, min: 0, max: 1 };
      else if (c === '{') {
        const m = /^\{\s*(\d+)\s*(,\s*(\d*)\s*)?\}/.exec(this.s.slice(this.i));
        if (!m) this.fail('bad {m,n} repetition');
        const min = Number(m[1]);
        const max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
        if (max < min || min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT)) this.fail(`repetition {${m[1]},${m[3] ?? ''}} out of range`);
        this.i += m[0].length;
        e = { k: 'rep', x: e, min, max };
        continue;
      } else return e;
      this.i++;
    }
  }

  private literal(): Expr {
    this.i++;
    const xs: Expr[] = [];
    for (;;) {
      const c = this.s[this.i];
      if (c === undefined || c === '\n') this.fail('unterminated string');
      if (c === '"') {
        this.i++;
        break;
      }
      const cp = this.char();
      xs.push({ k: 'chars', r: [cp, cp] });
    }
    return xs.length === 1 ? xs[0]! : { k: 'seq', xs };
  }

  private charClass(): Expr {
    this.i++;
    const negated = this.s[this.i] === '^';
    if (negated) this.i++;
    const r: number[] = [];
    for (;;) {
      const c = this.s[this.i];
      if (c === undefined) this.fail('unterminated character class');
      if (c === ']') {
        this.i++;
        break;
      }
      const lo = this.char();
      if (this.s[this.i] === '-' && this.s[this.i + 1] !== ']') {
        this.i++;
        const hi = this.char();
        if (hi < lo) this.fail('range out of order');
        r.push(lo, hi);
      } else r.push(lo, lo);
    }
    const n = normalizeRanges(r);
    return { k: 'chars', r: negated ? negateRanges(n) : n };
  }

  private char(): number {
    const c = this.s[this.i]!;
    if (c !== '\\') {
      const cp = this.s.codePointAt(this.i)!;
      this.i += cp > 0xffff ? 2 : 1;
      return cp;
    }
    const e = this.s[this.i + 1];
    this.i += 2;
    const hex = (n: number) => {
      const h = this.s.slice(this.i, this.i + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(h)) this.fail('bad hex escape');
      this.i += n;
      return parseInt(h, 16);
    };
    switch (e) {
      case 'n':
        return 10;
      case 't':
        return 9;
      case 'r':
        return 13;
      case 'x':
        return hex(2);
      case 'u':
        return hex(4);
      case 'U':
        return hex(8);
      case '\\':
      case '"':
      case '[':
      case ']':
      case '-':
      case '^':
        return e.charCodeAt(0);
      default:
        this.fail(`unknown escape \\${e ?? ''}`);
    }
  }
}


