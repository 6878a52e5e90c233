// Random generation under the masks: whatever tokens are sampled from the allowed set, a finished output parses
// and validates against the schema with ajv (the masks never let an invalid output through).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { qwen, SHARED_DATA } from './qwen-fixture.js';

const require = createRequire(import.meta.url);
const Ajv2020 = (require('ajv/dist/2020.js') as { default: new (o: object) => { compile(s: unknown): ((v: unknown) => boolean) & { errors?: unknown } } }).default;
const addFormats = (require('ajv-formats') as { default: (a: unknown) => void }).default;
const glaive = join(SHARED_DATA, 'jsonschemabench', 'Glaiveai2K');

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

test('sampled outputs validate with ajv', { skip: !existsSync(glaive) && `missing ${glaive}` }, () => {
  const q = qwen();
  const provider = createGrammarProvider(q.vocab);
  const ajv = new Ajv2020({ strict: false, validateSchema: false });
  addFormats(ajv);
  const mask = new Int32Array(Math.ceil(q.vocab.size / 32));
  const eos = q.vocab.eosIds[0]!;
  const dec = new TextDecoder();
  const schemas = readdirSync(glaive).sort().filter((_, i) => i % 170 === 0).map((f) => JSON.parse(readFileSync(join(glaive, f), 'utf8')));
  schemas.push({ type: 'object', properties: { cpe: { type: 'array', items: { type: 'string' } } }, required: ['cpe'] });
  // merged allOf / oneOf / dependencies / not: WashingtonPost schemas
  const wp = join(SHARED_DATA, 'jsonschemabench', 'WashingtonPost');
  if (existsSync(wp)) schemas.push(...readdirSync(wp).sort().filter((_, i) => i % 25 === 3).map((f) => JSON.parse(readFileSync(join(wp, f), 'utf8'))));
  let finished = 0;
  const rand = rng(7);
  for (const schema of schemas) {
    let m;
    try {
      m = provider.create({ kind: 'json', schema });
    } catch {
      continue;
    }
    const validate = ajv.compile(schema);
    const bytes: number[] = [];
    for (let step = 0; step < 300; step++) {
      m.fillNextTokenBitmask(mask, 0);
      if ((mask[eos >>> 5]! >>> (eos & 31)) & 1) {
        assert.equal(m.acceptToken(eos), true);
        const text = dec.decode(Uint8Array.from(bytes));
        const value = JSON.parse(text);
        assert.ok(validate(value), `${text} does not validate: ${JSON.stringify(validate.errors)}`);
        finished++;
        break;
      }
      const allowed: number[] = [];
      for (let w = 0; w < mask.length; w++) for (let v = mask[w]!; v !== 0; v &= v - 1) allowed.push(w * 32 + (31 - Math.clz32(v & -v)));
      assert.ok(allowed.length > 0, 'a mask never allows nothing before the output is complete');
      // often a closing quote/bracket when allowed, so that structures close within the budget
      let pick = allowed[Math.floor(rand() * allowed.length)]!;
      if (rand() < 0.6) {
        const closers = allowed.filter((c) => { const b = q.vocab.tokenBytes[c]!; return b.length === 1 && (b[0] === 0x22 || b[0] === 0x7d || b[0] === 0x5d); });
        if (closers.length) pick = closers[Math.floor(rand() * closers.length)]!;
      }
      assert.equal(m.acceptToken(pick), true);
      bytes.push(...q.vocab.tokenBytes[pick]!);
    }
  }
  console.log(`${finished} of ${schemas.length} sampled outputs finished within the budget, all valid`);
  assert.ok(finished >= 8, `only ${finished} finished`);
});
