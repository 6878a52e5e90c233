// Masks that cross a `"` opening a string which continues as an unconstrained body take the quote node's list of
// tokens staying inside the string (string-open.ts) and walk only towards a second quote. The lists must hold exactly
// the tokens a plain JSON string accepts after its quote, and the masks must equal token-by-token acceptance and the
// masks of the reference provider (splitWalksAtQuote: false, which walks every opened string byte by byte).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { StructuredConstraint } from '../../src/engine/types.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { QUOTE, stringOpenStats, tokensInsideOpenedString } from '../../src/structured/string-open.js';
import { qwen } from './qwen-fixture.js';
import { compareAlongRandomOutputs } from './random-walk.js';

const q = qwen();
const words = Math.ceil(q.vocab.size / 32);
const enc = new TextEncoder();
const provider = createGrammarProvider(q.vocab, { warmUp: false });
const reference = createGrammarProvider(q.vocab, { warmUp: false, splitWalksAtQuote: false });
const bit = (mask: Int32Array, id: number) => ((mask[id >>> 5]! >>> (id & 31)) & 1) === 1;

test("a quote node's list holds the tokens a plain string takes after that quote, without a second quote", () => {
  const trie = provider.trie;
  // the root's child for `"`: every token starting with a quote is below it
  let quoteNode = -1;
  for (let i = 1; i < trie.nodeCount; i = trie.endOf(i)) if (trie.byteOf(i) === QUOTE) quoteNode = i;
  assert.ok(quoteNode > 0);
  const listed = new Set(tokensInsideOpenedString(trie, quoteNode));
  const m = provider.create({ kind: 'json', schema: { type: 'string' } });
  let inside = 0;
  let rejected = 0;
  for (let id = 0; id < q.vocab.size; id++) {
    const b = q.vocab.tokenBytes[id];
    if (!b || b.length < 2 || b[0] !== QUOTE) {
      assert.equal(listed.has(id), false, `token ${id} is not below the quote node`);
      continue;
    }
    const stays = !b.subarray(1).includes(QUOTE) && m.canAcceptToken(id);
    assert.equal(listed.has(id), stays, `token ${id} ${JSON.stringify(new TextDecoder().decode(b))}`);
    if (stays) inside++;
    else if (!b.subarray(1).includes(QUOTE)) rejected++;
  }
  assert.ok(inside > 200, `${inside} tokens stay inside`);
  assert.ok(rejected > 0, 'some quote-free tokens are not string bodies (bad escapes, control characters)');
  assert.equal(tokensInsideOpenedString(trie, quoteNode), tokensInsideOpenedString(trie, quoteNode), 'kept');
});

const schemas: unknown[] = [
  // keys where other properties are allowed (the spec default) and plain string values: strings open after `{`, `,`,
  // whitespace and `:`
  { type: 'object', properties: { name: { type: 'string' }, note: { type: 'string' }, n: { type: 'integer' } } },
  // no other keys (key literals only) and strings that do not continue as any body
  { type: 'object', properties: { code: { type: 'string', pattern: '^[A-Z]{2}$' }, tag: { type: 'string', maxLength: 3 }, s: { type: 'string' } }, additionalProperties: false },
  { type: 'array', items: { anyOf: [{ type: 'string' }, { type: 'object', properties: { k: { type: 'string' } } }] } },
];

test('masks crossing an opened string agree with token-by-token acceptance for every token', () => {
  const c: StructuredConstraint = { kind: 'json', schema: schemas[0] };
  const m = provider.create(c);
  const mask = new Int32Array(words);
  const texts = ['{', '\n  ', '"name"', ': ', '"a b",', ' ', '"note": "x"', ', "zz":', ' '];
  const usesBefore = stringOpenStats.uses;
  for (let k = 0; k < texts.length; k++) {
    assert.equal(m.acceptBytes(enc.encode(texts[k]!)), true, texts[k]);
    m.fillNextTokenBitmask(mask, 0);
    for (let id = 0; id < q.vocab.size; id++) {
      if (bit(mask, id) !== m.canAcceptToken(id)) assert.fail(`token ${id} ${JSON.stringify(q.vocab.tokenBytes[id] && new TextDecoder().decode(q.vocab.tokenBytes[id]!))} after ${JSON.stringify(texts.slice(0, k + 1).join(''))}: mask ${bit(mask, id)}`);
    }
  }
  assert.ok(stringOpenStats.uses > usesBefore, 'the masks took opened strings\' lists');
});

test('masks equal the reference along random outputs (seeded, quotes preferred)', () => {
  const usesBefore = stringOpenStats.uses;
  let compared = 0;
  schemas.forEach((schema, s) => (compared += compareAlongRandomOutputs(provider, reference, q.vocab, { kind: 'json', schema }, 77 + s, 3, 25, 0.6)));
  assert.ok(compared > 150, `${compared} masks compared`);
  assert.ok(stringOpenStats.uses > usesBefore, 'the random outputs crossed opened strings');
});
