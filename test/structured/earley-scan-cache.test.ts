// The parser's scan notes (earley.ts): a scan repeated from the same set is answered from what the set remembers
// (the successor set still in place, or that the same lexemes found nothing), and those notes are dropped when the
// set they describe is rebuilt. The trie walk relies on both: it scans the same lexemes at every sibling node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GrammarBuilder } from '../../src/structured/grammar.js';
import { EarleyParser, SetKeyInterner } from '../../src/structured/earley.js';
import { lit } from '../../src/structured/regex-ast.js';

/** root ::= "a" "b" | "c" "d", with the lexer start state stood in by the allowed lexemes' ids */
function parser(): { p: EarleyParser; a: Int32Array; b: Int32Array; c: Int32Array; d: Int32Array } {
  const gb = new GrammarBuilder();
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((t) => gb.lexeme(lit(t)));
  const root = gb.choice('root', [
    [a!, b!],
    [c!, d!],
  ]);
  const g = gb.build(root);
  const ids = (s: number) => Int32Array.of(-s - 1);
  const starts = { initial: (lexemes: ArrayLike<number>, count: number) => Array.from(lexemes).slice(0, count).reduce((h, l) => h * 8 + l + 1, 0) };
  return { p: new EarleyParser(g, starts, new SetKeyInterner()), a: ids(a!), b: ids(b!), c: ids(c!), d: ids(d!) };
}

test('a failed scan is remembered for its set only while that set stands', () => {
  const { p, a, b, c, d } = parser();
  assert.equal(p.scan(b), false, 'b cannot start');
  assert.equal(p.setCount, 1);
  assert.equal(p.scan(b), false, 'asked again: still nothing');
  assert.equal(p.scan(a), true);
  assert.equal(p.scan(d), false, 'after a, d cannot follow');
  assert.equal(p.scan(d), false);
  // set 1 rebuilt by another lexeme: what was noted of the old set 1 no longer holds
  p.truncate(1);
  assert.equal(p.scan(c), true);
  assert.equal(p.scan(d), true, 'after c, d follows');
  assert.equal(p.accepting, true);
  // and back: after a again, b follows and d does not
  p.truncate(1);
  assert.equal(p.scan(a), true);
  assert.equal(p.scan(d), false);
  assert.equal(p.scan(b), true);
  assert.equal(p.accepting, true);
});

test('a successful scan repeated from the same set reuses the set in place, and a different one replaces it', () => {
  const { p, a, b, c } = parser();
  assert.equal(p.scan(a), true);
  const afterA = p.stateKey();
  p.truncate(1);
  assert.equal(p.scan(a), true);
  assert.equal(p.stateKey(), afterA);
  p.truncate(1);
  assert.equal(p.scan(c), true);
  assert.notEqual(p.stateKey(), afterA);
  assert.equal(p.scan(b), false, 'after c, b cannot follow');
});
