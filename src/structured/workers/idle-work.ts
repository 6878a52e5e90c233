// Work a mask worker does only while no message comes (building the lexeme automata of the grammars it mirrors, which
// the masks would otherwise build inside the fills that first need them). It starts after `quietMs` without a
// message and goes one small step at a time, yielding to the event loop between steps: a fill that arrives meanwhile
// waits for one step at most, and the work stops until the thread is quiet again.
export class IdleWork {
  private readonly jobs: Array<Iterator<unknown>> = [];
  private timer: NodeJS.Timeout | null = null;
  /** bumped by every message: a running chain of steps that sees it change stops */
  private messages = 0;
  /** when the last step ended (performance.now()), -1 before any */
  lastStepEnd = -1;

  constructor(private readonly quietMs = 2) {}

  /** queue a job: each next() is one step; done ends it */
  add(job: Iterator<unknown>): void {
    this.jobs.push(job);
    this.arm();
  }

  /** a message came: idle work waits for quiet again */
  busy(): void {
    this.messages++;
    if (this.jobs.length > 0) this.arm();
  }

  /** jobs not finished */
  get pending(): number {
    return this.jobs.length;
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    const seen = this.messages;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.step(seen);
    }, this.quietMs);
  }

  private step(seen: number): void {
    // a message since this chain started: its busy() armed a new timer
    if (seen !== this.messages) return;
    const job = this.jobs[0];
    if (!job) return;
    if (job.next().done) this.jobs.shift();
    this.lastStepEnd = performance.now();
    if (this.jobs.length > 0) setImmediate(() => this.step(seen));
  }
}
