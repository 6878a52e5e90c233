import { test } from 'node:test';
import assert from 'node:assert/strict';
import { integerRegex, numberRegex, type Bounds } from '../../src/structured/json-schema/numbers.js';
import { LexemeTable } from '../../src/structured/lexeme-table.js';
import { LexerDfa } from '../../src/structured/lexer-dfa.js';
import type { RNode } from '../../src/structured/regex-ast.js';

function matcher(node: RNode | null): (text: string) => boolean {
  if (!node) return () => false;
  const lexemes = new LexemeTable();
  lexemes.add(node, 'raw', false);
  const dfa = new LexerDfa(lexemes);
  return (text) => {
    let s = dfa.initial([0]);
    for (let i = 0; i < text.length; i++) if ((s = dfa.next(s, text.charCodeAt(i))) < 0) return false;
    return dfa.accepting[s]!.length > 0;
  };
}

const inBounds = (v: number, b: Bounds) =>
  (b.loExclusive ? v > b.lo : v >= b.lo) && (b.hiExclusive ? v < b.hi : v <= b.hi);

const boundSets: Bounds[] = [];
for (const lo of [-Infinity, -12, -1, 0, 3, 10, 99]) {
  for (const hi of [Infinity, -3, 0, 1, 10, 100, 1234]) {
    for (const loExclusive of [false, true]) for (const hiExclusive of [false, true]) boundSets.push({ lo, hi, loExclusive, hiExclusive });
  }
}

test('integer ranges accept exactly the integers within the bounds', () => {
  for (const b of boundSets) {
    const m = matcher(integerRegex(b));
    for (let v = -40; v <= 1300; v++) assert.equal(m(String(v)), inBounds(v, b), `${v} in ${JSON.stringify(b)}`);
    for (const bad of ['01', '-0', '1.0', '1e2', '+1', '']) if (bad !== '') assert.equal(m(bad), false, bad);
  }
});

test('number ranges accept exactly the decimals within integer bounds', () => {
  const samples: string[] = [];
  for (let v = -30; v <= 1240; v += 1) samples.push(String(v), `${v}.5`, `${v}.05`, `${v}.0`);
  samples.push('-0.5', '0.25', '-0', '-0.0', '1e3', '00.5', '.5', '5.');
  for (const b of boundSets) {
    const m = matcher(numberRegex(b));
    for (const s of samples) {
      const unbounded = b.lo === -Infinity && b.hi === Infinity;
      const syntaxOk = (unbounded ? /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/ : /^-?(0|[1-9]\d*)(\.\d+)?$/).test(s);
      // accepting is allowed only for values in bounds (never an invalid one); canonical forms must be accepted
      if (m(s)) assert.ok(syntaxOk && inBounds(Number(s), b), `${s} accepted for ${JSON.stringify(b)}`);
      else if (syntaxOk && inBounds(Number(s), b) && !/\.\d*0$/.test(s) && s !== '-0') assert.fail(`${s} rejected for ${JSON.stringify(b)}`);
    }
  }
  assert.throws(() => numberRegex({ lo: 0.5, hi: Infinity, loExclusive: false, hiExclusive: false }), /fractional/);
});

test('bounds beyond 2^53 are exact', () => {
  const m = matcher(integerRegex({ lo: -Infinity, hi: 9223372036854775807, loExclusive: false, hiExclusive: false }));
  assert.equal(m('9223372036854775808'), true); // the double value of the bound
  assert.equal(m('9223372036854775809'), false);
  assert.equal(m('-99999999999999999999999'), true);
});
