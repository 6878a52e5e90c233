// ECMAScript regular expression syntax → RNode. Only what a finite automaton can enforce exactly is accepted;
// backreferences, lookaround, word boundaries and anchors in the middle throw an error naming the construct.
import { RNode, ANY_CHAR, alt, ch, cls, negateRanges, normalizeRanges, rep, seq, MAX_CODE_POINT } from './regex-ast.js';

export class RegexSyntaxError extends Error {}

const DIGIT = [0x30, 0x39];
const WORD = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
const SPACE = [
  0x09, 0x0d, 0x20, 0x20, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x202f, 0x205f, 0x205f,
  0x3000, 0x3000, 0xfeff, 0xfeff,
];
const LINE_TERMINATORS = [0x0a, 0x0a, 0x0d, 0x0d, 0x2028, 0x2029];

export interface ParsedRegex {
  node: RNode;
}

/**
 * Parse `source`. `search` = JSON Schema `pattern` semantics (the pattern may match anywhere unless anchored);
 * otherwise the pattern must match the whole text (vLLM guided_regex), and ^/$ at the ends are no-ops.
 */
export function parseRegex(source: string, opts: { search: boolean }): RNode {
  const p = new Parser(source);
  const branches = p.parseTopLevel();
  const nodes = branches.map((b) => {
    const parts: RNode[] = [];
    if (opts.search && !b.startAnchored) parts.push(rep(ANY_CHAR, 0, Infinity));
    parts.push(b.node);
    if (opts.search && !b.endAnchored) parts.push(rep(ANY_CHAR, 0, Infinity));
    return seq(parts);
  });
  return alt(nodes);
}

interface Branch {
  node: RNode;
  startAnchored: boolean;
  endAnchored: boolean;
}

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  private fail(msg: string): never {
    throw new RegexSyntaxError(`regex ${JSON.stringify(this.s)}: ${msg} at offset ${this.i}`);
  }
  private peek(): string | undefined {
    return this.s[this.i];
  }
  private eat(c: string): boolean {
    if (this.s[this.i] === c) {
      this.i++;
      return true;
    }
    return false;
  }

  parseTopLevel(): Branch[] {
    const out: Branch[] = [];
    for (;;) {
      const startAnchored = this.eat('^');
      const node = this.parseSeq(true);
      let endAnchored = false;
      if (this.eat('$')) endAnchored = true;
      out.push({ node, startAnchored, endAnchored });
      if (this.i >= this.s.length) break;
      if (!this.eat('|')) this.fail(this.peek() === '$' || this.peek() === '^' ? 'anchor in the middle of a pattern is not supported' : `unexpected ${JSON.stringify(this.peek())}`);
    }
    return out;
  }

  private parseAlt(): RNode {
    const xs = [this.parseSeq(false)];
    while (this.eat('|')) xs.push(this.parseSeq(false));
    return alt(xs);
  }

  private parseSeq(top: boolean): RNode {
    const xs: RNode[] = [];
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === '|' || c === ')') break;
      if (c === '$' && top) {
        // only valid at the end of a top-level branch
        const next = this.s[this.i + 1];
        if (next === undefined || next === '|') break;
        this.fail('anchor $ in the middle of a pattern is not supported');
      }
      if (c === '^' || c === '$') this.fail(`anchor ${c} inside a group or in the middle is not supported`);
      xs.push(this.parseQuantified());
    }
    return seq(xs);
  }

  private parseQuantified(): RNode {
    let atom = this.parseAtom();
    for (;;) {
      const c = this.peek();
      let min: number;
      let max: number;
      if (c === '*') [min, max] = [0, Infinity];
      else if (c === '+') [min, max] = [1, Infinity];
      else if (c === '?') [min, max] = [0, 1];
      else if (c === '{') {
        const m = /^\{(\d+)(,(\d*))?\}/.exec(this.s.slice(this.i));
        if (!m) this.fail('lone { (write \\{ for a literal brace)');
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
        if (max < min) this.fail('quantifier {n,m} with m < n');
        if (max !== Infinity && max > 10000) this.fail('repetition bound above 10000 is not supported');
        this.i += m[0].length - 1;
      } else return atom;
      this.i++;
      this.eat('?'); // lazy quantifiers match the same language
      atom = rep(atom, min, max);
    }
  }

  private parseAtom(): RNode {
    const c = this.s[this.i++]!;
    switch (c) {
      case '(': {
        if (this.eat('?')) {
          if (this.eat(':')) {
            /* non-capturing */
          } else if (this.peek() === '<' && this.s[this.i + 1] !== '=' && this.s[this.i + 1] !== '!') {
            const end = this.s.indexOf('>', this.i);
            if (end < 0) this.fail('unterminated group name');
            this.i = end + 1;
          } else this.fail('lookaround assertions are not supported');
        }
        const inner = this.parseAlt();
        if (!this.eat(')')) this.fail('missing )');
        return inner;
      }
      case ')':
        this.fail('unbalanced )');
      case '[':
        return this.parseClass();
      case '.':
        return cls(negateRanges(LINE_TERMINATORS));
      case '\\':
        return this.parseEscape(false);
      case '*':
      case '+':
      case '?':
        this.fail(`nothing to repeat before ${c}`);
      default: {
        const cp = this.s.codePointAt(this.i - 1)!;
        if (cp > 0xffff) this.i++;
        return ch(cp);
      }
    }
  }

  /** after a backslash; inClass changes \b (backspace) and forbids class escapes in ranges */
  private parseEscape(inClass: boolean): RNode {
    const c = this.s[this.i++];
    if (c === undefined) this.fail('trailing backslash');
    switch (c) {
      case 'd':
        return cls(DIGIT);
      case 'D':
        return cls(negateRanges(DIGIT));
      case 'w':
        return cls(WORD);
      case 'W':
        return cls(negateRanges(WORD));
      case 's':
        return cls(SPACE);
      case 'S':
        return cls(negateRanges(SPACE));
      case 'b':
        if (inClass) return ch(8);
        this.fail('word boundary \\b is not supported');
      case 'B':
        this.fail('\\B is not supported');
      case 'p':
      case 'P':
        this.fail(`unicode property escape \\${c} is not supported`);
      case 'k':
        this.fail('named backreference is not supported');
      default:
        if (c >= '1' && c <= '9') this.fail('backreferences are not supported');
        return ch(this.escapedCodePoint(c));
    }
  }

  private escapedCodePoint(c: string): number {
    switch (c) {
      case 't':
        return 9;
      case 'n':
        return 10;
      case 'v':
        return 11;
      case 'f':
        return 12;
      case 'r':
        return 13;
      case '0':
        return 0;
      case 'c': {
        const l = this.s[this.i++];
        if (!l || !/[A-Za-z]/.test(l)) this.fail('bad \\c escape');
        return l.charCodeAt(0) % 32;
      }
      case 'x': {
        const h = this.s.slice(this.i, this.i + 2);
        if (!/^[0-9a-fA-F]{2}$/.test(h)) this.fail('bad \\x escape');
        this.i += 2;
        return parseInt(h, 16);
      }
      case 'u': {
        if (this.peek() === '{') {
          const end = this.s.indexOf('}', this.i);
          const h = this.s.slice(this.i + 1, end);
          if (end < 0 || !/^[0-9a-fA-F]{1,6}$/.test(h) || parseInt(h, 16) > MAX_CODE_POINT) this.fail('bad \\u{} escape');
          this.i = end + 1;
          return parseInt(h, 16);
        }
        const h = this.s.slice(this.i, this.i + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(h)) this.fail('bad \\u escape');
        this.i += 4;
        const hi = parseInt(h, 16);
        // a surrogate pair written as two escapes is one character
        if (hi >= 0xd800 && hi <= 0xdbff) {
          const m = /^\\u([dD][c-fC-F][0-9a-fA-F]{2})/.exec(this.s.slice(this.i));
          if (m) {
            this.i += 6;
            return 0x10000 + ((hi - 0xd800) << 10) + (parseInt(m[1]!, 16) - 0xdc00);
          }
        }
        return hi;
      }
      default: {
        const cp = this.s.codePointAt(this.i - 1)!;
        if (/[A-Za-z]/.test(c)) this.fail(`unknown escape \\${c}`);
        if (cp > 0xffff) this.i++;
        return cp;
      }
    }
  }

  private parseClass(): RNode {
    const negated = this.eat('^');
    const ranges: number[] = [];
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail('unterminated character class');
      if (c === ']' && !first) break;
      if (c === ']' && first) {
        // [] matches nothing, [^] matches anything (ECMAScript)
        break;
      }
      first = false;
      const lo = this.classAtom();
      if (this.peek() === '-' && this.s[this.i + 1] !== ']' && this.s[this.i + 1] !== undefined) {
        this.i++;
        const hi = this.classAtom();
        if (lo.length !== 2 || hi.length !== 2 || lo[0] !== lo[1] || hi[0] !== hi[1]) this.fail('class escape in a range');
        if (hi[0]! < lo[0]!) this.fail('range out of order in character class');
        ranges.push(lo[0]!, hi[0]!);
      } else ranges.push(...lo);
    }
    this.i++; // ]
    const r = normalizeRanges(ranges);
    return cls(negated ? negateRanges(r) : r);
  }

  private classAtom(): number[] {
    const c = this.s[this.i++]!;
    if (c === '\\') {
      const n = this.parseEscape(true);
      if (n.k !== 'cls') this.fail('unexpected escape in class');
      return n.r;
    }
    const cp = this.s.codePointAt(this.i - 1)!;
    if (cp > 0xffff) this.i++;
    return [cp, cp];
  }
}
