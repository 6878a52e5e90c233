// The engine's GrammarProvider: compiles constraints once (cached by hash, errors included) and hands each
// request a matcher over the shared compiled grammar and token trie.
import type { GrammarProvider } from '../engine/grammar.js';
import type { StructuredConstraint } from '../engine/types.js';
import { COMPILE_LEXEME_STATES, CompiledGrammar } from './compiled-grammar.js';
import { compileConstraint, constraintHash } from './compile.js';
import { GrammarMatcher } from './matcher.js';
import { TokenTrie } from './token-trie.js';
import type { TokenVocab } from './token-vocab.js';
import { LexerWalkCache } from './lexer-walk.js';
import { prepareQuoteSplit } from './string-body-split.js';
import { warmUpMaskPath } from './warm-up.js';
import { prewalkFormats } from './format-prewalk.js';

export interface GrammarProviderOptions {
  /** compiled constraints kept (least recently used dropped first); default 256 */
  maxCompiled?: number;
  /**
   * false: lexer walks never split at a quote (string-body-split.ts) and no mask takes an opened string's token list
   * (string-open.ts): the exact reference for tests; default true
   */
  splitWalksAtQuote?: boolean;
  /** false: skip the start-up sample request that gets V8 to compile the mask path (warm-up.ts); default true */
  warmUp?: boolean;
  /** false: skip walking the built-in string formats' first bytes at start-up (format-prewalk.ts); default: warmUp */
  prewalkFormats?: boolean;
  /** false: no mask is reused by the parser's answers (mask-memo.ts), the exact reference for tests; default true */
  memoMasks?: boolean;
}

export class StructuredGrammarProvider implements GrammarProvider {
  readonly trie: TokenTrie;
  private readonly compiled = new Map<string, CompiledGrammar | Error>();
  private readonly maxCompiled: number;
  private readonly splitWalksAtQuote: boolean;
  private readonly memoMasks: boolean;
  /** lexer walks shared by all compiled grammars (they depend on the token trie only) */
  readonly walks = new LexerWalkCache();
  /** the warm-up's sample matchers, kept alive with the provider (see warm-up.ts) */
  private readonly warmUpSample: readonly GrammarMatcher[];

  constructor(
    readonly vocab: TokenVocab,
    opts: GrammarProviderOptions = {},
  ) {
    this.trie = new TokenTrie(vocab);
    this.maxCompiled = opts.maxCompiled ?? 256;
    this.splitWalksAtQuote = opts.splitWalksAtQuote ?? true;
    this.memoMasks = opts.memoMasks ?? true;
    // the split's one whole-trie walk, here rather than inside the first request's first object-key mask
    if (this.splitWalksAtQuote) prepareQuoteSplit(this.trie, Math.ceil(vocab.size / 32));
    this.warmUpSample = (opts.warmUp ?? true) ? warmUpMaskPath(vocab, this.trie, this.splitWalksAtQuote) : [];
    if (opts.prewalkFormats ?? opts.warmUp ?? true) prewalkFormats(vocab, this.trie, this.walks, this.splitWalksAtQuote);
  }

  compile(constraint: StructuredConstraint): CompiledGrammar {
    const key = constraintHash(constraint);
    let hit = this.compiled.get(key);
    if (hit) {
      this.compiled.delete(key);
      this.compiled.set(key, hit);
    } else {
      try {
        hit = this.compileUncached(constraint);
      } catch (e) {
        hit = e instanceof Error ? e : new Error(String(e));
      }
      this.compiled.set(key, hit);
      if (this.compiled.size > this.maxCompiled) this.compiled.delete(this.compiled.keys().next().value!);
    }
    if (hit instanceof Error) throw hit;
    return hit;
  }

  /** what compile does for a constraint it has not cached (benchmarks time it); the result is not cached */
  compileUncached(constraint: StructuredConstraint): CompiledGrammar {
    const cg = new CompiledGrammar(compileConstraint(constraint), this.walks, this.splitWalksAtQuote, undefined, this.memoMasks);
    // its lexemes' automata now, so that no mask pays for them (see COMPILE_LEXEME_STATES)
    cg.buildLexemeAutomata(COMPILE_LEXEME_STATES);
    return cg;
  }

  create(constraint: StructuredConstraint): GrammarMatcher {
    return new GrammarMatcher(this.compile(constraint), this.vocab, this.trie);
  }
}

export function createGrammarProvider(vocab: TokenVocab, opts?: GrammarProviderOptions): StructuredGrammarProvider {
  return new StructuredGrammarProvider(vocab, opts);
}
