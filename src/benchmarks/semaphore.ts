// Caps how many requests are in flight (--max-concurrency, run-batch's window).
/** at most `limit` tasks running at once; the rest wait in arrival order */
export class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError(`--max-concurrency must be >= 1, got ${limit}`);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    // a finishing task hands its slot straight to the next waiter, so a newcomer can never overtake it
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    else this.active++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
