import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utf8Sequences } from '../../src/structured/utf8.js';
import { parseRegex, RegexSyntaxError } from '../../src/structured/regex-parser.js';
import { LexemeTable } from '../../src/structured/lexeme-table.js';
import { LexerDfa } from '../../src/structured/lexer-dfa.js';
import type { RNode } from '../../src/structured/regex-ast.js';

function matches(seqs: Array<Array<[number, number]>>, bytes: Uint8Array): number {
  return seqs.filter((s) => s.length === bytes.length && s.every(([lo, hi], i) => lo <= bytes[i]! && bytes[i]! <= hi)).length;
}

test('utf8Sequences: every code point in range is matched by exactly one sequence, nothing outside', () => {
  const enc = new TextEncoder();
  const ranges: Array<[number, number]> = [[0x41, 0x5a], [0x7f, 0x801], [0xd000, 0xe100], [0xfff0, 0x10010], [0x10fff0, 0x10ffff]];
  for (const [lo, hi] of ranges) {
    const seqs = utf8Sequences(lo, hi);
    for (let cp = lo - 3; cp <= hi + 3; cp++) {
      if (cp < 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) continue;
      const inRange = cp >= lo && cp <= hi;
      assert.equal(matches(seqs, enc.encode(String.fromCodePoint(cp))), inRange ? 1 : 0, `U+${cp.toString(16)}`);
    }
  }
});

/** run a single lexeme over bytes through the lazy DFA */
function fullMatch(node: RNode, text: string, spelling: 'raw' | 'json' = 'raw'): boolean {
  const lexemes = new LexemeTable();
  lexemes.add(node, spelling, false);
  const dfa = new LexerDfa(lexemes);
  let s = dfa.initial([0]);
  for (const b of new TextEncoder().encode(text)) {
    s = dfa.next(s, b);
    if (s < 0) return false;
  }
  return dfa.accepting[s]!.length > 0;
}

test('regex: ECMAScript syntax compiles to byte automata that agree with RegExp', () => {
  const cases: Array<[string, string[]]> = [
    ['\\d{3}-[a-z]+', ['123-abc', '12-abc', '123-', '1234-a', '123-ABC']],
    ['(foo|bar)?baz*', ['baz', 'foobazzz', 'barba', 'foo', 'ba']],
    ['[^a-c]\\w\\s.', ['da b', 'aa b', 'd_\t!', 'é1 x', 'x1 \n']],
    ['a{2,3}(?:b|c){0,2}', ['aa', 'aaabc', 'aaaa', 'abc', 'aacc']],
    ['[\\u00e0-\\u00ff]+😀?', ['àé', 'àé😀', 'a😀', '😀']],
    ['x\\.y\\/z\\u{1F600}', ['x.y/z😀', 'xay/z😀']],
  ];
  for (const [re, inputs] of cases) {
    const node = parseRegex(re, { search: false });
    const js = new RegExp(`^(?:${re})$`, 'u');
    for (const input of inputs) assert.equal(fullMatch(node, input), js.test(input), `${re} on ${JSON.stringify(input)}`);
  }
});

test('regex: search semantics for JSON Schema pattern (unanchored unless ^/$)', () => {
  assert.equal(fullMatch(parseRegex('ab', { search: true }), 'xxabyy'), true);
  assert.equal(fullMatch(parseRegex('^ab', { search: true }), 'xxab'), false);
  assert.equal(fullMatch(parseRegex('^ab$', { search: true }), 'ab'), true);
  assert.equal(fullMatch(parseRegex('ab$', { search: true }), 'abx'), false);
});

test('regex: constructs an automaton cannot enforce are refused by name', () => {
  for (const [re, word] of [['(a)\\1', 'backreference'], ['a(?=b)', 'lookaround'], ['\\bword', 'word boundary'], ['a^b', 'anchor'], ['\\p{L}', 'property']]) {
    assert.throws(() => parseRegex(re!, { search: false }), (e: Error) => e instanceof RegexSyntaxError && e.message.includes(word!));
  }
});

test('json spelling: characters are matched in JSON.stringify form only', () => {
  const any: RNode = { k: 'rep', x: { k: 'cls', r: [0, 0x10ffff] }, min: 0, max: Infinity };
  for (const s of ['plain', 'quote"inside', 'back\\slash', 'new\nline', 'ctl\u0001', 'tab\t', 'é😀']) {
    assert.equal(fullMatch(any, JSON.stringify(s).slice(1, -1), 'json'), true, JSON.stringify(s));
  }
  for (const raw of ['"', '\\', '\n', '\\/', '\\u0041', '\\u001F']) assert.equal(fullMatch(any, raw, 'json'), false, raw);
  const notNames: RNode = { k: 'notOneOf', names: ['ab', 'a"'] };
  for (const [s, ok] of [['ab', false], ['a\\"', false], ['a', true], ['abc', true], ['b', true], ['é', true]] as const) {
    assert.equal(fullMatch(notNames, s, 'json'), ok, s);
  }
});

test('intersection lexemes: a pattern together with a length bound', () => {
  const and: RNode = { k: 'and', xs: [parseRegex('a', { search: true }), { k: 'rep', x: { k: 'cls', r: [0, 0x10ffff] }, min: 2, max: 3 }] };
  for (const [s, ok] of [['a', false], ['xa', true], ['abc', true], ['bbb', false], ['abcd', false], ['éa', true]] as const) {
    assert.equal(fullMatch(and, s, 'json'), ok, s);
  }
});
