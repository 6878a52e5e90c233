// The lexer DFA's closure follows every epsilon edge of a state (lexer-dfa.ts): its stack starts small and grows. A
// pattern of many alternatives pushes past the first capacity at its first state; every alternative must still be
// reachable, and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { sharedLexer } from '../../src/structured/shared-lexer.js';
import { qwen } from './qwen-fixture.js';
import { accepts } from './walk.js';

const q = qwen();
const provider = createGrammarProvider(q.vocab);
const words = Math.ceil(q.vocab.size / 32);

test('a state with more epsilon edges than the closure stack first holds: every alternative, exact masks', () => {
  const alternatives = Array.from({ length: 150 }, (_, i) => `w${i.toString(36)}x`);
  const c = { kind: 'regex' as const, pattern: `(${alternatives.join('|')})` };
  const m = provider.create(c);
  const mask = new Int32Array(words);
  m.fillNextTokenBitmask(mask, 0);
  const stack = (sharedLexer().dfa as unknown as { stack: Float64Array }).stack;
  assert.ok(stack.length > 3 * 64, `closure stack ${stack.length} (its first capacity: 192)`);
  for (const w of alternatives) assert.equal(accepts(provider.create(c), q.encode(w)), true, w);
  for (const w of ['wx', 'w', 'w4', `w${(150).toString(36)}x`, 'wzzx']) assert.equal(accepts(provider.create(c), q.encode(w)), false, w);
  // the first mask: exactly the tokens the matcher accepts, over every token spelled with the pattern's first bytes
  for (const t of q.encode(alternatives.join(' ')).concat(q.encode('w'), q.encode('wx'), q.encode('x'))) {
    assert.equal(((mask[t >>> 5]! >>> (t & 31)) & 1) === 1, m.canAcceptToken(t), `token ${t}`);
  }
});
