import type { Clock } from '../../src/util/clock.js';

/** A clock that moves only by advance(): the timers due on the way fire in order, each at its own time. */
export class ManualClock implements Clock {
  private at: number;
  /** `ms` undefined: a one-shot timer. */
  private readonly timers = new Set<{ ms: number | undefined; next: number; tick: () => void }>();

  constructor(start = 1_000_000) {
    this.at = start;
  }

  now(): number {
    return this.at;
  }

  every(ms: number, tick: () => void): { stop(): void } {
    const timer = { ms, next: this.at + ms, tick };
    this.timers.add(timer);
    return { stop: () => this.timers.delete(timer) };
  }

  after(ms: number, run: () => void): { stop(): void } {
    const timer = { ms: undefined, next: this.at + ms, tick: run };
    this.timers.add(timer);
    return { stop: () => this.timers.delete(timer) };
  }

  /** Timers waiting to fire: a test sees that something is scheduled before it moves time to it. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time on by `ms`, firing what falls due, and lets the promises each tick starts settle in between. */
  async advance(ms: number): Promise<void> {
    const until = this.at + ms;
    for (;;) {
      const due = [...this.timers].filter((t) => t.next <= until).sort((a, b) => a.next - b.next)[0];
      if (!due) break;
      this.at = due.next;
      if (due.ms === undefined) this.timers.delete(due);
      else due.next += due.ms;
      due.tick();
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.at = until;
  }
}
