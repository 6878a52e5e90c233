// Engine requests currently served, so that a shutdown can abort whatever is still running.
import type { ServingEngine } from '../engine/serving-engine.js';

export class InflightRequests {
  private readonly ids = new Set<string>();
  private readonly drainWaiters: Array<() => void> = [];

  constructor(private readonly engine: ServingEngine) {}

  get size(): number {
    return this.ids.size;
  }

  add(id: string): void {
    this.ids.add(id);
  }

  delete(id: string): void {
    this.ids.delete(id);
    if (this.ids.size === 0) for (const w of this.drainWaiters.splice(0)) w();
  }

  abortAll(): void {
    for (const id of [...this.ids]) this.engine.abort(id);
  }

  /** resolves once no request is in flight */
  drained(): Promise<void> {
    return this.ids.size === 0 ? Promise.resolve() : new Promise((r) => this.drainWaiters.push(r));
  }
}
