// Compiled grammars share one lexer DFA (shared-lexer.ts) and map their own lexeme ids to its ids. A grammar whose
// lexemes another grammar has already used (under other ids) must give exactly the masks of a grammar with a lexer
// of its own, and must find the other grammar's states instead of building them again. Process-wide shape ids
// (lexeme-table.ts) are bounded and never given to two shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StructuredConstraint } from '../../src/engine/types.js';
import { CompiledGrammar } from '../../src/structured/compiled-grammar.js';
import { compileConstraint } from '../../src/structured/compile.js';
import { GrammarMatcher } from '../../src/structured/matcher.js';
import { LexerWalkCache } from '../../src/structured/lexer-walk.js';
import { MAX_SHARED_LEXEMES, SharedLexer, sharedLexer } from '../../src/structured/shared-lexer.js';
import { LexemeTable, MAX_SHAPE_IDS, shapeIdCount } from '../../src/structured/lexeme-table.js';
import { TokenTrie } from '../../src/structured/token-trie.js';
import { lit, rep, seq, cls } from '../../src/structured/regex-ast.js';
import { qwen } from './qwen-fixture.js';
import { allowedIds, rng } from './random-walk.js';

const q = qwen();
const words = Math.ceil(q.vocab.size / 32);
const trie = new TokenTrie(q.vocab);

const json = (schema: unknown): StructuredConstraint => ({ kind: 'json', schema }) as StructuredConstraint;
// the first schema has lexemes the second lacks (an enum, a number), so equal lexemes get different ids in the two
const first = json({ type: 'object', properties: { kind: { enum: ['x', 'y'] }, n: { type: 'number' }, name: { type: 'string' }, tags: { type: 'array', items: { type: 'string', maxLength: 12 } } }, required: ['kind', 'name'] });
const second = json({ type: 'object', properties: { name: { type: 'string' }, tags: { type: 'array', items: { type: 'string', maxLength: 12 } }, ok: { type: 'boolean' } }, required: ['name', 'tags', 'ok'] });

/** random outputs through matchers in lockstep (tokens drawn from the first's mask): every mask equal */
function lockstep(matchers: GrammarMatcher[], seed: number, walks: number, steps: number, make: () => GrammarMatcher[]): number {
  const next = rng(seed);
  const masks = matchers.map(() => new Int32Array(words));
  let compared = 0;
  for (let w = 0; w < walks; w++) {
    const ms = w === 0 ? matchers : make();
    for (let i = 0; i < steps; i++) {
      ms.forEach((m, k) => m.fillNextTokenBitmask(masks[k]!, 0));
      for (let k = 1; k < ms.length; k++) assert.deepEqual(masks[k], masks[0], `mask of matcher ${k} differs at step ${i} of walk ${w}`);
      compared++;
      const ids = allowedIds(masks[0]!).filter((id) => !q.vocab.eosIds.includes(id));
      if (ids.length === 0) break;
      const id = ids[Math.floor(next() * ids.length)]!;
      for (const m of ms) assert.equal(m.acceptToken(id), true);
    }
  }
  return compared;
}

test('a grammar on a lexer another grammar used gives the masks of a lexer of its own, and builds fewer states', () => {
  const shared = new SharedLexer();
  const walks = new LexerWalkCache();
  const a = new CompiledGrammar(compileConstraint(first), walks, true, shared);
  const drive = () => [new GrammarMatcher(a, q.vocab, trie)];
  lockstep(drive(), 3, 4, 60, drive);
  const statesAfterFirst = shared.dfa.stateCount;
  assert.ok(statesAfterFirst > 0);

  const own = new SharedLexer();
  const onShared = new CompiledGrammar(compileConstraint(second), walks, true, shared);
  const onOwn = new CompiledGrammar(compileConstraint(second), new LexerWalkCache(), true, own);
  const make = () => [new GrammarMatcher(onOwn, q.vocab, trie), new GrammarMatcher(onShared, q.vocab, trie)];
  const compared = lockstep(make(), 5, 4, 80, make);
  assert.ok(compared >= 100, `compared ${compared} masks`);
  const builtOnShared = shared.dfa.stateCount - statesAfterFirst;
  // the random strings differ between the walks, so only part of the states are met again
  assert.ok(builtOnShared < own.dfa.stateCount, `${builtOnShared} states built on the shared lexer, ${own.dfa.stateCount} on its own`);

  // the same schema compiled again (a new grammar, as after the compile cache dropped it): the same outputs build
  // no state at all
  const statesBefore = shared.dfa.stateCount;
  const recompiled = new CompiledGrammar(compileConstraint(second), walks, true, shared);
  const again = () => [new GrammarMatcher(onOwn, q.vocab, trie), new GrammarMatcher(recompiled, q.vocab, trie)];
  lockstep(again(), 5, 4, 80, again);
  assert.equal(shared.dfa.stateCount, statesBefore);
});

test('a full shared lexer is left to its grammars and a fresh one serves later grammars', () => {
  const before = sharedLexer();
  const table = new LexemeTable();
  const lexemes: number[] = [];
  for (let i = before.lexemes.count; i < MAX_SHARED_LEXEMES; i++) lexemes.push(table.add(lit(`k${i}`), 'raw', false));
  assert.equal(sharedLexer(), before, 'not full yet');
  const cg = new CompiledGrammar(compileConstraint(second));
  assert.equal(cg.lexer, before);
  for (const lex of lexemes) before.idOf(table, lex);
  assert.equal(before.full, true);
  const after = sharedLexer();
  assert.notEqual(after, before);
  assert.equal(after.lexemes.count, 0);
  assert.equal(cg.lexer, before, 'a grammar keeps the lexer it was compiled with');
  assert.equal(new CompiledGrammar(compileConstraint(second)).lexer, after);
});

test('shape ids are bounded (least recently used dropped) and never shared by two shapes', () => {
  const table = new LexemeTable();
  // distinct shapes: a different literal each (counted bounds are left out of shapes, literals are not)
  const n = MAX_SHAPE_IDS + 500;
  const ids: number[] = [];
  for (let i = 0; i < n; i++) ids.push(table.shapeId(table.add(seq([lit(`s${i}`), rep(cls([0x61, 0x7a]), 0, 5)]), 'raw', false)));
  assert.ok(shapeIdCount() <= MAX_SHAPE_IDS, `${shapeIdCount()} shape ids held`);
  assert.equal(new Set(ids).size, n, 'every shape its own id');
  // a recent shape keeps its id in a new table (the counted bound differs: same shape)
  const again = new LexemeTable();
  assert.equal(again.shapeId(again.add(seq([lit(`s${n - 1}`), rep(cls([0x61, 0x7a]), 0, 9)]), 'raw', false)), ids[n - 1]);
  // the first shape was dropped: met again it gets an id no other shape had
  const dropped = again.shapeId(again.add(seq([lit('s0'), rep(cls([0x61, 0x7a]), 0, 5)]), 'raw', false));
  assert.ok(!ids.includes(dropped), `the dropped shape got id ${dropped}, an id already given`);
  assert.ok(shapeIdCount() <= MAX_SHAPE_IDS);
});
