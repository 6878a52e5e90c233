// dependentRequired (and draft-7 dependencies that list names), tracked exactly along the property chain: every
// subset of the properties, written in schema order, is accepted exactly when ajv finds it valid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { qwen } from './qwen-fixture.js';
import { accepts } from './walk.js';

const require = createRequire(import.meta.url);
const Ajv2020 = (require('ajv/dist/2020.js') as { default: new (o: object) => { compile(s: unknown): (v: unknown) => boolean } }).default;
const Ajv07 = (require('ajv') as { default: new (o: object) => { compile(s: unknown): (v: unknown) => boolean } }).default;

/** every subset of `names` as an object in that order, with `value` for each */
function* subsets(names: string[]): Generator<Record<string, unknown>> {
  for (let m = 0; m < 1 << names.length; m++) {
    const o: Record<string, unknown> = {};
    names.forEach((n, i) => {
      if (m & (1 << i)) o[n] = 1;
    });
    yield o;
  }
}

function agreesWithAjv(schema: Record<string, unknown>, names: string[], draft7 = false): number {
  const q = qwen();
  const provider = createGrammarProvider(q.vocab);
  const valid = (draft7 ? new Ajv07({ strict: false }) : new Ajv2020({ strict: false })).compile(schema);
  let accepted = 0;
  for (const o of subsets(names)) {
    const want = valid(o);
    assert.equal(accepts(provider.create({ kind: 'json', schema }), q.encode(JSON.stringify(o))), want, JSON.stringify(o));
    if (want) accepted++;
  }
  return accepted;
}

const props = (names: string[]) => Object.fromEntries(names.map((n) => [n, { type: 'integer' }]));

test('dependentRequired: triggers before and after the names they require, chained, and required triggers', () => {
  const names = ['a', 'b', 'c', 'd', 'e'];
  // a needs c (later), d needs b (earlier), e needs a (earlier, itself a trigger)
  const schema = { type: 'object', properties: props(names), additionalProperties: false, dependentRequired: { a: ['c'], d: ['b'], e: ['a'] } };
  const accepted = agreesWithAjv(schema, names);
  assert.ok(accepted > 4 && accepted < 32, `${accepted} of 32 subsets valid`);
  // a required trigger brings in what it needs
  assert.equal(agreesWithAjv({ ...schema, required: ['e'] }, names) > 0, true);
});

test('draft-7 dependencies listing names, and allOf branches whose dependencies add up', () => {
  const names = ['x', 'y', 'z'];
  assert.ok(agreesWithAjv({ type: 'object', properties: props(names), additionalProperties: false, dependencies: { z: ['x'], x: ['y'] } }, names, true) > 1);
  const merged = { type: 'object', properties: props(names), additionalProperties: false, allOf: [{ dependentRequired: { x: ['y'] } }, { dependentRequired: { x: ['z'] } }] };
  assert.equal(agreesWithAjv(merged, names), 1 + 1 + 1 + 1 + 1, 'x only with y and z: {}, {y}, {z}, {y, z}, {x, y, z}');
});

test('with additional properties allowed, the tracked names still hold', () => {
  const q = qwen();
  const provider = createGrammarProvider(q.vocab);
  const schema = { type: 'object', properties: props(['card', 'billing']), dependentRequired: { card: ['billing'] } };
  const check = (text: string) => accepts(provider.create({ kind: 'json', schema }), q.encode(text));
  assert.equal(check('{"card": 1, "billing": 2}'), true);
  assert.equal(check('{"card": 1}'), false);
  assert.equal(check('{"card": 1, "other": 3}'), false);
  assert.equal(check('{"billing": 2, "other": 3}'), true);
});
