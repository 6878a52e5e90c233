// After a complete lexeme that no byte continues (a `:`, a `,`, a closing quote), every token's first byte ends
// it: GrammarMatcher takes those tokens from the mask of the state after the lexeme, ANDed with the group's tokens
// (root-boundaries.ts), instead of walking each first byte's subtree. Such masks must equal token-by-token
// acceptance for every token, whether the state after the lexeme has a cached mask or not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StructuredConstraint } from '../../src/engine/types.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import type { GrammarMatcher } from '../../src/structured/matcher.js';
import type { CompiledGrammar } from '../../src/structured/compiled-grammar.js';
import { qwen } from './qwen-fixture.js';

const q = qwen();
const words = Math.ceil(q.vocab.size / 32);

interface Internals {
  cg: CompiledGrammar;
  lex: number;
}

/** the mask against canAcceptToken for every id of the vocabulary */
function assertExact(m: GrammarMatcher, where: string): void {
  const mask = new Int32Array(words);
  m.fillNextTokenBitmask(mask, 0);
  for (let id = 0; id < q.vocab.size; id++) {
    const inMask = (mask[id >>> 5]! >>> (id & 31)) & 1;
    if (inMask !== (m.canAcceptToken(id) ? 1 : 0)) assert.fail(`${where}: token ${id} ${JSON.stringify(q.vocab.tokenBytes[id] ? new TextDecoder().decode(q.vocab.tokenBytes[id]!) : '')} is ${inMask ? '' : 'not '}in the mask`);
  }
}

const schema = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 20 },
    count: { type: 'integer' },
    tags: { type: 'array', items: { enum: ['a', 'b', 'c'] } },
    kind: { anyOf: [{ type: 'number' }, { type: 'string', format: 'email' }, { type: 'null' }] },
  },
  required: ['name', 'count'],
};
const constraint = { kind: 'json', schema } as StructuredConstraint;
const text = '{"name": "Ada", "count": 12, "tags": ["a", "c"], "kind": null}';

test('masks after a complete lexeme (root groups) equal token-by-token acceptance, cold and after warm requests', () => {
  const provider = createGrammarProvider(q.vocab);
  let grouped = 0;
  for (let round = 0; round < 2; round++) {
    // the second round meets the same states with the first round's masks cached
    const m = provider.create(constraint);
    const ids = q.encode(text);
    for (let k = 0; k < ids.length; k++) {
      const mi = m as unknown as Internals;
      const walk = mi.cg.lexerWalk(mi.lex, provider.trie, words);
      if (walk.rootGroupAccepting.length > 0) {
        grouped++;
        assertExact(m, `round ${round}, token ${k}`);
      }
      assert.equal(m.acceptToken(ids[k]!), true);
    }
  }
  // `:` and `,` after each key and value at least
  assert.ok(grouped >= 8, `${grouped} masks came from root groups`);
});

test('a state some bytes continue (whitespace after a newline) is not grouped', () => {
  const provider = createGrammarProvider(q.vocab);
  const m = provider.create(constraint);
  assert.equal(m.acceptBytes(new TextEncoder().encode('{\n')), true);
  const mi = m as unknown as Internals;
  const walk = mi.cg.lexerWalk(mi.lex, provider.trie, words);
  assert.ok(walk.boundaryNodes.length > 0);
  assert.equal(walk.rootGroupAccepting.length, 0);
  assertExact(m, 'after "{\\n"');
});
