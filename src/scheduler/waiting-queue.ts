// Waiting sequences in scheduling order: FCFS (arrival) or priority (lower value first, then arrival).
// Preempted sequences go back to the front in FCFS mode and to their priority position in priority mode.
import type { Sequence } from './sequence.js';

export type SchedulingPolicy = 'fcfs' | 'priority';

export class WaitingQueue {
  private items: Sequence[] = [];
  constructor(private readonly policy: SchedulingPolicy) {}

  get length(): number {
    return this.items.length;
  }

  at(i: number): Sequence {
    return this.items[i];
  }

  removeAt(i: number): Sequence {
    return this.items.splice(i, 1)[0];
  }

  add(seq: Sequence): void {
    if (this.policy === 'fcfs') this.items.push(seq);
    else this.insertSorted(seq);
  }

  /** a preempted sequence resumes before newer arrivals */
  addPreempted(seq: Sequence): void {
    if (this.policy === 'fcfs') this.items.unshift(seq);
    else this.insertSorted(seq);
  }

  /** drops sequences that finished (aborted) while waiting */
  prune(): void {
    if (this.items.some((s) => s.status === 'finished')) this.items = this.items.filter((s) => s.status !== 'finished');
  }

  private insertSorted(seq: Sequence): void {
    let lo = 0;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (comesBefore(this.items[mid], seq)) lo = mid + 1;
      else hi = mid;
    }
    this.items.splice(lo, 0, seq);
  }
}

/** priority order: lower priority value first, then earlier arrival */
export function comesBefore(a: Sequence, b: Sequence): boolean {
  return a.priority !== b.priority ? a.priority < b.priority : a.arrivalIndex < b.arrivalIndex;
}
