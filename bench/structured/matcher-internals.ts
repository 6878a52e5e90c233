// The private parts of a GrammarMatcher the cold-mask benches read to say what a mask did (its compiled grammar,
// its lexer state, the parser's item count): one declaration for all of them.
import type { CompiledGrammar } from '../../src/structured/compiled-grammar.js';

export interface MatcherInternals {
  cg: CompiledGrammar;
  lex: number;
  parser: { work: number };
}
