// One lexer DFA for all compiled grammars of the process. Its lexemes are interned by identity (spelling +
// pattern), so the states of whitespace, `:`, `,`, keys, numbers and string bodies are built once and every
// schema that uses the same lexemes finds them ready, where a DFA per grammar rebuilt them in each schema's first
// masks. Grammars keep their own lexeme ids: CompiledGrammar maps them to and from this table's.
import { LexemeTable } from './lexeme-table.js';
import { LexerDfa } from './lexer-dfa.js';

/**
 * A full shared lexer is left to the grammars that use it and a fresh one serves grammars compiled later: this
 * bounds the memory held for grammars long gone (transition rows are 1 KiB a state).
 */
export const MAX_SHARED_STATES = 65536;
export const MAX_SHARED_LEXEMES = 65536;

export class SharedLexer {
  readonly lexemes = new LexemeTable();
  readonly dfa = new LexerDfa(this.lexemes);
  private readonly ids = new Map<string, number>();

  /** this lexer's id of lexeme `lex` of `table`, added on first use */
  idOf(table: LexemeTable, lex: number): number {
    const key = table.key(lex);
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.lexemes.add(table.node(lex), table.spelling(lex), table.nullable[lex], key);
      this.ids.set(key, id);
    }
    return id;
  }

  get full(): boolean {
    return this.dfa.stateCount >= MAX_SHARED_STATES || this.lexemes.count >= MAX_SHARED_LEXEMES;
  }
}

let current: SharedLexer | null = null;

/** the shared lexer new grammars use (a fresh one once the current is full) */
export function sharedLexer(): SharedLexer {
  if (current === null || current.full) current = new SharedLexer();
  return current;
}
