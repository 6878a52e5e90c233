// The lexer DFA computes a transition once per byte class (bytes that no NFA edge bound separates) and fills the
// whole class. Checked against a direct simulation of the lexemes' NFAs (built without counters), byte by byte,
// along random byte strings drawn from the lexemes' own bytes plus others, queried in different orders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LexemeTable } from '../../src/structured/lexeme-table.js';
import { DEAD, LexerDfa } from '../../src/structured/lexer-dfa.js';
import { LexemeNfa } from '../../src/structured/lexemes.js';
import { ANY_CHAR, RNode, alt, ch, cls, jsonSpelled, lit, rep, seq } from '../../src/structured/regex-ast.js';
import { notOneOf } from '../../src/structured/json-schema/to-grammar.js';
import { formatRegex } from '../../src/structured/json-schema/formats.js';
import { rng } from './random-walk.js';

const jsonString = (body: RNode): RNode => seq([ch(0x22), jsonSpelled(body), ch(0x22)]);

/** the set of lexemes as plain NFAs: alive / accepting after each byte */
function nfaRunner(lexemes: RNode[]) {
  const nfa = new LexemeNfa(false);
  for (const l of lexemes) nfa.add(l, 'raw', false);
  nfa.finalize();
  return (bytes: number[]): Array<'dead' | 'alive' | 'accept'> => {
    let cur = new Set<number>();
    for (let i = 0; i < lexemes.length; i++) for (const q of nfa.closure(nfa.lexStart[i]!)) cur.add(q);
    const out: Array<'dead' | 'alive' | 'accept'> = [];
    for (const b of bytes) {
      const next = new Set<number>();
      for (const q of cur) {
        for (let k = nfa.edgeStart[q]!; k < nfa.edgeStart[q + 1]!; k++) {
          if (nfa.edgeLo[k]! <= b && b <= nfa.edgeHi[k]!) for (const r of nfa.closure(nfa.edgeTo[k]!)) next.add(r);
        }
      }
      cur = next;
      if (cur.size === 0) {
        out.push('dead');
        break;
      }
      out.push(nfa.lexAccept.some((a) => cur.has(a)) ? 'accept' : 'alive');
    }
    return out;
  };
}

function dfaRunner(lexemes: RNode[]) {
  const table = new LexemeTable();
  lexemes.forEach((l) => table.add(l, 'raw', false));
  const dfa = new LexerDfa(table);
  const start = dfa.initial(lexemes.map((_, i) => i));
  return (bytes: number[]): Array<'dead' | 'alive' | 'accept'> => {
    let s = start;
    const out: Array<'dead' | 'alive' | 'accept'> = [];
    for (const b of bytes) {
      s = dfa.next(s, b);
      if (s === DEAD) {
        out.push('dead');
        break;
      }
      out.push(dfa.accepting[s]!.length > 0 ? 'accept' : 'alive');
    }
    return out;
  };
}

const sets: Array<[string, RNode[]]> = [
  ['object key with other names allowed', [jsonString(notOneOf(['name', 'nämé', 'a"b'])), jsonString(lit('name')), jsonString(lit('nämé'))]],
  ['string with maxLength, number, literals', [jsonString(rep(ANY_CHAR, 0, 12)), seq([rep(ch(0x2d), 0, 1), rep(cls([0x30, 0x39]), 1, 6)]), lit('null'), lit('true')]],
  ['email format', [jsonString(formatRegex('email')!)]],
  ['whitespace and punctuation', [rep(cls([0x09, 0x0a, 0x0d, 0x0d, 0x20, 0x20]), 1, 8), lit(','), lit('}'), alt([lit('[]'), lit('[')])]],
];

test('byte-class transitions agree with the NFA, whatever order bytes are first asked in', () => {
  const enc = new TextEncoder();
  for (const [name, lexemes] of sets) {
    const reference = nfaRunner(lexemes);
    // the same DFA questions asked in two orders: ascending bytes first, then random strings
    const ascending = dfaRunner(lexemes);
    for (let b = 0; b < 256; b++) ascending([b]);
    const fresh = dfaRunner(lexemes);
    const next = rng(name.length * 7919);
    const alphabet = [...enc.encode('"name\\nämé a"b@x.co-19 ,}[]u00e9'), 0x09, 0x0a, 0xff, 0xc3, 0x80, 0xe2, 0x82, 0xac];
    let checked = 0;
    for (let i = 0; i < 3000; i++) {
      const len = 1 + Math.floor(next() * 14);
      const bytes = Array.from({ length: len }, () => (next() < 0.85 ? alphabet[Math.floor(next() * alphabet.length)]! : Math.floor(next() * 256)));
      if (next() < 0.5) bytes[0] = 0x22;
      const want = reference(bytes);
      assert.deepEqual(fresh(bytes), want, `${name}: ${JSON.stringify(bytes)}`);
      assert.deepEqual(ascending(bytes), want, `${name} (ascending first): ${JSON.stringify(bytes)}`);
      checked += want.length;
    }
    assert.ok(checked > 3000, `${name}: ${checked} bytes checked`);
  }
});

test('byte classes are shared by content across DFAs of different grammars, and unequal cuts stay apart', () => {
  const classesAfter = (lexemes: RNode[], text: string) => {
    const table = new LexemeTable();
    lexemes.forEach((l) => table.add(l, 'raw'));
    const dfa = new LexerDfa(table);
    let s = dfa.initial(lexemes.map((_, i) => i));
    for (const b of new TextEncoder().encode(text)) s = dfa.next(s, b);
    assert.notEqual(s, DEAD);
    dfa.next(s, 0x61);
    const internals = dfa as unknown as { shapes: Array<{ classes: { classOf: Uint8Array } }>; stateShape: number[] };
    return internals.shapes[internals.stateShape[s]!]!.classes;
  };
  const body = jsonString(rep(ANY_CHAR, 0, Infinity));
  const a = classesAfter([body], '"x');
  // another grammar (another table, a digit lexeme beside the string) reaching an equal string-body shape
  const b = classesAfter([lit('12'), body], '"y');
  assert.equal(a, b, 'equal cuts of the bytes share one ByteClasses object');
  const digits = classesAfter([rep(cls([0x30, 0x39]), 1, Infinity)], '1');
  assert.notEqual(digits, a);
  assert.notDeepEqual(digits.classOf, a.classOf);
});

test('configuration fields read back exactly from the packed doubles, at the bounds of each field', async () => {
  const { tagOf, nfaStateOf, lexemeOfConfig, MAX_LEXEME_STATES, TAG_SLOTS } = await import('../../src/structured/lexer-dfa.js');
  const next = rng(5);
  const cases: Array<[number, number, number]> = [
    [0, 0, 0],
    [(1 << 20) - 1, MAX_LEXEME_STATES - 1, TAG_SLOTS - 1],
    [(1 << 20) - 1, 0, 0],
    [1, MAX_LEXEME_STATES - 1, 2049],
  ];
  for (let i = 0; i < 2000; i++) cases.push([Math.floor(next() * (1 << 20)), Math.floor(next() * MAX_LEXEME_STATES), Math.floor(next() * TAG_SLOTS)]);
  for (const [lex, q, tag] of cases) {
    const x = (lex * MAX_LEXEME_STATES + q) * TAG_SLOTS + tag;
    // the packing as BigInt arithmetic: the double holds it exactly
    assert.equal(BigInt(x), (BigInt(lex) * BigInt(MAX_LEXEME_STATES) + BigInt(q)) * BigInt(TAG_SLOTS) + BigInt(tag));
    assert.deepEqual([lexemeOfConfig(x), nfaStateOf(x), tagOf(x)], [lex, q, tag], `config ${x}`);
  }
});
