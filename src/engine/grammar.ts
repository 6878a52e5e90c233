// The engine's hook for structured output. The engine knows nothing about grammars: a request with a
// `structured` constraint gets a RequestGrammar from the provider, which fills its row of the int32 bitmask
// before sampling and is told every accepted token.
import type { StructuredConstraint } from './types.js';

export interface RequestGrammar {
  /** write the allowed-token bitmask (bit t of word t>>5 set = token t allowed) at out[offset .. offset+words) */
  fillNextTokenBitmask(out: Int32Array, offset: number): void;
  /** advance by a sampled token; false if the token was not allowed (the engine then ends the request with an error) */
  acceptToken(tokenId: number): boolean;
  /** the grammar has reached an accepting state and allows nothing but EOS */
  isTerminated(): boolean;
}

export interface GrammarProvider {
  /** compile (cached) and start a matcher; throws a clear error naming the unsupported keyword or syntax error */
  create(constraint: StructuredConstraint): RequestGrammar;
}
