// A pattern or format under minLength/maxLength is built as one counted region over the pattern's own states (a
// `len` node), not as its product with a copied `.{min,max}`. Each check compares it with the product
// construction, which stays the reference: the same strings accepted, the same prefixes alive, the same masks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LexemeTable } from '../../src/structured/lexeme-table.js';
import { LexerDfa } from '../../src/structured/lexer-dfa.js';
import { ANY_CHAR, RNode, alt, ch, cls, jsonSpelled, rep, seq } from '../../src/structured/regex-ast.js';
import { parseRegex } from '../../src/structured/regex-parser.js';
import { formatRegex } from '../../src/structured/json-schema/formats.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { compileConstraint } from '../../src/structured/compile.js';
import { qwen } from './qwen-fixture.js';
import { accepts } from './walk.js';
import type { GrammarMatcher } from '../../src/structured/matcher.js';

const enc = new TextEncoder();

/** a JSON string literal whose body is `body` */
const jsonString = (body: RNode): RNode => seq([ch(0x22), jsonSpelled(body), ch(0x22)]);
const lengthRegion = (x: RNode, min: number, max: number): RNode => ({ k: 'len', x, min, max });
const product = (x: RNode, min: number, max: number): RNode => ({ k: 'and', xs: [x, rep(ANY_CHAR, min, max)] });

/** per byte of `text`: is the lexer still alive; then whether the whole text is accepted */
function trace(node: RNode) {
  const table = new LexemeTable();
  table.add(node, 'raw', false);
  const dfa = new LexerDfa(table);
  return {
    nfaStates: () => table.automaton(0).nfa.stateCount,
    run(text: string): string {
      let s = dfa.initial([0]);
      let out = '';
      for (const b of enc.encode(text)) {
        s = dfa.next(s, b);
        out += s < 0 ? '-' : '+';
        if (s < 0) return out;
      }
      return out + (dfa.accepting[s]!.length > 0 ? 'A' : 'R');
    },
  };
}

/** every string of up to `n` characters over `alphabet`, each as a JSON string literal's spelling */
function* allStrings(alphabet: string[], n: number): Generator<string> {
  let layer = [''];
  yield '';
  for (let k = 1; k <= n; k++) {
    const next: string[] = [];
    for (const s of layer) for (const c of alphabet) next.push(s + c);
    yield* next;
    layer = next;
  }
}
const spell = (body: string) => JSON.stringify(body);

test('length region: the same strings and the same live prefixes as the product, on every short string', () => {
  const cases: Array<[string, number, number]> = [
    ['[a-c]+@[a-c]+\\.c', 5, 8],
    ['(ab|c)*é?', 2, 5],
    ['a.*', 0, 4],
    ['[^"]+b', 3, Infinity],
    // completion lengths with gaps: multiples of 3, or 1 and 3
    ['(aaa)+', 4, 9],
    ['a(bbb|b)c', 4, 5],
  ];
  // characters of 1 to 4 bytes, and ones JSON escapes
  const alphabet = ['a', 'b', 'c', '@', '.', 'é', '😀', '"', '\n'];
  for (const [pattern, min, max] of cases) {
    const x = parseRegex(`^(?:${pattern})$`, { search: true });
    const region = trace(jsonString(lengthRegion(x, min, max)));
    const reference = trace(jsonString(product(x, min, max)));
    const re = new RegExp(`^(?:${pattern})$`, 'u');
    let accepted = 0;
    for (const body of allStrings(alphabet, 5)) {
      const text = spell(body);
      const got = region.run(text);
      assert.equal(got, reference.run(text), `${pattern} {${min},${max}}: ${text}`);
      const length = [...body].length;
      const want = re.test(body) && length >= min && length <= max;
      assert.equal(got.endsWith('A'), want, `${pattern} {${min},${max}}: ${text}`);
      if (want) accepted++;
    }
    // longer texts: an unterminated body stays alive exactly as long as a completion exists (no dead-end prefixes)
    for (const body of ['a'.repeat(40), 'a'.repeat(6), 'a'.repeat(9), 'ab'.repeat(9) + 'c', 'abcc@ab.c', 'ccccé', 'ab'.repeat(20) + 'b']) {
      const got = region.run(spell(body));
      assert.equal(got, reference.run(spell(body)), `${pattern} {${min},${max}}: ${body}`);
      const length = [...body].length;
      assert.equal(got.endsWith('A'), re.test(body) && length >= min && length <= max, `${pattern} {${min},${max}}: ${body}`);
      if (got.endsWith('A')) accepted++;
    }
    assert.ok(accepted > 0, `${pattern}: some strings accepted`);
  }
});

test('length region: random patterns and bounds agree with the product on every short string', () => {
  // a seeded generator of small patterns over a, b, é (counted and copied repetitions, alternatives, classes)
  let seed = 12345;
  const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
  const letters = [0x61, 0x62, 0xe9];
  const atom = (): RNode => (rand(3) === 0 ? cls([0x61, 0x62]) : ch(letters[rand(3)]!));
  const node = (depth: number): RNode => {
    const k = depth > 2 ? 0 : rand(5);
    if (k === 0) return atom();
    if (k === 1) return seq([node(depth + 1), node(depth + 1)]);
    if (k === 2) return alt([node(depth + 1), node(depth + 1)]);
    const min = rand(3);
    return rep(k === 3 ? atom() : node(depth + 1), min, rand(2) ? Infinity : min + rand(6));
  };
  const alphabet = ['a', 'b', 'é', 'c'];
  for (let i = 0; i < 150; i++) {
    const x = node(0);
    const min = rand(4);
    const max = rand(4) === 0 ? Infinity : min + rand(5);
    const region = trace(jsonString(lengthRegion(x, min, max)));
    const reference = trace(jsonString(product(x, min, max)));
    for (const body of allStrings(alphabet, 5)) {
      const text = spell(body);
      assert.equal(region.run(text), reference.run(text), `pattern ${i} {${min},${max}}: ${text}`);
    }
  }
});

test('length region: the pattern\'s states once, not its product with the count', () => {
  const email = formatRegex('email')!;
  const region = trace(jsonString(lengthRegion(email, 0, 255)));
  // the pattern's states (its repetitions copied: a configuration has one counter), whatever the bounds
  assert.ok(region.nfaStates() < 1000, `${region.nfaStates()} states`);
  assert.equal(trace(jsonString(lengthRegion(email, 3, 1000))).nfaStates(), region.nfaStates());
  assert.throws(() => trace(jsonString(product(email, 0, 255))).nfaStates(), /intersection of patterns too large/);
  const local = 'a'.repeat(64);
  const longest = `${local}@${'b'.repeat(62)}.${'c'.repeat(62)}.${'d'.repeat(62)}.e`; // labels of up to 62
  assert.equal([...longest].length, 255);
  assert.equal(region.run(spell(longest)).endsWith('A'), true);
  assert.equal(region.run(spell(longest + 'e')).endsWith('A'), false);
  assert.equal(region.run(spell(`${local}@example.org`)).endsWith('A'), true);
});

test('schema level: a format or pattern under maxLength compiles and is enforced through the token masks', () => {
  const q = qwen();
  const provider = createGrammarProvider(q.vocab);
  const check = (schema: object, body: string) => accepts(provider.create({ kind: 'json', schema }), q.encode(JSON.stringify(body)));
  const email = { type: 'string', format: 'email', maxLength: 24 };
  assert.equal(check(email, 'grace.hopper@example.org'), true); // 24 characters
  assert.equal(check(email, 'grace.hoppers@example.org'), false);
  assert.equal(check(email, 'not an email'), false);
  assert.equal(check({ type: 'string', format: 'email', minLength: 10 }, 'a@b.cd'), false);
  assert.equal(check({ type: 'string', format: 'email', minLength: 10 }, 'ada@b.cdef'), true);
  const uri = { type: 'string', format: 'uri', maxLength: 30 };
  assert.equal(check(uri, 'https://example.com/a?b=c#d'), true);
  assert.equal(check(uri, 'https://example.com/a/b/c/d/e/f/g'), false);
  // a pattern that no single repetition can absorb the bounds of: counted, not a product (this one passed 20,000)
  const pattern = { type: 'string', pattern: '^(https|http)://(mariadb.com|dev.mysql.com)', minLength: 20 };
  assert.equal(check(pattern, 'https://mariadb.com'), false); // 19 characters
  assert.equal(check(pattern, 'https://mariadb.com/'), true);
  assert.equal(check(pattern, 'http://dev.mysql.com/doc'), true);
  assert.doesNotThrow(() => compileConstraint({ kind: 'json', schema: { type: 'string', format: 'uri', maxLength: 2048 } }));
});

type Provider = ReturnType<typeof createGrammarProvider>;
/** a provider without start-up walks: the walks counted are the test's */
const freshProvider = (): Provider => createGrammarProvider(qwen().vocab, { prewalkFormats: false });
const bit = (mask: Int32Array, id: number) => ((mask[id >>> 5]! >>> (id & 31)) & 1) === 1;

/** the masks along the text as a JSON string (up to the first token refused) and whether it completes; `check` sees each mask */
function walkText(provider: Provider, schema: object, text: string, check?: (m: GrammarMatcher, mask: Int32Array) => void) {
  const q = qwen();
  const m = provider.create({ kind: 'json', schema });
  const masks: Int32Array[] = [];
  for (const id of q.encode(JSON.stringify(text))) {
    const mask = new Int32Array(Math.ceil(q.vocab.size / 32));
    m.fillNextTokenBitmask(mask, 0);
    masks.push(mask);
    check?.(m, mask);
    if (!m.acceptToken(id)) return { masks, complete: false };
  }
  return { masks, complete: m.eosAllowed() };
}

/** each schema's masks along the text, from a fresh provider, equal those `viaShared` holds */
function assertFreshAgree(schemas: object[], text: string, viaShared: Array<{ masks: Int32Array[] }>): void {
  schemas.forEach((schema, i) => {
    const fresh = walkText(freshProvider(), schema, text);
    assert.equal(fresh.masks.length, viaShared[i]!.masks.length);
    fresh.masks.forEach((mask, k) => assert.deepEqual(mask, viaShared[i]!.masks[k], `${JSON.stringify(schema)} step ${k}`));
  });
}

/** the mask right after the string's opening quote */
function firstMaskInString(provider: Provider, schema: object): Int32Array {
  const q = qwen();
  const m = provider.create({ kind: 'json', schema });
  assert.equal(m.acceptToken(q.encode('"')[0]!), true);
  const mask = new Int32Array(Math.ceil(q.vocab.size / 32));
  m.fillNextTokenBitmask(mask, 0);
  return mask;
}

test('length regions of one pattern under different bounds: one provider gives the masks of fresh ones', () => {
  const q = qwen();
  const sample: number[] = [];
  for (let id = 0; id < q.vocab.size; id++) {
    const b = q.vocab.tokenBytes[id];
    if (id % 61 === 0 || (b && b.length >= 10)) sample.push(id);
  }
  const body = 'hopper.grace@navy.example.mil';
  const schemas = [30, 40, 29, 28].map((maxLength) => ({ type: 'string', format: 'email', maxLength }));
  const shared = freshProvider();
  // exact: each sampled token as stepping it through says
  const exact = (m: GrammarMatcher, mask: Int32Array) => {
    for (const t of sample) assert.equal(bit(mask, t), m.canAcceptToken(t), `token ${t}`);
  };
  const viaShared = schemas.map((s) => walkText(shared, s, body, exact));
  assert.deepEqual(viaShared.map((r) => r.complete), [true, true, true, false], '29 characters: within 30, 40, 29, not 28');
  assertFreshAgree(schemas, body, viaShared);
});

test('length regions share lexer walks along a string once min is met and the room outlasts any token', () => {
  const text = `mailto:${'hopper.grace.'.repeat(4)}x@navy.example.mil`;
  // the longest first: its walks then stand for maxLength 300's; the short ones' room runs out inside the text
  const schemas = [1000, 300, text.length + 2, text.length - 1].map((maxLength) => ({ type: 'string', format: 'uri', maxLength }));
  const shared = freshProvider();
  const viaShared = schemas.map((s) => walkText(shared, s, text));
  assert.deepEqual(viaShared.map((r) => r.complete), [true, true, true, false]);
  const walks = shared.walks.stats.computed;
  assertFreshAgree(schemas, text, viaShared);
  // maxLength 1000's walks served maxLength 300 all along the text, and some of them served several masks
  const alone = freshProvider();
  const longest = walkText(alone, schemas[0]!, text).masks.length;
  const longestWalks = alone.walks.stats.computed;
  assert.ok(longestWalks < longest, `${longestWalks} walks for ${longest} masks`);
  walkText(alone, schemas[1]!, text);
  assert.equal(alone.walks.stats.computed, longestWalks, 'maxLength 300 made no walk of its own');
  assert.ok(walks > longestWalks, 'the short maxLengths made walks of their own');
});

test('walks are shared across bounds only where they agree: a branch that fits the longer max, not the shorter', () => {
  const b = qwen().encode('b')[0]!;
  // the b-branch needs 150 characters: it fits under maxLength 1000, not under 140, though both leave the a-loop room
  const schema = (maxLength: number) => ({ type: 'string', pattern: '^a*(b{150})?$', maxLength });
  const shared = freshProvider();
  assert.equal(bit(firstMaskInString(shared, schema(1000)), b), true, '"b" under maxLength 1000');
  const mask = firstMaskInString(shared, schema(140));
  assert.equal(bit(mask, b), false, '"b" under maxLength 140');
  assert.deepEqual(mask, firstMaskInString(freshProvider(), schema(140)));
});

test('the room rule keeps the shortest completion: a 128-space token fits maxLength 1000, not 130, under ^ *x *yz$', () => {
  const q = qwen();
  const runOfSpaces = (length: number) => q.vocab.tokenBytes.findIndex((b) => b !== undefined && b !== null && b.length === length && b.every((x) => x === 0x20));
  const n = q.vocab.tokenBytes.reduce((most, b) => (b && b.every((x) => x === 0x20) && b.length > most ? b.length : most), 0);
  const spaces = runOfSpaces(n);
  const spaces64 = runOfSpaces(64);
  assert.ok(n >= 100 && spaces64 >= 0, 'the vocabulary has long runs of spaces');
  // the string's first mask: after the spaces, "x" + "yz" still need 3 characters
  const shared = freshProvider();
  const allows = (maxLength: number, token = spaces) => bit(firstMaskInString(shared, { type: 'string', pattern: '^ *x *yz$', maxLength }), token);
  assert.equal(allows(1000), true);
  // n + 2 characters of room: past the longest token, short of its spaces plus the 3 still needed
  assert.equal(allows(n + 2), false);
  assert.equal(allows(n + 3), true);
  // rooms under the longest token share a capped walk that stops at 64 bytes: the long token is decided apart
  assert.equal(allows(100), false);
  assert.equal(allows(90), false);
  // and the cap keeps the margin too: 64 spaces fit a room of 67, not 66, after the capped walk of 100
  assert.equal(allows(100, spaces64), true);
  assert.equal(allows(66, spaces64), false);
  assert.equal(allows(67, spaces64), true);
});

test('moderate maxLengths share capped walks along the string: the masks of fresh providers', () => {
  const text = 'grace hopper rear admiral of the navy and other titles.and-more@navy example mil';
  const schemas = [150, 120, text.length + 1, text.length - 1].map((maxLength) => ({ type: 'string', pattern: '^[a-z0-9 .-]+@[a-z .]+$', maxLength }));
  const shared = freshProvider();
  const first = walkText(shared, schemas[0]!, text);
  assert.ok(shared.walks.stats.computed < first.masks.length / 2, `${shared.walks.stats.computed} walks for ${first.masks.length} masks`);
  const viaShared = [first, ...schemas.slice(1).map((s) => walkText(shared, s, text))];
  assert.deepEqual(viaShared.map((r) => r.complete), [true, true, true, false]);
  assertFreshAgree(schemas, text, viaShared);
});

test('a pattern beside a format: the strings both allow (their product), also under maxLength', () => {
  const q = qwen();
  const provider = createGrammarProvider(q.vocab);
  const check = (schema: object, body: string) => accepts(provider.create({ kind: 'json', schema }), q.encode(JSON.stringify(body)));
  const https = { type: 'string', format: 'uri', pattern: '^https:' };
  assert.equal(check(https, 'https://example.com/x'), true);
  assert.equal(check(https, 'http://example.com/x'), false, 'a uri, not the pattern');
  assert.equal(check(https, 'https:not a uri'), false, 'the pattern, not a uri');
  assert.equal(check({ ...https, maxLength: 21 }, 'https://example.com/x'), true);
  assert.equal(check({ ...https, maxLength: 20 }, 'https://example.com/x'), false);
  const mail = { type: 'string', format: 'email', pattern: '@example\\.org$' };
  assert.equal(check(mail, 'grace@example.org'), true);
  assert.equal(check(mail, 'grace@example.com'), false);
  assert.equal(check(mail, '@example.org'), false);
});
