/**
 * Time as a stateful part reads it where time decides what it does (a lease's fence, a budget): the system's, or a
 * test's that moves only when the test says, so the test proves the decision without waiting for it.
 */
export interface Clock {
  now(): number;
  /** Calls `tick` every `ms` until stopped. */
  every(ms: number, tick: () => void): { stop(): void };
  /** Calls `run` once, `ms` from now, unless stopped first. */
  after(ms: number, run: () => void): { stop(): void };
}

export const systemClock: Clock = {
  now: () => Date.now(),
  every(ms, tick) {
    const timer = setInterval(tick, ms);
    return { stop: () => clearInterval(timer) };
  },
  after(ms, run) {
    const timer = setTimeout(run, ms);
    return { stop: () => clearTimeout(timer) };
  },
};
