import type { Clock } from '../../src/util/clock.js';

/** A clock that moves only by advance(): the intervals due on the way fire in order, each at its own time. */
export class ManualClock implements Clock {
  private at: number;
  private readonly timers = new Set<{ ms: number; next: number; tick: () => void }>();

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

  /** Moves time on by `ms`, firing what falls due, and lets the promises each tick starts settle in between. */
  async advance(ms: number): Promise<void> {
    const until = this.at + ms;
    for (;;) {
      const due = [...this.timers].filter((t) => t.next <= until).sort((a, b) => a.next - b.next)[0];
      if (!due) break;
      this.at = due.next;
      due.next += due.ms;
      due.tick();
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.at = until;
  }
}
