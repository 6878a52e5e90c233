// Lexeme automata: the cheaper builds of round 8 (notOneOf sharing its fragments, escape templates with digit
// ranges) accept exactly the canonical JSON spellings they should, and compiles build the automata within a budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LexemeNfa, StateBudgetExceeded, type Spelling } from '../../src/structured/lexemes.js';
import { LexemeTable, lexemeBuildStats } from '../../src/structured/lexeme-table.js';
import { CompiledGrammar } from '../../src/structured/compiled-grammar.js';
import { compileConstraint } from '../../src/structured/compile.js';
import { GrammarBuilder } from '../../src/structured/grammar.js';
import { SharedLexer } from '../../src/structured/shared-lexer.js';
import { lit, rep, type RNode } from '../../src/structured/regex-ast.js';

const utf8 = new TextEncoder();

/** does the (counter-free) lexeme's automaton accept exactly these bytes: a plain NFA simulation */
function accepts(node: RNode, spelling: Spelling, text: string): boolean {
  const nfa = new LexemeNfa();
  nfa.add(node, spelling, false);
  nfa.finalize();
  let cur = new Set(nfa.closure(nfa.lexStart[0]!));
  for (const b of utf8.encode(text)) {
    const next = new Set<number>();
    for (const q of cur) {
      assert.equal(nfa.stateRegion[q], -1, 'this simulation has no counters');
      for (let k = nfa.edgeStart[q]!; k < nfa.edgeStart[q + 1]!; k++) {
        if (nfa.edgeLo[k]! <= b && b <= nfa.edgeHi[k]!) for (const r of nfa.closure(nfa.edgeTo[k]!)) next.add(r);
      }
    }
    if (next.size === 0) return false;
    cur = next;
  }
  return cur.has(nfa.lexAccept[0]!);
}

/** the canonical JSON string-body spelling of s (JSON.stringify's, the only one accepted) */
const body = (s: string) => JSON.stringify(s).slice(1, -1);

/** a small deterministic generator (tests must not depend on luck) */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x / 2 ** 32;
  };
}

test('notOneOf: accepts exactly the canonical bodies of strings other than the names', () => {
  const names = ['name', 'nick', 'n', 'nämé', 'a"b', 'tab\there', '\u0001x', '😀', 'x\\y', 'é'];
  const node: RNode = { k: 'notOneOf', names };
  const alphabet = ['n', 'a', 'm', 'e', 'i', 'c', 'k', 'ä', 'é', '"', '\\', '\t', '\u0001', '\u001f', '\u007f', '😀', '€', 'x', 'y', ' ', '/'];
  const candidates = new Set<string>(['']);
  for (const n of names) {
    const cps = [...n];
    for (let i = 0; i <= cps.length; i++) candidates.add(cps.slice(0, i).join(''));
    for (const c of alphabet) candidates.add(n + c);
    candidates.add([...n].slice(1).join(''));
  }
  const r = rng(7);
  for (let i = 0; i < 400; i++) {
    let s = '';
    const len = Math.floor(r() * 6);
    for (let j = 0; j < len; j++) s += alphabet[Math.floor(r() * alphabet.length)]!;
    candidates.add(s);
  }
  for (const s of candidates) assert.equal(accepts(node, 'json', body(s)), !names.includes(s), JSON.stringify(s));
  // other spellings of accepted strings are refused, as JSON.stringify never writes them
  for (const raw of ['\\u0041', '\\/', '\\u001F', '\\u000a', '"', '\\', '\t', 'a\\', '\\x']) assert.equal(accepts(node, 'json', raw), false, raw);
  // with the empty string among the names, only the empty body is refused
  const withEmpty: RNode = { k: 'notOneOf', names: ['', 'ab'] };
  assert.equal(accepts(withEmpty, 'json', ''), false);
  assert.equal(accepts(withEmpty, 'json', 'a'), true);
  assert.equal(accepts(withEmpty, 'json', 'ab'), false);
  assert.equal(accepts(withEmpty, 'json', 'abc'), true);
});

test('escape templates: every \\u00XX spelling is accepted exactly when canonical and in the class', () => {
  // runs of low digits that cross 9 -> a and gaps, in both high digits, short escapes and plain characters mixed in
  const classes = [
    [0x00, 0x1f],
    [0x03, 0x09, 0x0b, 0x0c, 0x1a, 0x1d],
    [0x00, 0x00, 0x0e, 0x0f, 0x10, 0x19, 0x1f, 0x1f, 0x22, 0x22, 0x41, 0x41],
    [0x08, 0x0a, 0x19, 0x1b, 0x5c, 0x5c],
  ];
  for (const r of classes) {
    const node: RNode = { k: 'cls', r };
    const inClass = (cp: number) => {
      for (let i = 0; i < r.length; i += 2) if (r[i]! <= cp && cp <= r[i + 1]!) return true;
      return false;
    };
    for (let cp = 0; cp < 0x80; cp++) {
      const s = String.fromCodePoint(cp);
      assert.equal(accepts(node, 'json', body(s)), inClass(cp), `${JSON.stringify(r)} U+${cp.toString(16)}`);
    }
    for (let x = 0; x < 0x100; x++) {
      for (const spelled of [`\\u00${x.toString(16).padStart(2, '0')}`, `\\u00${x.toString(16).padStart(2, '0').toUpperCase()}`]) {
        const canonical = x < 0x80 && body(String.fromCodePoint(x)) === spelled;
        assert.equal(accepts(node, 'json', spelled), canonical && inClass(x), `${JSON.stringify(r)} ${spelled}`);
      }
    }
  }
});

test('a build past its state budget throws StateBudgetExceeded; the hard limit still gives the usual error', () => {
  const long = rep(lit('ab'), 50, 50);
  const small = new LexemeNfa(true, 20);
  assert.throws(() => small.add(long, 'raw', false), (e: Error) => e instanceof StateBudgetExceeded && e.budget === 20);
  const enough = new LexemeNfa(true, 1000);
  enough.add(long, 'raw', false);
  enough.finalize();
  assert.ok(enough.stateCount > 20 && enough.stateCount <= 1000);
  assert.throws(() => new LexemeNfa(true, 10).add(rep(rep(lit('ab'), 2000, 2000), 2000, 2000), 'raw', false), StateBudgetExceeded);
});

test('LexemeTable.prebuild: builds within the budget, gives up past it and leaves the lexeme to first use', () => {
  const table = new LexemeTable();
  // unique patterns: nothing of another test is interned under their keys
  const big = table.add(rep(lit('prebuild-big'), 30, 30), 'raw');
  const small = table.add(lit('prebuild-small'), 'raw');
  const before = { ...lexemeBuildStats };
  assert.equal(table.prebuild(big, 50), -1);
  assert.equal(table.builtCount, 0);
  assert.equal(lexemeBuildStats.overBudget, before.overBudget + 1);
  const used = table.prebuild(small, 50);
  assert.ok(used > 0 && used <= 50, `states used: ${used}`);
  assert.equal(table.prebuild(small, 50), 0, 'built already');
  assert.equal(table.builtCount, 1);
  // first use builds the lexeme given up, without a budget
  assert.ok(table.automaton(big).nfa.stateCount > 50);
  assert.equal(table.builtCount, 2);
  // another table finds it interned: no states built
  const other = new LexemeTable();
  assert.equal(other.prebuild(other.add(rep(lit('prebuild-big'), 30, 30), 'raw'), 50), 0);
});

test('CompiledGrammar.buildLexemeAutomata: builds every lexeme within the budget, leaves the rest', () => {
  const grammarOf = () => {
    const b = new GrammarBuilder();
    const root = b.choice('root', [[b.lexeme(lit('compile-a')), b.lexeme(rep(lit('compile-bb'), 40, 40)), b.lexeme(lit('compile-c'))]]);
    return b.build(root);
  };
  const none = new CompiledGrammar(grammarOf(), undefined, true, new SharedLexer());
  assert.deepEqual(none.buildLexemeAutomata(0), { states: 0, left: 3 });
  const lexer = new SharedLexer();
  const some = new CompiledGrammar(grammarOf(), undefined, true, lexer);
  const r = some.buildLexemeAutomata(100);
  assert.equal(r.left, 1, 'the long repetition is over the budget');
  assert.ok(r.states > 0 && r.states <= 100);
  assert.equal(lexer.lexemes.builtCount, 2);
  const all = new CompiledGrammar(grammarOf(), undefined, true, new SharedLexer());
  assert.equal(all.buildLexemeAutomata(100_000).left, 0);
});

test('provider.compile builds the lexeme automata: the first request builds none', async () => {
  const { createGrammarProvider } = await import('../../src/structured/provider.js');
  const { qwen } = await import('./qwen-fixture.js');
  const q = qwen();
  const provider = createGrammarProvider(q.vocab, { warmUp: false });
  const schema = {
    type: 'object',
    properties: { 'prov-first': { type: 'string', format: 'email' }, 'prov-second': { type: 'integer', minimum: 3, maximum: 777 } },
    required: ['prov-first'],
  };
  const constraint = { kind: 'json' as const, schema };
  const cg = provider.compile(constraint);
  assert.equal(cg.grammar.lexemes.count > 0, true);
  const built = lexemeBuildStats.built;
  const m = provider.create(constraint);
  const mask = new Int32Array(Math.ceil(q.vocab.size / 32));
  const ids = q.encode('{"prov-first": "ada@example.com", "prov-second": 40, "other": 12}');
  for (const [i, id] of ids.entries()) {
    m.fillNextTokenBitmask(mask, 0);
    assert.ok(m.acceptToken(id), `token ${i} of the text`);
  }
  assert.equal(lexemeBuildStats.built, built, 'no automaton built inside a mask');
  // and the compile is unchanged otherwise: the same grammar as compileConstraint's
  assert.equal(cg.grammar.lexemes.count, compileConstraint(constraint).lexemes.count);
});

test('an automaton larger than the kept scratch finalizes alike (its liveness and edges)', () => {
  // 100k states and edges: finalize takes a scratch array of its own
  const node = rep(lit('ab'), 50_000, 50_000);
  assert.equal(accepts(node, 'raw', 'ab'.repeat(50_000)), true);
  assert.equal(accepts(node, 'raw', 'ab'.repeat(49_999)), false);
  assert.equal(accepts(node, 'raw', 'ab'.repeat(49_999) + 'aa'), false);
  // and a small one after it still uses the kept scratch correctly
  assert.equal(accepts(rep(lit('ab'), 2, 3), 'raw', 'ababab'), true);
  assert.equal(accepts(rep(lit('ab'), 2, 3), 'raw', 'ab'), false);
});
