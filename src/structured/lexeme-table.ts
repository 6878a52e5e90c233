// The lexemes of one grammar. Compiling a grammar only records each lexeme's pattern; its automaton is built on
// first use by the lexer DFA and interned process-wide by pattern, so identical lexemes (plain strings, numbers
// with the same bounds, formats, punctuation) are built once for all grammars.
import { RNode, containsKind, nodeKey, nullable as regexNullable } from './regex-ast.js';
import { LexemeNfa, Spelling, StateBudgetExceeded, classIsEmpty, isCountedRep, isRegionPattern } from './lexemes.js';
import { MAX_LEXEME_STATES } from './lexer-dfa.js';

/** one lexeme's finalized automaton: a LexemeNfa holding exactly that lexeme */
export interface LexemeAutomaton {
  nfa: LexemeNfa;
  start: number;
  accept: number;
}

const MAX_INTERNED = 4096;
/** lexeme ids are packed with NFA states into the lexer DFA's configurations */
const MAX_LEXEMES = 1 << 20;
const interned = new Map<string, LexemeAutomaton>();
/** shape ids kept (least recently used dropped first) */
export const MAX_SHAPE_IDS = 4096;
/**
 * Process-wide shape ids by shape (see shapeKey). Ids are never reused: a shape dropped and met again gets a new
 * one, so two shapes never share an id (equal ids are what lets lexer walks be shared); tables keep the ids they
 * took, and a shape met again under a new id only misses the walks made under the old one.
 */
const shapeIds = new Map<string, number>();
let nextShapeId = 0;

/** the process-wide id of a lexeme's shape (spelling + shapeKey) */
function shapeIdOf(spelling: Spelling, node: RNode): number {
  const shape = spelling + shapeKey(node);
  let sid = shapeIds.get(shape);
  if (sid !== undefined) shapeIds.delete(shape);
  else {
    sid = nextShapeId++;
    if (shapeIds.size >= MAX_SHAPE_IDS) shapeIds.delete(shapeIds.keys().next().value!);
  }
  shapeIds.set(shape, sid);
  return sid;
}

/** shape ids held now (bounded by MAX_SHAPE_IDS; tests read this) */
export function shapeIdCount(): number {
  return shapeIds.size;
}

/**
 * process-wide: lexeme automata built so far and their time, and builds given up for being over a budget (their
 * lexemes are built on first use instead; `overBudgetMs` is the time spent on them) (benchmarks read these)
 */
export const lexemeBuildStats = { built: 0, ms: 0, overBudget: 0, overBudgetMs: 0 };

/** `budget`: states the build may use (see LexemeNfa), or it throws StateBudgetExceeded and interns nothing */
function internedAutomaton(key: string, node: RNode, spelling: Spelling, budget?: number): LexemeAutomaton {
  let a = interned.get(key);
  if (a) {
    // least recently used first out; grammars keep their own references
    interned.delete(key);
  } else {
    const t = performance.now();
    const nfa = new LexemeNfa(true, budget);
    try {
      nfa.add(node, spelling, false);
    } catch (e) {
      if (e instanceof StateBudgetExceeded) {
        lexemeBuildStats.overBudget++;
        lexemeBuildStats.overBudgetMs += performance.now() - t;
      }
      throw e;
    }
    nfa.finalize();
    if (nfa.stateCount > MAX_LEXEME_STATES) throw new Error('structured output: lexer automaton too large (too many repetitions)');
    a = { nfa, start: nfa.lexStart[0]!, accept: nfa.lexAccept[0]! };
    lexemeBuildStats.built++;
    lexemeBuildStats.ms += performance.now() - t;
    if (interned.size >= MAX_INTERNED) interned.delete(interned.keys().next().value!);
  }
  interned.set(key, a);
  return a;
}

/** drop the process-wide automata (grammars keep the ones they use); later lexemes are built afresh */
export function clearInternedLexemes(): void {
  interned.clear();
}

/**
 * The pattern with the bounds of its counted regions left out: lexemes of equal shape build automata with the
 * same states and edges (only the counters' bounds differ), so lexer walks can be shared between them.
 */
function shapeKey(n: RNode, inRegion = false): string {
  const key = (x: RNode) => shapeKey(x, inRegion);
  switch (n.k) {
    case 'cls':
      return `[${n.r.join(',')}]`;
    case 'seq':
      return `(${n.xs.map(key).join(' ')})`;
    case 'alt':
      return `<${n.xs.map(key).join('|')}>`;
    case 'rep':
      // as LexemeNfa builds them: no counted repetition inside a counted region
      return !inRegion && isCountedRep(n) ? `${key(n.x)}{#}` : `${key(n.x)}{${n.min},${n.max}}`;
    case 'json':
      return `J${key(n.x)}`;
    case 'len':
      return !inRegion && isRegionPattern(n.x) ? `L#${shapeKey(n.x, true)}` : JSON.stringify(n);
    case 'notOneOf':
    case 'and':
      return JSON.stringify(n);
  }
}

/** does the pattern match at least one non-empty string (exact, for patterns without intersections) */
function matchesNonEmpty(n: RNode, spelling: Spelling): boolean {
  const anyString = (x: RNode, sp: Spelling): boolean => {
    switch (x.k) {
      case 'cls':
        return !classIsEmpty(x.r, sp);
      case 'seq':
        return x.xs.every((y) => anyString(y, sp));
      case 'alt':
        return x.xs.some((y) => anyString(y, sp));
      case 'rep':
        return x.min <= x.max && (x.min === 0 || anyString(x.x, sp));
      case 'json':
        return anyString(x.x, 'json');
      case 'notOneOf':
        return true;
      case 'and':
      case 'len':
        throw new Error('internal: intersections and lengths are checked on their automaton');
    }
  };
  const nonEmpty = (x: RNode, sp: Spelling): boolean => {
    switch (x.k) {
      case 'cls':
        return anyString(x, sp);
      case 'seq':
        return x.xs.every((y) => anyString(y, sp)) && x.xs.some((y) => nonEmpty(y, sp));
      case 'alt':
        return x.xs.some((y) => nonEmpty(y, sp));
      case 'rep':
        return x.min <= x.max && x.max >= 1 && nonEmpty(x.x, sp);
      case 'json':
        return nonEmpty(x.x, 'json');
      case 'notOneOf':
        return true;
      case 'and':
      case 'len':
        throw new Error('internal: intersections and lengths are checked on their automaton');
    }
  };
  return nonEmpty(n, spelling);
}


/** intersections and lengths have no syntactic test of emptiness (see lexemeLive) */
const CHECKED_ON_AUTOMATON: ReadonlyArray<RNode['k']> = ['and', 'len'];

export class LexemeTable {
  private readonly nodes: RNode[] = [];
  private readonly spellings: Spelling[] = [];
  private readonly keys: string[] = [];
  private readonly automata: Array<LexemeAutomaton | undefined> = [];
  private readonly shapeIds: number[] = [];
  readonly nullable: boolean[] = [];

  get count(): number {
    return this.nodes.length;
  }

  /** lexemes whose automaton this table has taken so far */
  get builtCount(): number {
    return this.automata.reduce((n, a) => n + (a ? 1 : 0), 0);
  }

  /** the lexeme's pattern */
  node(lex: number): RNode {
    return this.nodes[lex]!;
  }

  /** `key`: spelling + nodeKey(node), when the caller has it already */
  add(node: RNode, spelling: Spelling, isNullable: boolean = regexNullable(node), key = spelling + nodeKey(node)): number {
    const id = this.nodes.length;
    if (id >= MAX_LEXEMES) throw new Error(`structured output: more than ${MAX_LEXEMES} distinct lexemes`);
    this.nodes.push(node);
    this.spellings.push(spelling);
    this.keys.push(key);
    this.automata.push(undefined);
    this.nullable.push(isNullable);
    this.shapeIds.push(-1);
    return id;
  }

  /** how the lexeme's pattern is spelled */
  spelling(lex: number): Spelling {
    return this.spellings[lex]!;
  }

  /** the lexeme's identity: spelling + nodeKey(node) (equal keys, equal lexemes) */
  key(lex: number): string {
    return this.keys[lex]!;
  }

  /** process-wide id of the lexeme's shape (see shapeKey), computed on first use (lexer walks only) */
  shapeId(lex: number): number {
    let sid = this.shapeIds[lex]!;
    if (sid < 0) this.shapeIds[lex] = sid = shapeIdOf(this.spellings[lex]!, this.nodes[lex]!);
    return sid;
  }

  /** the lexeme's automaton, built (or taken from the process-wide cache) on first use */
  automaton(lex: number): LexemeAutomaton {
    let a = this.automata[lex];
    if (!a) {
      a = internedAutomaton(this.keys[lex]!, this.nodes[lex]!, this.spellings[lex]!);
      this.automata[lex] = a;
    }
    return a;
  }

  /**
   * Builds the lexeme's automaton (or takes it from the process-wide cache) if that needs at most `budget` NFA
   * states; returns the states it used (0 when it was built already), or -1 when over the budget: nothing is
   * kept then, and the lexeme is built on first use as without this call.
   */
  prebuild(lex: number, budget: number): number {
    if (this.automata[lex]) return 0;
    const key = this.keys[lex]!;
    const known = interned.has(key);
    try {
      this.automata[lex] = internedAutomaton(key, this.nodes[lex]!, this.spellings[lex]!, budget);
    } catch (e) {
      if (e instanceof StateBudgetExceeded) return -1;
      throw e;
    }
    return known ? 0 : this.automata[lex]!.nfa.stateCount;
  }

  /**
   * Can the lexeme match at least one non-empty string. Intersections and lengths have no syntactic test: their
   * lexeme is built now (so a too large product is a compile error, not a failure during generation).
   */
  lexemeLive(lex: number): boolean {
    const node = this.nodes[lex]!;
    if (this.automata[lex] || containsKind(node, CHECKED_ON_AUTOMATON)) return this.automaton(lex).nfa.lexemeLive(0);
    return matchesNonEmpty(node, this.spellings[lex]!);
  }
}
