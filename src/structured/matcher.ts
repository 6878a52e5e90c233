// One request's position in a compiled grammar: advances by tokens and fills the allowed-token bitmask by walking
// the token trie through the lexer DFA, calling the Earley parser only where a lexeme ends inside a token.
import type { RequestGrammar } from '../engine/grammar.js';
import { CompiledGrammar } from './compiled-grammar.js';
import { EarleyParser } from './earley.js';
import { DEAD, MAX_LOOP_RUN } from './lexer-dfa.js';
import { type LexerWalk, loopSubtreeEnd } from './lexer-walk.js';
import { MaskAdoption, adoptionStateId } from './mask-adoption.js';
import { MaskScratch, maskScratch, StoredMask } from './mask-store.js';
import { type MemoClass, type MemoEntry, NO_QUESTION, ScanTrace } from './mask-memo.js';
import { QUOTE, quoteFreeSubtree, tokensInsideOpenedString } from './string-open.js';
import { BYTE_DEPTH, DEPTH_MASK, NODE_STRIDE, SEVERAL_TOKENS, SUBTREE_END, TOKEN, type TokenTrie, WIDE_SHIFT, WIDE_STRIDE, wideChild } from './token-trie.js';
import type { TokenVocab } from './token-vocab.js';

const NO_LEXEMES = new Int32Array(0);
const NO_EDGES = new Int32Array(8);

/** the identity of a finished matcher's mask (no token allowed: all zero), shared by every grammar */
const NO_TOKEN_MASK: object = Object.freeze({ mask: 'no token' });

/** the questions the mask being computed asked the parser (one computation at a time per thread) */
const trace = new ScanTrace();
/**
 * kept masks a lookup replays at most (newest first): a hit needed at most 3 on mask-bench's first requests (p90),
 * and a miss replaying all 8 of an answer cost up to ~6 µs more before its computation (2-core box)
 */
const MAX_TRIES = 3;
/** per question of a trace being replayed: the chart set its scan made */
let replaySets = new Int32Array(64);

/** bound on the parser work of one mask (typical masks need well under 10,000 items) */
const MAX_PARSER_ITEMS_PER_MASK = 2_000_000;

export class GrammarMatcher implements RequestGrammar {
  private readonly parser: EarleyParser;
  private lex: number;
  private finished = false;
  private readonly words: number;
  private readonly isEos: Uint8Array;
  private readonly lexStack: Int32Array;
  private readonly setStack: Int32Array;
  private readonly pathState: Int32Array;
  /**
   * per depth of the walk's path: 1 where the path is inside a string opened on it that continues as an unconstrained
   * body, with no `"` since (see string-open.ts): quote-free subtrees below are left to the opening quote's list
   */
  private readonly inOpenString: Uint8Array;

  constructor(
    private readonly cg: CompiledGrammar,
    private readonly vocab: TokenVocab,
    private readonly trie: TokenTrie,
  ) {
    this.parser = new EarleyParser(cg.grammar, cg, cg.keys);
    this.lex = this.parser.lexState;
    this.words = Math.ceil(vocab.size / 32);
    this.isEos = new Uint8Array(vocab.size);
    for (const e of vocab.eosIds) this.isEos[e] = 1;
    this.lexStack = new Int32Array(trie.maxDepth + 1);
    this.setStack = new Int32Array(trie.maxDepth + 1);
    this.pathState = new Int32Array(trie.maxDepth + 1);
    this.inOpenString = new Uint8Array(trie.maxDepth + 1);
  }

  /** the lexer DFA state (start-up pre-walks and benches read it) */
  get lexerState(): number {
    return this.lex;
  }

  /** advance one byte; on false the state may be partly advanced (callers restore) */
  private step(b: number): boolean {
    const dfa = this.cg.dfa;
    let ns = dfa.next(this.lex, b);
    if (ns >= 0) {
      this.lex = ns;
      return true;
    }
    const acc = this.cg.acceptedLexemes(this.lex);
    if (acc.length === 0 || !this.parser.scan(acc)) return false;
    ns = dfa.next(this.parser.lexState, b);
    if (ns < 0) return false;
    this.lex = ns;
    return true;
  }

  /** feed raw bytes (e.g. to test a text); false leaves the state unchanged */
  acceptBytes(bytes: ArrayLike<number>): boolean {
    const sets = this.parser.setCount;
    const lex = this.lex;
    for (let i = 0; i < bytes.length; i++) {
      if (!this.step(bytes[i]!)) {
        this.parser.truncate(sets);
        this.lex = lex;
        return false;
      }
    }
    return true;
  }

  acceptToken(tokenId: number): boolean {
    if (this.finished || tokenId < 0 || tokenId >= this.vocab.size) return false;
    if (this.isEos[tokenId]) {
      if (!this.eosAllowed()) return false;
      this.finished = true;
      return true;
    }
    const b = this.vocab.tokenBytes[tokenId];
    if (!b || b.length === 0) return false;
    return this.acceptBytes(b);
  }

  /** would the token be accepted now (the state is left unchanged) */
  canAcceptToken(tokenId: number): boolean {
    if (this.finished || tokenId < 0 || tokenId >= this.vocab.size) return false;
    if (this.isEos[tokenId]) return this.eosAllowed();
    const b = this.vocab.tokenBytes[tokenId];
    if (!b || b.length === 0) return false;
    const sets = this.parser.setCount;
    const lex = this.lex;
    let ok = true;
    for (let i = 0; i < b.length && ok; i++) ok = this.step(b[i]!);
    this.parser.truncate(sets);
    this.lex = lex;
    return ok;
  }

  /** the text so far is a complete sentence of the grammar */
  eosAllowed(): boolean {
    if (this.lex === this.parser.lexState) return this.parser.accepting;
    const acc = this.cg.acceptedLexemes(this.lex);
    if (acc.length === 0) return false;
    const sets = this.parser.setCount;
    if (!this.parser.scan(acc)) return false;
    const ok = this.parser.accepting;
    this.parser.truncate(sets);
    return ok;
  }

  isTerminated(): boolean {
    if (this.finished) return true;
    if (!this.eosAllowed()) return false;
    const sets = this.parser.setCount;
    const lex = this.lex;
    for (let b = 0; b < 256; b++) {
      const ok = this.step(b);
      this.parser.truncate(sets);
      this.lex = lex;
      if (ok) return false;
    }
    return true;
  }

  /**
   * Is the next mask already in the compiled grammar's cache (a copy: microseconds)? A false answer means
   * fillNextTokenBitmask will compute it (a cold mask: up to tens of milliseconds on a first request), so a
   * scheduler can give such rows to a worker thread and let the cached rows of the step go on without waiting.
   * Asking never computes a lexer walk (a state whose walk is not in the provider's walk cache is answered cold at
   * once), so a step's cold rows reach the workers without the engine thread walking the trie for them first.
   */
  nextMaskCached(): boolean {
    return this.cachedMaskIdentity() !== null;
  }

  /**
   * Has this thread walked the trie for the current lexer state (or is the matcher finished)? Then a cold next mask
   * costs the parser's part only, not a new walk (up to milliseconds): cheap enough for a thread that must not stall.
   */
  nextMaskWalked(): boolean {
    return this.finished || this.cg.maskClass(this.lex, this.trie, this.words, true) >= 0;
  }

  /** the cached next mask itself (see RequestGrammar.cachedMaskIdentity), or null: computes nothing either */
  cachedMaskIdentity(): object | null {
    if (this.finished) return NO_TOKEN_MASK;
    // a state's mask class needs its lexer walk; a new walk (up to milliseconds) is left to the thread that computes
    // the mask: no mask of that class can be cached before some walk of it was made (or only after an eviction from
    // the walk cache: then a cached mask is answered cold, which costs a worker round trip, never a wrong mask)
    const cls = this.cg.maskClass(this.lex, this.trie, this.words, true);
    if (cls < 0) return null;
    if (this.cg.parserBlind(cls, this.atLexemeStart)) return this.cg.parserFreeMask(this.lex, cls, this.trie, this.words, true);
    return this.cg.cachedMask(this.cg.maskKey(this.parser.stateKey(), cls, this.atLexemeStart)) ?? null;
  }

  /**
   * `mask` is the next mask of this matcher's current state, computed by another matcher of the same constraint (a
   * mask worker's mirror): cache it here, so the next request reaching this state copies it instead of asking the
   * workers again. The caller vouches that it is this state's mask; a wrong-length one is refused. `walkDiff`: the
   * mask's StoredMask.walkDiff where the other thread knew it (the store then compares no words).
   */
  adoptNextMask(mask: Int32Array, walkDiff: Int32Array | null = null): void {
    this.adoptionOf(mask, walkDiff)?.store();
  }

  /** the compiled grammar and the current state as an adoption's stateId (see mask-adoption.ts) */
  adoptionState(): { cg: CompiledGrammar; stateId: number } {
    return { cg: this.cg, stateId: adoptionStateId(this.parser.stateKey(), this.lex) };
  }

  /**
   * adoptNextMask in two parts (see mask-adoption.ts): the current state taken now (no walk: microseconds), the mask
   * cached by the adoption's store(), whatever this matcher did since. The adoption holds `mask` itself: store it at
   * once, or let AdoptionQueue.push copy it. null once finished (no next mask).
   */
  adoptionOf(mask: Int32Array, walkDiff: Int32Array | null = null): MaskAdoption | null {
    if (this.finished) return null;
    if (mask.length !== this.words) throw new Error(`structured output: an adopted mask has ${mask.length} words, expected ${this.words}`);
    return new MaskAdoption(this.cg, this.trie, this.parser.stateKey(), this.lex, this.atLexemeStart, mask, walkDiff);
  }

  private maskKey(cls = this.cg.maskClass(this.lex, this.trie, this.words)): number {
    return this.cg.maskKey(this.parser.stateKey(), cls, this.atLexemeStart);
  }

  /** the lexer is where the parser's next lexeme starts (see CompiledGrammar.maskKey) */
  private get atLexemeStart(): boolean {
    return this.lex === this.parser.lexState;
  }

  /** RequestGrammar.fillFromIdentity: `identity` is what cachedMaskIdentity() answered */
  fillFromIdentity(identity: object, out: Int32Array, offset: number): void {
    if (identity instanceof StoredMask) identity.writeTo(out, offset);
    else if (identity === NO_TOKEN_MASK) out.fill(0, offset, offset + this.words);
    else throw new Error('structured output: fillFromIdentity was given an object cachedMaskIdentity did not answer');
  }

  /** a stored mask is never changed (a cache entry over the walk's mask), nor is the no-token mask */
  maskIdentityLasts(identity: object): boolean {
    return identity instanceof StoredMask || identity === NO_TOKEN_MASK;
  }

  fillNextTokenBitmask(out: Int32Array, offset: number): void {
    const stored = this.nextStoredMask();
    if (stored) stored.writeTo(out, offset);
    else out.fill(0, offset, offset + this.words);
  }

  /** the next mask as the grammar's cache keeps it (computed and cached now if cold); null once finished (no token) */
  nextStoredMask(): StoredMask | null {
    if (this.finished) return null;
    const cls = this.cg.maskClass(this.lex, this.trie, this.words);
    // no parser key, nothing to compute or store: the walk's mask
    if (this.cg.parserBlind(cls, this.atLexemeStart)) return this.cg.parserFreeMask(this.lex, cls, this.trie, this.words, false);
    const key = this.maskKey(cls);
    const stored = this.cg.cachedMask(key);
    if (stored) return stored;
    // a mask another parser state answered alike for (mask-memo.ts): the parser's questions asked again, no walk
    const memo = this.cg.memoClass(cls, this.atLexemeStart);
    const walk = this.cg.lexerWalk(this.lex, this.trie, this.words);
    const found = memo ? this.keptMask(memo, walk) : null;
    if (found) {
      this.cg.noteMemoReused();
      this.cg.storeMask(key, found);
      return found;
    }
    const eos = this.computeMask(walk);
    const computed = maskScratch(this.words).store();
    this.cg.storeMask(key, computed);
    if (memo) {
      const e = trace.entry(eos, computed);
      if (e) this.cg.rememberMask(memo, e);
    }
    return computed;
  }

  /** a mask of class `memo` this state answers every question of alike, or null: the class's first question asked once */
  private keptMask(memo: MemoClass, walk: LexerWalk): StoredMask | null {
    const q = memo.firstQuery;
    if (q === null) return null;
    let candidates: MemoEntry[] | undefined;
    if (q === NO_QUESTION) candidates = memo.withFirstAnswer(NO_QUESTION);
    else {
      const parser = this.parser;
      const baseSets = parser.setCount;
      const answer = parser.scan(this.questionLexemes(q, walk)) ? parser.lexState : -1;
      parser.truncate(baseSets);
      candidates = memo.withFirstAnswer(answer);
    }
    if (candidates) for (let k = 0, n = Math.min(candidates.length, MAX_TRIES); k < n; k++) if (this.answersAlike(candidates[k]!, walk)) return candidates[k]!.mask;
    return null;
  }

  /** the lexemes a question scans (its query, see MemoEntry): a boundary group's of `walk`, or a DFA state's accepted ones */
  private questionLexemes(query: number, walk: LexerWalk): Int32Array {
    return query < 0 ? walk.boundaryGroups[-1 - query]!.accepting : this.cg.acceptedLexemes(query);
  }

  /** would this state's parser answer every question of `e` as the state it was computed for did (see mask-memo.ts) */
  private answersAlike(e: MemoEntry, walk: LexerWalk): boolean {
    const parser = this.parser;
    const baseSets = parser.setCount;
    const workStart = parser.work;
    const qs = e.questions;
    const n = qs.length / 3;
    if (replaySets.length < n) replaySets = new Int32Array(2 * n);
    const sets = replaySets;
    let alike = true;
    for (let i = 0; i < n && alike; i++) {
      const p = qs[3 * i]!;
      parser.truncate(p < 0 ? baseSets : sets[p]! + 1);
      boundWork(parser.work - workStart);
      const q = qs[3 * i + 1]!;
      const ok = parser.scan(this.questionLexemes(q, walk));
      alike = (ok ? parser.lexState : -1) === qs[3 * i + 2];
      if (ok) sets[i] = parser.setCount - 1;
    }
    parser.truncate(baseSets);
    return alike && this.eosAllowed() === e.eos;
  }

  /**
   * the next mask, into the scratch buffer (maskScratch): valid until the next mask is computed. The parser's
   * questions are noted in `trace`. Returns whether end of sequence is allowed.
   */
  private computeMask(walk: LexerWalk = this.cg.lexerWalk(this.lex, this.trie, this.words)): boolean {
    const scratch = maskScratch(this.words);
    scratch.start(walk.inner);
    // the walk's node lists index its own trie (a part of this.trie for walks split at a quote)
    const trie = walk.trie;
    const { nodes } = trie;
    const dfa = this.cg.dfa;
    const parser = this.parser;
    const lexStack = this.lexStack;
    const setStack = this.setStack;
    const baseSets = parser.setCount;
    const workStart = parser.work;
    trace.reset(baseSets - 1);
    const groups = walk.boundaryGroups;
    for (let g = 0; g < groups.length; g++) {
      const { accepting, nodes: group, byteStart, byteSet, byteIndex } = groups[g]!;
      // the lexemes ending before these nodes' bytes: the parser decides once what may follow, for the whole group
      parser.truncate(baseSets);
      boundWork(parser.work - workStart);
      const ok = parser.scan(accepting);
      trace.note(baseSets - 1, -1 - g, ok ? parser.lexState : -1);
      if (!ok) continue;
      const scanned = parser.setCount;
      const after = parser.lexState;
      const onEdges = dfa.edgeBytes(after);
      // the group's bytes the next lexeme may start with (on some edge of `after`), in ascending order
      for (let k = 0; k < 8; k++) {
        let live = byteSet[k]! & onEdges[k]!;
        while (live !== 0) {
          const low = live & -live;
          live ^= low;
          const b = (k << 5) | (31 - Math.clz32(low));
          const j = byteIndex[b]!;
          // can the next lexeme start with this byte: once for all the group's nodes with it
          const first = dfa.next(after, b);
          if (first < 0) continue;
          for (let q = byteStart[j]!; q < byteStart[j + 1]!; q++) {
            const top = group[q]!;
            if (parser.setCount !== scanned) {
              parser.truncate(scanned);
              boundWork(parser.work - workStart);
            }
            const byteDepth = nodes[NODE_STRIDE * top + BYTE_DEPTH]!;
            const topDepth = (byteDepth >>> 8) & DEPTH_MASK;
            lexStack[topDepth] = first;
            setStack[topDepth] = scanned;
            this.inOpenString[topDepth] = b === QUOTE && this.opensString(trie, top, first, scratch) ? 1 : 0;
            addOwnTokens(trie, top, scratch);
            this.walkChildren(trie, top, byteDepth, scratch);
          }
        }
      }
    }
    parser.truncate(baseSets);
    // the shared walk stopped at WALK_DEPTH where lexemes were still alive: go on from there exactly, starting
    // from the state its path of bytes (all inside the current lexemes) leads to. Deep nodes come in trie
    // order, so each path reuses the states of the common prefix with the previous one.
    const pathState = this.pathState;
    let prev: Uint8Array | null = null;
    let valid = 0; // pathState[0..valid] are the states after that many bytes of `prev`
    pathState[0] = this.lex;
    for (let q = 0; q < walk.deepNodes.length; q++) {
      const top = walk.deepNodes[q]!;
      const path = this.pathBytes(trie, top);
      let k = 0;
      if (prev) while (k < valid && k < path.length && path[k] === prev[k]) k++;
      let s = pathState[k]!;
      for (; k < path.length && s >= 0; k++) pathState[k + 1] = s = dfa.next(s, path[k]!);
      prev = path;
      valid = k;
      if (s < 0) continue;
      lexStack[trie.depthOf(top) - 1] = s;
      setStack[trie.depthOf(top) - 1] = baseSets;
      this.inOpenString[trie.depthOf(top) - 1] = 0;
      this.walkSubtree(trie, top, trie.endOf(top), scratch);
      parser.truncate(baseSets);
    }
    const eos = this.eosAllowed();
    if (eos) for (const e of this.vocab.eosIds) scratch.add(e);
    return eos;
  }

  /** the bytes leading to trie node `node` (excluding its own): a prefix of any token in its subtree */
  private pathBytes(trie: TokenTrie, node: number): Uint8Array {
    for (let i = node, end = trie.endOf(node); i < end; i++) {
      const t = trie.tokenOf(i);
      if (t >= 0) return this.vocab.tokenBytes[t]!.subarray(0, trie.depthOf(node) - 1);
    }
    throw new Error('internal: a token trie subtree without tokens');
  }

  /** the subtrees of node `p`'s children (`byteDepth`: p's BYTE_DEPTH field), p's state on lexStack/setStack */
  private walkChildren(trie: TokenTrie, p: number, byteDepth: number, mask: MaskScratch): void {
    const wide = byteDepth >>> WIDE_SHIFT;
    if (wide !== 0) this.walkWideChildren(trie, wide - 1, (byteDepth >>> 8) & DEPTH_MASK, mask);
    else this.walkSubtree(trie, p + 1, trie.nodes[NODE_STRIDE * p + SUBTREE_END]!, mask);
  }

  /**
   * The subtrees of wide node `w`'s children (at depth `d` + 1) whose byte the lexer can take from the node's state:
   * continuing its lexeme, or starting the next one where a lexeme ends there and the parser takes it. The other
   * children are rejected at their byte by walkSubtree anyway; here their nodes are never read.
   */
  private walkWideChildren(trie: TokenTrie, w: number, d: number, mask: MaskScratch): void {
    const dfa = this.cg.dfa;
    const parser = this.parser;
    const from = this.lexStack[d]!;
    const sets = this.setStack[d]!;
    if (parser.setCount !== sets) parser.truncate(sets);
    const onEdges = dfa.edgeBytes(from);
    const acc = this.cg.acceptedLexemes(from);
    // the set scanned here stays for the children's walk to reuse (EarleyParser.scan keeps it)
    let next: Int32Array = NO_EDGES;
    if (acc.length > 0) {
      const ok = parser.scan(acc);
      trace.note(sets - 1, from, ok ? parser.lexState : -1);
      if (ok) next = dfa.edgeBytes(parser.lexState);
    }
    const { wideChildren, nodes } = trie;
    const rec = WIDE_STRIDE * w;
    for (let k = 0; k < 8; k++) {
      let live = wideChildren[rec + k]! & (onEdges[k]! | next[k]!);
      while (live !== 0) {
        const low = live & -live;
        live ^= low;
        const c = wideChild(trie, w, (k << 5) | (31 - Math.clz32(low)));
        this.walkSubtree(trie, c, nodes[NODE_STRIDE * c + SUBTREE_END]!, mask);
      }
    }
  }

  /**
   * Quote node `node` was reached in lexer state `s`: if that opens a string that continues as an unconstrained body,
   * allow the subtree's tokens that stay inside it (string-open.ts) and answer true (the walk below then goes only
   * where a second quote is).
   */
  private opensString(trie: TokenTrie, node: number, s: number, mask: MaskScratch): boolean {
    if (!this.cg.splitAtQuote || !this.cg.dfa.continuesAsAnyStringBody(s, trie.maxDepth + 1)) return false;
    const tokens = tokensInsideOpenedString(trie, node);
    for (let k = 0; k < tokens.length; k++) mask.add(tokens[k]!);
    return true;
  }

  /**
   * Trie nodes [i, end), the states of their parents' depth already on lexStack/setStack: mark every token
   * whose bytes the lexer and parser accept, crossing lexeme ends through the parser.
   */
  private walkSubtree(trie: TokenTrie, i: number, end: number, mask: MaskScratch): void {
    const { nodes, tokenOrder, tokenStart } = trie;
    const dfa = this.cg.dfa;
    const parser = this.parser;
    const lexStack = this.lexStack;
    const setStack = this.setStack;
    const inOpenString = this.inOpenString;
    // the lexemes ending at the last parent state a lexeme end was tried from (siblings share their parent)
    let accFrom = -1;
    let acc: Int32Array = NO_LEXEMES;
    while (i < end) {
      const at = NODE_STRIDE * i;
      const byteDepth = nodes[at + BYTE_DEPTH]!;
      const d = (byteDepth >>> 8) & DEPTH_MASK;
      const inString = inOpenString[d - 1] === 1;
      if (inString && quoteFreeSubtree(trie, i)) {
        // its allowed tokens came with the opening quote's list
        i = nodes[at + SUBTREE_END]!;
        continue;
      }
      const parentLex = lexStack[d - 1]!;
      const parentSets = setStack[d - 1]!;
      if (parser.setCount !== parentSets) parser.truncate(parentSets);
      const b = byteDepth & 0xff;
      let from = parentLex;
      let ns = dfa.next(from, b);
      if (ns === DEAD) {
        if (parentLex !== accFrom) {
          accFrom = parentLex;
          acc = this.cg.acceptedLexemes(parentLex);
        }
        if (acc.length === 0) {
          i = nodes[at + SUBTREE_END]!;
          continue;
        }
        const ok = parser.scan(acc);
        trace.note(parentSets - 1, parentLex, ok ? parser.lexState : -1);
        if (!ok || (ns = dfa.next((from = parser.lexState), b)) < 0) {
          i = nodes[at + SUBTREE_END]!;
          continue;
        }
      }
      // e.g. the body of a string whose quote opened in this token: its whole subtree at once
      const loopEnd = loopSubtreeEnd(dfa, trie, i, from, ns, MAX_LOOP_RUN);
      if (loopEnd >= 0) {
        for (let k = tokenStart[i]!, e = tokenStart[loopEnd]!; k < e; k++) mask.add(tokenOrder[k]!);
        i = loopEnd;
        continue;
      }
      lexStack[d] = ns;
      setStack[d] = parser.setCount;
      inOpenString[d] = b !== QUOTE ? (inString ? 1 : 0) : this.opensString(trie, i, ns, mask) ? 1 : 0;
      const t = nodes[at + TOKEN]!;
      if (t >= 0) mask.add(t);
      else if (t === SEVERAL_TOKENS) for (let k = tokenStart[i]!, e = tokenStart[i + 1]!; k < e; k++) mask.add(tokenOrder[k]!);
      if (byteDepth >>> WIDE_SHIFT !== 0) {
        this.walkWideChildren(trie, (byteDepth >>> WIDE_SHIFT) - 1, d, mask);
        i = nodes[at + SUBTREE_END]!;
      } else i++;
    }
  }
}

/** one mask's parser work so far, against its bound: an extremely ambiguous grammar ends its request, never stalls the batch */
function boundWork(items: number): void {
  if (items > MAX_PARSER_ITEMS_PER_MASK) throw new Error(`structured output: computing one token mask needed more than ${MAX_PARSER_ITEMS_PER_MASK} parser items`);
}

/** add the tokens ending at trie node `i` (none, one, or several with the same bytes) */
function addOwnTokens(trie: TokenTrie, i: number, mask: MaskScratch): void {
  for (let k = trie.tokenStart[i]!, e = trie.tokenStart[i + 1]!; k < e; k++) mask.add(trie.tokenOrder[k]!);
}
