// The grammar bitmask of a step, kept from step to step. A 7B step with 256 grammar rows needs 256 × 4,752 words
// (4.9 MB); allocating (and zeroing) that anew each step cost ~0.6 ms between steps, on the step's critical path.
// The buffer is reused once the step that used it is over (the backend has read it), and only the rows that an
// earlier step wrote and that this step does not rewrite are zeroed, so the backend still gets rows that are either
// this step's masks or zero.
import type { BulkMaskFiller, HeldRows } from './grammar.js';

export class StepMaskBuffer implements HeldRows {
  private buffer: Int32Array | null = null;
  /** who allocated it: null for a plain Int32Array, else the bulk filler whose threads can write into it */
  private owner: BulkMaskFiller | null = null;
  /** rows written by an earlier step and not zeroed since */
  private dirty = new Uint8Array(0);
  /**
   * per row: the lasting mask identity its words hold (writeMaskRow), else null. Whoever writes a row otherwise (a
   * worker, a zero fill, a copy) sets it to null first; a new buffer holds none
   */
  private held: Array<object | null> = [];

  constructor(
    private readonly maxRows: number,
    private readonly words: number,
  ) {}

  /**
   * a bitmask of `rows` rows for this step: rows in `written` hold anything (the caller rewrites each of them), every
   * other row is zero. A step filled by a bulk filler needs a buffer of that filler's allocation (its threads write
   * into it); one the engine thread fills can use any, so steps that switch between the two keep one buffer.
   */
  take(rows: number, written: readonly number[], filler: BulkMaskFiller | null): Int32Array {
    const words = this.words;
    this.owner?.beforeReuse?.();
    if (!this.buffer || this.buffer.length < rows * words || (filler !== null && this.owner !== filler)) {
      const length = Math.max(rows, this.maxRows) * words;
      this.buffer = filler ? filler.allocate(length) : new Int32Array(length);
      this.owner = filler;
      this.dirty = new Uint8Array(length / words);
      this.held = new Array<object | null>(length / words).fill(null);
    }
    const buf = this.buffer;
    const dirty = this.dirty;
    for (const i of written) dirty[i] = 2; // rewritten now: stays dirty after this step
    for (let i = 0; i < rows; i++) {
      if (dirty[i] === 1) {
        buf.fill(0, i * words, (i + 1) * words);
        dirty[i] = 0;
        this.held[i] = null;
      } else if (dirty[i] === 2) {
        dirty[i] = 1;
      }
    }
    return buf.subarray(0, rows * words);
  }

  holds(row: number, identity: object): boolean {
    return this.held[row] === identity;
  }

  hold(row: number, identity: object | null): void {
    this.held[row] = identity;
  }

  /**
   * never hand this buffer out again: a thread that was given it may still write into it (a mask worker that timed
   * out and is being stopped)
   */
  discard(): void {
    this.buffer = null;
    this.owner = null;
  }
}
