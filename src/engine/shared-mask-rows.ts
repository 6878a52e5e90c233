// Rows of one step whose grammars answer the same cached mask (RequestGrammar.cachedMaskIdentity): rows of one schema
// at one position, most of a JSON-extraction batch. The first is written; the others point at it
// (StepBatch.grammarSameAs), so the engine thread copies each distinct mask once (a 19 KB copy per row was most of
// its per-step mask work at 256 rows) and the GPU sampler's dedupe need not compare them.

export class SharedMaskRows {
  /** identity -> the row holding its mask this step */
  private readonly written = new Map<object, number>();

  /** `sameAs`: the step's grammarSameAs, set to -1 here */
  constructor(private readonly sameAs: Int32Array) {
    sameAs.fill(-1);
  }

  /** row i's mask is `identity`'s: true when an earlier row holds it (row i now points there: write nothing) */
  share(i: number, identity: object | null): boolean {
    if (identity === null) return false;
    const row = this.written.get(identity);
    if (row === undefined) return false;
    this.sameAs[i] = row;
    return true;
  }

  /** row i was written with `identity`'s mask (later rows with it can share it) */
  wrote(i: number, identity: object | null): void {
    if (identity !== null && !this.written.has(identity)) this.written.set(identity, i);
  }
}
