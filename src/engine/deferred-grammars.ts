// Grammars started when first used. Starting a matcher costs ~0.1 ms (its parser's tables), and a burst of 1,000
// structured requests paid that (0.1 s) on the engine thread before the first step. A constraint that compiled once
// compiles again, so only the first request of each constraint starts its grammar at admission (a constraint that
// does not compile is refused there, a 400); later ones with an equal constraint start theirs when their first mask
// is computed, while a forward runs.
import { fillCachedRow, type GrammarProvider, type RequestGrammar } from './grammar.js';
import type { StructuredConstraint } from './types.js';

/** a grammar whose provider call is made on first use */
export class DeferredGrammar implements RequestGrammar {
  private inner: RequestGrammar | null = null;
  private released = false;
  constructor(private readonly start: () => RequestGrammar) {}

  /** the provider's grammar, started now if it was not yet (throws what the provider throws) */
  target(): RequestGrammar {
    if (this.released) throw new Error('structured output: the request\'s grammar was already released');
    return (this.inner ??= this.start());
  }

  fillNextTokenBitmask(out: Int32Array, offset: number): void {
    this.target().fillNextTokenBitmask(out, offset);
  }

  acceptToken(tokenId: number): boolean {
    return this.target().acceptToken(tokenId);
  }

  isTerminated(): boolean {
    return this.target().isTerminated();
  }

  nextMaskCached(): boolean {
    return this.target().nextMaskCached?.() ?? false;
  }

  cachedMaskIdentity(): object | null {
    return this.target().cachedMaskIdentity?.() ?? null;
  }

  fillFromIdentity(identity: object, out: Int32Array, offset: number): void {
    fillCachedRow(this.target(), identity, out, offset);
  }

  maskIdentityLasts(identity: object): boolean {
    return this.target().maskIdentityLasts?.(identity) ?? false;
  }

  release(): void {
    this.released = true;
    this.inner?.release?.();
  }
}

/** the grammar a provider's bulk filler gets: its own object, started if it was deferred */
export function providerGrammar(g: RequestGrammar): RequestGrammar {
  return g instanceof DeferredGrammar ? g.target() : g;
}

export class GrammarStarter {
  /** constraints (as JSON) that started fine, least recently used first */
  private readonly known = new Map<string, true>();

  constructor(
    private readonly provider: GrammarProvider,
    private readonly maxKnown = 256,
  ) {}

  /** `n` grammars for one request; throws (a 400) when the constraint does not compile */
  create(constraint: StructuredConstraint, n: number): RequestGrammar[] {
    const key = JSON.stringify(constraint);
    const grammars: RequestGrammar[] = [];
    if (!this.known.delete(key)) grammars.push(this.provider.create(constraint));
    this.known.set(key, true);
    if (this.known.size > this.maxKnown) this.known.delete(this.known.keys().next().value!);
    while (grammars.length < n) grammars.push(new DeferredGrammar(() => this.provider.create(constraint)));
    return grammars;
  }
}
