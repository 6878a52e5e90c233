// vLLM's behaviour for a structured request with ignore_eos once its grammar has accepted EOS: the grammar stops
// constraining (its bitmask row is all ones) and the request goes on unconstrained to max_tokens. serval's engine
// instead keeps asking the finished matcher, which allows nothing, and fails the request ("no token can be sampled"),
// so the guided workload (ignore_eos, 128 tokens) cannot run as is. This wrapper gives the vLLM behaviour
// for the benchmark; the engine-side fix is named in bench/gpu/README.md.
import type { GrammarProvider, RequestGrammar } from '../../src/engine/grammar.js';
import type { StructuredConstraint } from '../../src/engine/types.js';

class FreeAfterEosGrammar implements RequestGrammar {
  private done = false;
  constructor(
    private readonly inner: RequestGrammar,
    private readonly words: number,
    private readonly eos: ReadonlySet<number>,
  ) {}

  fillNextTokenBitmask(out: Int32Array, offset: number): void {
    if (this.done) out.fill(-1, offset, offset + this.words);
    else this.inner.fillNextTokenBitmask(out, offset);
  }

  acceptToken(tokenId: number): boolean {
    if (this.done) return true;
    const ok = this.inner.acceptToken(tokenId);
    if (ok && this.eos.has(tokenId)) this.done = true;
    return ok;
  }

  isTerminated(): boolean {
    return this.done || this.inner.isTerminated();
  }
}

export function freeAfterEos(inner: GrammarProvider, vocab: { size: number; eosIds: readonly number[] }): GrammarProvider {
  const words = Math.ceil(vocab.size / 32);
  const eos = new Set(vocab.eosIds);
  return { create: (c: StructuredConstraint) => new FreeAfterEosGrammar(inner.create(c), words, eos) };
}
