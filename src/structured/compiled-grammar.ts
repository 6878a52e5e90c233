// A compiled constraint: grammar + the process's shared lexer DFA (shared-lexer.ts) + the mask cache shared by
// every request using it.
import { sortAscending } from './sort-ascending.js';
import { mapKey } from './map-key.js';
import { Grammar } from './grammar.js';
import { type CanonicalState, LexerDfa } from './lexer-dfa.js';
import { SharedLexer, sharedLexer } from './shared-lexer.js';
import { SetKeyInterner } from './earley.js';
import { type BoundaryGroup, type SharedLexerWalk, type SlotGroup, LexerWalk, LexerWalkCache, describeState, walkLexer } from './lexer-walk.js';
import type { TokenTrie } from './token-trie.js';
import { splitDescription, walkSplitAtQuote } from './string-body-split.js';
import { type StoredMask, walkMaskOf } from './mask-store.js';
import { type StateClass, type StateClasses, stateClassesFor } from './state-classes.js';
import type { MemoClass, MemoEntry } from './mask-memo.js';

const MAX_CACHED_MASKS = 4096;
const MAX_CACHED_WALKS = 1024;
/** mask keys are parserStateKey * 2^20 + mask class */
export const MASK_CLASS_SPACE = 1048576;
const MAX_MASK_CLASSES = MASK_CLASS_SPACE;

/**
 * NFA states of lexeme automata a compile builds at most (well under 1 µs a state once V8 has compiled the
 * builder): all the automata of the largest bench grammar (125 schemas) hold ~860; a lexeme past what is left
 * (long copied repetitions) is built on first use.
 */
export const COMPILE_LEXEME_STATES = 10_000;

export class CompiledGrammar {
  /** the shared lexer's DFA: its states and lexeme ids are the shared lexer's, not this grammar's */
  readonly dfa: LexerDfa;
  readonly keys = new SetKeyInterner();
  private readonly masks = new Map<number, StoredMask>();
  /** this grammar's lexeme ids to the shared lexer's (-1: not asked yet) and back */
  private readonly sharedIds: Int32Array;
  private readonly localIds = new Map<number, number>();
  /** per DFA state: this grammar's ids of the lexemes it accepts (one object per state: the parser caches by it) */
  private readonly localAccepting = new Map<number, Int32Array>();
  private readonly startIds: number[] = [];
  /** initial's answers by a hash of the lexemes asked */
  private readonly initialStates = new Map<number, Array<{ lexemes: Int32Array; state: number }>>();
  /** what the lexer states' mask classes are made of, shared with other grammars (state-classes.ts) */
  private readonly stateClasses: StateClasses;

  /**
   * `splitAtQuote` false: every lexer walk crosses the whole trie and every mask walks the strings it opens byte by
   * byte (the exact reference the tests compare the split walks of string-body-split.ts and the opened strings'
   * token lists of string-open.ts against). Grammars with different settings need different walk caches.
   * `memoMasks` false: no mask is reused by the parser's answers (mask-memo.ts): every mask not in this grammar's
   * cache is computed (the reference the tests compare reused masks against).
   */
  constructor(
    readonly grammar: Grammar,
    private readonly sharedWalks: LexerWalkCache = new LexerWalkCache(),
    readonly splitAtQuote = true,
    readonly lexer: SharedLexer = sharedLexer(),
    private readonly memoMasks = true,
  ) {
    this.dfa = lexer.dfa;
    this.sharedIds = new Int32Array(grammar.lexemes.count).fill(-1);
    this.stateClasses = stateClassesFor(sharedWalks, lexer, splitAtQuote);
  }

  /** the DFA state before the first byte of any of `lexemes` (this grammar's ids, sorted; the first `count` of them) */
  initial(lexemes: ArrayLike<number>, count = lexemes.length): number {
    // every new parser set asks (several per mask): remembered here by this grammar's ids, where the shared DFA
    // would map them to its ids, sort them and hash them again
    let h = count;
    for (let i = 0; i < count; i++) h = Math.imul(h ^ lexemes[i]!, 0x9e3779b1) ^ (h >>> 15);
    h = mapKey(h);
    const bucket = this.initialStates.get(h);
    if (bucket) for (const e of bucket) if (sameList(e.lexemes, lexemes, count)) return e.state;
    const ids = this.startIds;
    ids.length = 0;
    const own = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      own[i] = lexemes[i]!;
      ids.push(this.sharedId(lexemes[i]!));
    }
    const state = this.dfa.initial(sortAscending(ids));
    const entry = { lexemes: own, state };
    if (bucket) bucket.push(entry);
    else this.initialStates.set(h, [entry]);
    return state;
  }

  /** this grammar's ids (sorted) of the lexemes DFA state `s` accepts: only states this grammar reached */
  acceptedLexemes(s: number): Int32Array {
    let acc = this.localAccepting.get(s);
    if (acc === undefined) {
      acc = this.toLocal(this.dfa.accepting[s]!).sort();
      this.localAccepting.set(s, acc);
    }
    return acc;
  }

  /**
   * Builds (or finds interned) the automata of the grammar's lexemes, which the lexer DFA otherwise builds on
   * first use, inside the mask that first needs it (keys of objects with additional properties, bounded numbers:
   * up to milliseconds each). The provider calls it when it compiles the grammar. `stateBudget` bounds the work:
   * NFA states built in all (a lexeme that would pass what is left is given up and built on first use, and so is
   * every lexeme after the budget is spent). An automaton that fails to build is left to the mask that needs it,
   * which fails its request with that error as it would have anyway. Returns the states built and the lexemes left.
   */
  buildLexemeAutomata(stateBudget: number): { states: number; left: number } {
    const shared = this.lexer.lexemes;
    let states = 0;
    let left = 0;
    for (let lex = 0; lex < this.sharedIds.length; lex++) {
      const room = stateBudget - states;
      let used = -1;
      if (room > 0) {
        try {
          used = shared.prebuild(this.sharedId(lex), room);
        } catch {
          // see above: the mask that needs it reports it
          used = 0;
        }
      }
      if (used < 0) left++;
      else states += used;
    }
    return { states, left };
  }

  /**
   * builds (or finds interned) the automata of the grammar's lexemes, one per step, as buildLexemeAutomata does
   * but without a budget: a mask worker runs it when idle, for what the compile left.
   */
  *lexemeAutomataBuilder(): Generator<void> {
    const shared = this.lexer.lexemes;
    for (let lex = 0; lex < this.sharedIds.length; lex++) {
      try {
        shared.automaton(this.sharedId(lex));
      } catch {
        // see above: the mask that needs it reports it
      }
      yield;
    }
  }

  private sharedId(lex: number): number {
    let id = this.sharedIds[lex]!;
    if (id < 0) {
      id = this.sharedIds[lex] = this.lexer.idOf(this.grammar.lexemes, lex);
      this.localIds.set(id, lex);
    }
    return id;
  }

  /** shared ids to this grammar's, in the same order */
  private toLocal(ids: Int32Array): Int32Array {
    const out = new Int32Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const lex = this.localIds.get(ids[i]!);
      // a state reached from this grammar's initial states holds only lexemes it mapped there
      if (lex === undefined) throw new Error('internal: a shared lexer state holds a lexeme of another grammar');
      out[i] = lex;
    }
    return out;
  }

  private readonly walks = new Map<number, LexerWalk>();
  /** lexer state -> its mask class; a class's id by its key (maskClass) */
  private readonly maskClassOf = new Map<number, number>();
  private readonly maskClassIds = new Map<string, number>();
  /** per mask class: 1 where its masks cannot depend on the parser (see maskKey) */
  private parserFree = new Uint8Array(64);
  /** per mask class: its key (maskClassIds backwards) */
  private classKeys: string[] = [];
  /** per mask class and lexeme start (2 * class + 1 at a start): its masks kept by trace, shared (memoClass) */
  private memoClasses: MemoClass[] = [];

  lexerWalk(lexState: number, trie: TokenTrie, words: number): LexerWalk;
  /** `onlyIfWalked`: null where the state's shared walk would have to be computed now (a trie walk) */
  lexerWalk(lexState: number, trie: TokenTrie, words: number, onlyIfWalked: boolean): LexerWalk | null;
  lexerWalk(lexState: number, trie: TokenTrie, words: number, onlyIfWalked = false): LexerWalk | null {
    let w = this.walks.get(lexState);
    if (w) return w;
    // a state another grammar described: its shared walk by key, without describing it again
    const known = this.stateClasses.get(lexState);
    const d = known ? null : this.describe(lexState, trie);
    const sharedKey = known ? known.sharedKey : d!.sharedKey;
    if (onlyIfWalked && !this.sharedWalks.has(sharedKey)) return null;
    const shared = this.sharedWalks.get(sharedKey, () => this.walkShared(lexState, trie, words, d ?? this.describe(lexState, trie)));
    const slotLexemes = known ? known.slotLexemes : d!.canon.slotLexemes;
    w = {
      trie: shared.trie,
      inner: shared.inner,
      boundaryCount: shared.boundaryCount,
      deepNodes: shared.deepNodes,
      boundaryGroups: localGroups(shared.boundarySlotGroups, this.toLocal(slotLexemes)),
    };
    if (this.walks.size < MAX_CACHED_WALKS) this.walks.set(lexState, w);
    if (d) {
      const accepting = this.dfa.accepting[lexState]!;
      this.stateClasses.set(lexState, {
        sharedKey,
        slotLexemes,
        classKey: w.deepNodes.length > 0 ? `L${lexState}` : `${sharedKey}|${slotLexemes.join(',')}|${accepting.join(',')}`,
        // no token leaves the lexeme (no boundary group, no deep node) and the state ends no lexeme (end of
        // sequence only where it ends one): the mask is the walk's mask, whatever the parser's state
        parserFree: w.boundaryGroups.length === 0 && w.deepNodes.length === 0 && accepting.length === 0,
      });
    }
    return w;
  }

  /** how the state's walk is shared: split at the quote or over the whole trie, and its description */
  private describe(lexState: number, trie: TokenTrie): { split: boolean; canon: CanonicalState; sharedKey: string } {
    const split = this.splitAtQuote ? splitDescription(this.dfa, trie, lexState) : null;
    const canon = split ?? describeState(this.dfa, trie, lexState);
    // split walks are told apart from whole-trie walks of equal description (their keys start with 'S')
    return { split: split !== null, canon, sharedKey: split ? `S${canon.key}` : canon.key };
  }

  private walkShared(lexState: number, trie: TokenTrie, words: number, d: { split: boolean; canon: CanonicalState }): SharedLexerWalk {
    if (!d.split) return walkLexer(this.dfa, trie, lexState, words, d.canon);
    this.sharedWalks.stats.split++;
    return walkSplitAtQuote(this.dfa, trie, lexState, words, d.canon);
  }

  /**
   * The mask cache's stand-in for a lexer state. States whose walk is shared whole (no deep nodes walked from the exact
   * state) and that map the walk's lexeme slots and accept alike give the same mask for a given parser state, so
   * they share one class: e.g. the body of a string without maxLength, whose states differ only by a room count
   * that no token can reach — one mask per parser state instead of one per character of the string (which filled
   * the mask cache and made later masks cold). States with deep nodes are their own class.
   */
  maskClass(lexState: number, trie: TokenTrie, words: number): number;
  /** `onlyIfWalked`: -1 where the state's shared walk would have to be computed now (see lexerWalk) */
  maskClass(lexState: number, trie: TokenTrie, words: number, onlyIfWalked: boolean): number;
  maskClass(lexState: number, trie: TokenTrie, words: number, onlyIfWalked = false): number {
    let id = this.maskClassOf.get(lexState);
    if (id !== undefined) return id;
    // another grammar's description of the state where there is one: no walk needed, even where it was dropped
    let c: StateClass | undefined = this.stateClasses.get(lexState);
    if (!c) {
      if (!this.lexerWalk(lexState, trie, words, onlyIfWalked)) return -1;
      c = this.stateClasses.get(lexState);
      if (!c) throw new Error('internal: a lexer walk left its state undescribed');
    }
    id = this.maskClassIds.get(c.classKey);
    if (id === undefined) {
      if (this.maskClassIds.size >= MAX_MASK_CLASSES) {
        // mask keys hold the class in 20 bits: start over rather than let two classes share an id
        this.maskClassIds.clear();
        this.maskClassOf.clear();
        this.masks.clear();
        this.classKeys = [];
        this.memoClasses = [];
      }
      id = this.maskClassIds.size;
      this.maskClassIds.set(c.classKey, id);
      this.classKeys[id] = c.classKey;
      if (id >= this.parserFree.length) {
        const grown = new Uint8Array(2 * id);
        grown.set(this.parserFree);
        this.parserFree = grown;
      }
      this.parserFree[id] = c.parserFree ? 1 : 0;
    }
    this.maskClassOf.set(lexState, id);
    return id;
  }

  /**
   * The mask cache's key of a state: its parser state's key and its mask class. A class whose masks cannot depend on
   * the parser (e.g. inside a property name, a literal no token can leave) is keyed by itself alone, so its mask is
   * computed once for every parser state it meets: on a first request every property is a new parser state.
   * `atLexemeStart`: the lexer is where the parser's next lexeme starts (its state is the parser's lexState): then
   * end of sequence is allowed where the parser accepts, so the parser counts.
   */
  maskKey(parserKey: number, cls: number, atLexemeStart: boolean): number {
    return this.parserBlind(cls, atLexemeStart) ? -1 - cls : parserKey * MASK_CLASS_SPACE + cls;
  }

  /**
   * the masks of class `cls` met here cannot depend on the parser (see maskKey): the lexer walk's own mask is the
   * mask, for every grammar that walks the same state (matchers take it without the parser's key or a computation)
   */
  parserBlind(cls: number, atLexemeStart: boolean): boolean {
    return !atLexemeStart && this.parserFree[cls] === 1;
  }

  /**
   * The mask at `lexState` of parser-free class `cls` (parserBlind): its walk's mask, kept per lexer state for every
   * grammar (StateClasses.walkMask); made now unless `onlyIfWalked` (then null where no walk of the state is known,
   * unless a worker's mask of the class was adopted here)
   */
  parserFreeMask(lexState: number, cls: number, trie: TokenTrie, words: number, onlyIfWalked: boolean): StoredMask | null {
    const key = -1 - cls;
    const own = this.masks.get(key);
    if (own) return own;
    let mask = this.stateClasses.walkMask(lexState);
    if (!mask) {
      const walk = this.lexerWalk(lexState, trie, words, onlyIfWalked);
      if (!walk) return null;
      mask = walkMaskOf(walk.inner);
      this.stateClasses.setWalkMask(lexState, mask);
    }
    this.storeMask(key, mask);
    return mask;
  }

  /**
   * the masks of class `cls` kept with the parser's answers they were computed from (mask-memo.ts), shared with every
   * grammar meeting the class; null where masks are not reused (memoMasks)
   */
  memoClass(cls: number, atLexemeStart: boolean): MemoClass | null {
    if (!this.memoMasks) return null;
    const i = 2 * cls + (atLexemeStart ? 1 : 0);
    let c = this.memoClasses[i];
    if (c === undefined) c = this.memoClasses[i] = this.stateClasses.memos.forClass(`${atLexemeStart ? 'S' : 'I'}${this.classKeys[cls]!}`);
    return c;
  }

  /** keep a computed mask with its trace in class `c` (from memoClass) */
  rememberMask(c: MemoClass, e: MemoEntry): void {
    this.stateClasses.memos.remember(c, e);
  }

  /** a mask was found among the kept masks instead of computed (MaskMemos.reused) */
  noteMemoReused(): void {
    this.stateClasses.memos.reused++;
  }

  /** masks found in this grammar's store of memo lists so far, by every grammar sharing it */
  get memoReused(): number {
    return this.stateClasses.memos.reused;
  }

  cachedMask(key: number): StoredMask | undefined {
    return this.masks.get(key);
  }

  storeMask(key: number, mask: StoredMask): void {
    // a full cache keeps what it has: the hot states of a schema are met first
    if (this.masks.size < MAX_CACHED_MASKS) this.masks.set(key, mask);
  }
}

/** whether `a` holds the first `n` numbers of `b` */
function sameList(a: Int32Array, b: ArrayLike<number>, n: number): boolean {
  if (a.length !== n) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** a shared walk's groups of boundary nodes with this grammar's sorted lexeme ids (distinct slots: distinct ids) */
function localGroups(groups: SlotGroup[], slotLexemes: Int32Array): BoundaryGroup[] {
  return groups.map(({ slots, ...byByte }) => ({ accepting: Int32Array.from(slots, (i) => slotLexemes[i]!).sort(), ...byByte }));
}
