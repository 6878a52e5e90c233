// Lexer walks split at the quote (string-body-split.ts): inside a JSON string whose continuations up to the next
// `"` are exactly those of an unconstrained string body (object keys where other properties are allowed), the
// walk is the shared string-body walk for tokens without a `"` plus an exact walk over the tokens with one. The
// masks must equal those of whole-trie walks (the provider with splitWalksAtQuote: false) and token-by-token
// acceptance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StructuredConstraint } from '../../src/engine/types.js';
import { LexemeTable } from '../../src/structured/lexeme-table.js';
import { LexerDfa } from '../../src/structured/lexer-dfa.js';
import { ANY_CHAR, RNode, ch, jsonSpelled, lit, rep, seq } from '../../src/structured/regex-ast.js';
import { notOneOf } from '../../src/structured/json-schema/to-grammar.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { quoteSplitReady } from '../../src/structured/string-body-split.js';
import { WALK_DEPTH } from '../../src/structured/token-trie.js';
import type { CompiledGrammar } from '../../src/structured/compiled-grammar.js';
import { qwen } from './qwen-fixture.js';
import { compareAlongRandomOutputs } from './random-walk.js';

const enc = new TextEncoder();
/** tokens of at most LONGEST - 1 characters */
const LONGEST = 100;
const jsonString = (body: RNode): RNode => seq([ch(0x22), jsonSpelled(body), ch(0x22)]);

/** the lexer state after `text`, for a DFA over `lexemes` (all allowed at the start) */
function stateAfter(lexemes: RNode[], text: string | Uint8Array): { dfa: LexerDfa; s: number } {
  const table = new LexemeTable();
  for (const l of lexemes) table.add(l, 'raw', false);
  const dfa = new LexerDfa(table);
  let s = dfa.initial(lexemes.map((_, i) => i));
  for (const b of typeof text === 'string' ? enc.encode(text) : text) {
    s = dfa.next(s, b);
    assert.ok(s >= 0, `${JSON.stringify(text)} is a prefix`);
  }
  return { dfa, s };
}

test('which lexer states continue as an unconstrained string body until the quote', () => {
  const key = [jsonString(notOneOf(['name', 'nick'])), jsonString(lit('name')), jsonString(lit('nick'))];
  const yes = (lexemes: RNode[], text: string | Uint8Array) => {
    const { dfa, s } = stateAfter(lexemes, text);
    return dfa.continuesAsAnyStringBody(s, LONGEST);
  };
  // object keys with other properties allowed: at the start, along a declared name, past it, after a character
  for (const text of ['"', '"n', '"nam', '"name', '"names', '"x', '"é', '"\\n']) assert.equal(yes(key, text), true, text);
  assert.equal(yes([jsonString(rep(ANY_CHAR, 0, Infinity))], '"abc'), true, 'plain string');
  // inside a character or an escape, a bounded or patterned body, only literals, the closing quote: no
  for (const text of ['"\\', '"\\u00']) assert.equal(yes(key, text), false, text);
  assert.equal(yes(key, Uint8Array.of(0x22, 0xc3)), false, 'inside a two-byte character');
  assert.equal(yes(key, '"name"'), false, 'after the closing quote');
  // a maxLength leaving more room than the longest token: yes; less: no
  assert.equal(yes([jsonString(rep(ANY_CHAR, 0, LONGEST + 2))], '"ab'), true, 'maxLength with room');
  assert.equal(yes([jsonString(rep(ANY_CHAR, 0, LONGEST + 2))], '"abc'), false, 'maxLength with too little room');
  assert.equal(yes([jsonString(rep(ANY_CHAR, 0, 40))], '"ab'), false, 'maxLength 40');
  // answers depend on the token length bound asked for (walks from capped descriptions ask for WALK_DEPTH + 1)
  const mid = stateAfter([jsonString(rep(ANY_CHAR, 0, 80))], '"ab');
  assert.equal(mid.dfa.continuesAsAnyStringBody(mid.s, LONGEST), false, 'room 78 for tokens of 99 characters');
  assert.equal(mid.dfa.continuesAsAnyStringBody(mid.s, WALK_DEPTH + 1), true, 'room 78 for tokens of 64 bytes');
  assert.equal(mid.dfa.continuesAsAnyStringBody(mid.s, LONGEST), false, 'cached per bound');
  assert.equal(yes([jsonString(seq([lit('a'), rep(ANY_CHAR, 0, Infinity)]))], '"'), false, 'before a required prefix');
  assert.equal(yes([jsonString(lit('name')), jsonString(lit('nick'))], '"n'), false, 'enum of literals');
  assert.equal(yes([seq([ch(0x22), rep(ANY_CHAR, 0, Infinity)])], '"ab'), false, 'raw-spelled body');
  const init = stateAfter(key, '');
  assert.equal(init.dfa.continuesAsAnyStringBody(init.s, LONGEST), false, 'initial state');
});

const q = qwen();
const words = Math.ceil(q.vocab.size / 32);
const split = createGrammarProvider(q.vocab);
const whole = createGrammarProvider(q.vocab, { splitWalksAtQuote: false });

/** random walks through a constraint: at each step both providers' masks must be equal, quotes preferred half the time */
const compareRandomWalks = (c: StructuredConstraint, seed: number, walks: number, steps: number): number => compareAlongRandomOutputs(split, whole, q.vocab, c, seed, walks, steps, 0.5);

const schemas: unknown[] = [
  { type: 'object', properties: { name: { type: 'string' }, nick: { type: 'string', maxLength: 5 }, 'a"b': { type: 'integer' }, 'é😀': { type: 'boolean' } } },
  { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'], additionalProperties: { type: 'object', properties: { x: { enum: ['a', 'b\\c'] } } } },
  { type: 'object', properties: { tag: { anyOf: [{ type: 'string' }, { enum: ['t1', 't2'] }, { type: 'null' }] } }, patternProperties: { '^x-': { type: 'string' } } },
  { type: 'array', items: { type: 'object', properties: { k: { type: 'string', pattern: '^[a-z]+$' }, v: {} } } },
  { type: 'object', properties: { long: { type: 'string', maxLength: 140 }, short: { type: 'string', minLength: 2, maxLength: 200 } }, required: ['long', 'short'] },
  // rooms between WALK_DEPTH and the longest token: capped descriptions, split with long tokens walked exactly
  { type: 'object', properties: { mid: { type: 'string', maxLength: 100 }, tag: { anyOf: [{ type: 'string', minLength: 70, maxLength: 90 }, { enum: ['t1'] }] } }, additionalProperties: { type: 'string', maxLength: 120 } },
  // rooms of 17 to 64 characters: split for tokens of at most 16 bytes, longer ones walked exactly
  { type: 'object', properties: { title: { type: 'string', maxLength: 40 }, code: { type: 'string', minLength: 20, maxLength: 30 }, tag: { anyOf: [{ type: 'string', maxLength: 25 }, { enum: ['t1'] }] } }, additionalProperties: { type: 'string', maxLength: 50 } },
];

test('split walks give the masks of whole-trie walks along random outputs (seeded)', () => {
  let compared = 0;
  schemas.forEach((schema, i) => (compared += compareRandomWalks({ kind: 'json', schema }, 1000 + i, 4, 30)));
  compared += compareRandomWalks({ kind: 'json_object' }, 7, 4, 30);
  assert.ok(compared > 300, `${compared} masks compared`);
  assert.ok(split.walks.stats.split > 10, `${split.walks.stats.split} walks split at a quote`);
  assert.equal(whole.walks.stats.split, 0);
});

test('split-walk masks agree with token-by-token acceptance for every token (object keys)', () => {
  const c: StructuredConstraint = { kind: 'json', schema: schemas[0] };
  const m = split.create(c);
  const mask = new Int32Array(words);
  const texts = ['{', '\n  "', 'n', 'am', 'e', '": "x", "', 'a\\"'];
  let keyStates = 0;
  for (const text of texts) {
    assert.equal(m.acceptBytes(enc.encode(text)), true, text);
    m.fillNextTokenBitmask(mask, 0);
    for (let id = 0; id < q.vocab.size; id++) {
      const bit = ((mask[id >>> 5]! >>> (id & 31)) & 1) === 1;
      if (bit !== m.canAcceptToken(id)) assert.fail(`token ${id} ${JSON.stringify(q.vocab.tokenBytes[id] && new TextDecoder().decode(q.vocab.tokenBytes[id]!))} after ${JSON.stringify(texts.slice(0, texts.indexOf(text) + 1).join(''))}: mask ${bit}`);
    }
    keyStates++;
  }
  assert.equal(keyStates, texts.length);
  assert.ok(split.walks.stats.split > 0);
});

test('providers build the split\'s whole-trie string-body walk when created, not inside a mask', () => {
  assert.equal(quoteSplitReady(split.trie), true);
  assert.equal(quoteSplitReady(whole.trie), false, 'the whole-trie reference never splits');
  const fresh = createGrammarProvider(q.vocab, { prewalkFormats: false }); // (format walks would be counted below)
  assert.equal(quoteSplitReady(fresh.trie), true);
  // the first object-key mask of a fresh provider walks the quote trie only (about 2k nodes, not ~330k)
  const m = fresh.create({ kind: 'json', schema: { type: 'object', properties: { a: { type: 'integer' } } } });
  assert.equal(m.acceptBytes(enc.encode('{"')), true);
  m.fillNextTokenBitmask(new Int32Array(words), 0);
  assert.equal(fresh.walks.stats.split, 1);
  assert.ok(fresh.walks.stats.nodesVisited < 20_000, `${fresh.walks.stats.nodesVisited} trie nodes walked`);
});

test('split-walk masks agree with token-by-token acceptance for every token (string with 65+ characters of room)', () => {
  const c: StructuredConstraint = { kind: 'json', schema: schemas[5] };
  const fresh = createGrammarProvider(q.vocab, { prewalkFormats: false }); // its walk cache is empty: every walk below is computed here
  const m = fresh.create(c);
  const mask = new Int32Array(words);
  const texts = ['{', '"mid": "', 'abc', ' \\" é ', '", "zz": "', 'x'.repeat(30)];
  const internals = m as unknown as { cg: CompiledGrammar; lex: number };
  for (const text of texts) {
    assert.equal(m.acceptBytes(enc.encode(text)), true, text);
    m.fillNextTokenBitmask(mask, 0);
    if (text !== '{') {
      // inside the string: split walks are shared by exact room, so no long token is left to each mask
      const walk = internals.cg.lexerWalk(internals.lex, fresh.trie, words);
      assert.notEqual(walk.trie, fresh.trie, `${text}: split`);
      assert.equal(walk.deepNodes.length, 0, `${text}: deep nodes`);
    }
    for (let id = 0; id < q.vocab.size; id++) {
      const bit = ((mask[id >>> 5]! >>> (id & 31)) & 1) === 1;
      if (bit !== m.canAcceptToken(id)) assert.fail(`token ${id} after ${JSON.stringify(texts.slice(0, texts.indexOf(text) + 1).join(''))}: mask ${bit}`);
    }
  }
  // '"mid": "' + 'abc' (room 97) and '"zz": "' + 30 characters (room 90): capped descriptions, split
  assert.ok(fresh.walks.stats.split >= 2, `${fresh.walks.stats.split} walks split`);
  assert.ok(fresh.walks.stats.nodesVisited < 100_000, `${fresh.walks.stats.nodesVisited} trie nodes walked (a whole-trie walk is ~330k)`);
  // tokens longer than WALK_DEPTH exist (so the capped split's exact part is exercised)
  assert.ok(q.vocab.tokenBytes.some((b) => b && b.length > WALK_DEPTH && !b.includes(0x22)));
});

test('split-walk masks agree with token-by-token acceptance for every token (strings with 17 to 64 characters of room)', () => {
  const c: StructuredConstraint = { kind: 'json', schema: schemas[6] };
  const fresh = createGrammarProvider(q.vocab);
  const m = fresh.create(c);
  const mask = new Int32Array(words);
  const texts = ['{', '"title": "', 'abc', ' \\" é ', 'x'.repeat(15), '", "code": "', 'y'.repeat(12), 'y'.repeat(9), '", "zz": "', 'zz'];
  const internals = m as unknown as { cg: CompiledGrammar; lex: number };
  let split16 = 0;
  for (const text of texts) {
    assert.equal(m.acceptBytes(enc.encode(text)), true, text);
    m.fillNextTokenBitmask(mask, 0);
    const walk = internals.cg.lexerWalk(internals.lex, fresh.trie, words);
    // the 16-byte split's exact trie: tokens with a quote or more than 16 bytes (far fewer than the whole trie)
    if (walk.trie !== fresh.trie && walk.trie.nodeCount > 10_000) split16++;
    for (let id = 0; id < q.vocab.size; id++) {
      const bit = ((mask[id >>> 5]! >>> (id & 31)) & 1) === 1;
      if (bit !== m.canAcceptToken(id)) assert.fail(`token ${id} after ${JSON.stringify(texts.slice(0, texts.indexOf(text) + 1).join(''))}: mask ${bit}`);
    }
  }
  // inside "title" after 'abc' (room 37), after the escape (room 32), after the x's (room 17), "code" (room 18),
  // the additional property (room 48)
  assert.ok(split16 >= 5, `${split16} walks over the 16-byte split`);
});
