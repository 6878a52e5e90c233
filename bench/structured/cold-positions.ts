// The positions the cold-mask benches time: each compiling example's output (pretty-printed instance) walked token by
// token through a new matcher of its schema (a first request with that schema: cold caches). The caller takes the
// mask at each position; the token is accepted when it asks for the next one. The examples (ajv's checks and
// compiled validators) and the outputs' token ids are prepared before the first mask, and a full collection is run
// when the process has --expose-gc: the garbage-collector pauses inside masks are then the engine's own (ajv's
// generated code promoted by scavenges in between masks made them longer).
import type { GrammarMatcher } from '../../src/structured/matcher.js';
import type { StructuredGrammarProvider } from '../../src/structured/provider.js';
import type { qwen } from '../../test/structured/qwen-fixture.js';
import { compilingExamples } from './bench-schemas.js';
import type { MatcherInternals } from './matcher-internals.js';

export interface ColdPosition {
  subset: string;
  file: string;
  /** index of the next token in the output */
  token: number;
  /** the output's text before it */
  text: string;
  matcher: GrammarMatcher;
  internals: MatcherInternals;
}

export function* coldPositions(provider: StructuredGrammarProvider, q: ReturnType<typeof qwen>, perSubset: number): Generator<ColdPosition> {
  const decoder = new TextDecoder();
  const examples = [...compilingExamples(perSubset)].map(({ subset, file, constraint, instance }) => ({ subset, file, constraint, ids: q.encode(JSON.stringify(instance, null, 2)) }));
  (globalThis as { gc?: () => void }).gc?.();
  for (const { subset, file, constraint, ids } of examples) {
    const matcher = provider.create(constraint) as GrammarMatcher;
    const internals = matcher as unknown as MatcherInternals;
    let text = '';
    for (let token = 0; token < ids.length; token++) {
      yield { subset, file, token, text, matcher, internals };
      text += decoder.decode(q.vocab.tokenBytes[ids[token]!] ?? new Uint8Array(0));
      if (!matcher.acceptToken(ids[token]!)) throw new Error(`${subset}/${file}: token ${token} rejected`);
    }
  }
}
