// Helpers for the structured-output tests that walk random outputs through a mask: a seeded generator (the same
// token choices on every run), the token ids a bitmask allows, and masks of two providers compared along random outputs.
import assert from 'node:assert/strict';
import type { StructuredConstraint } from '../../src/engine/types.js';
import type { GrammarMatcher } from '../../src/structured/matcher.js';
import type { TokenVocab } from '../../src/structured/token-vocab.js';

/** a seeded xorshift generator in [0, 1) */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** the token ids whose bits are set in a bitmask */
export function allowedIds(mask: Int32Array): number[] {
  const ids: number[] = [];
  for (let w = 0; w < mask.length; w++) for (let v = mask[w]!; v !== 0; v &= v - 1) ids.push(w * 32 + (31 - Math.clz32(v & -v)));
  return ids;
}

/** what creates matchers for a constraint (a grammar provider, or a test's own) */
interface MatcherSource {
  create(c: StructuredConstraint): GrammarMatcher;
}

/**
 * `walks` seeded random outputs of `steps` tokens each through `c`: at each step the masks of `subject` and
 * `reference` must be equal; the next token is drawn from the mask (never end of sequence), one with a quote with
 * probability `preferQuoted` where the mask has any. Returns the masks compared.
 */
export function compareAlongRandomOutputs(subject: MatcherSource, reference: MatcherSource, vocab: TokenVocab, c: StructuredConstraint, seed: number, walks: number, steps: number, preferQuoted: number): number {
  const next = rng(seed);
  const words = Math.ceil(vocab.size / 32);
  const a = new Int32Array(words);
  const b = new Int32Array(words);
  let compared = 0;
  for (let w = 0; w < walks; w++) {
    const ms = subject.create(c);
    const mr = reference.create(c);
    for (let i = 0; i < steps; i++) {
      ms.fillNextTokenBitmask(a, 0);
      mr.fillNextTokenBitmask(b, 0);
      compared++;
      assert.deepEqual(a, b, `masks differ at step ${i} of walk ${w} (seed ${seed})`);
      const ids = allowedIds(b).filter((id) => !vocab.eosIds.includes(id));
      if (ids.length === 0) break;
      const quoted = ids.filter((id) => vocab.tokenBytes[id]!.includes(0x22));
      const pool = quoted.length > 0 && next() < preferQuoted ? quoted : ids;
      const id = pool[Math.floor(next() * pool.length)]!;
      assert.equal(ms.acceptToken(id), true);
      assert.equal(mr.acceptToken(id), true);
    }
  }
  return compared;
}
