import { setTimeout as sleep } from 'node:timers/promises';

/**
 * How one retry loop waits: `initialMs` before the first retry, `multiplier` times more after each failure, at most
 * `maxMs`. With `jitter` each wait is drawn uniformly from [0, that] ("full jitter": many clients that failed
 * together do not come back together). `attempts` ends the loop (then there is no next wait); without it the loop
 * retries for as long as its owner runs. Every backoff loop of the bridge is one of these.
 */
export interface RetryPolicy {
  initialMs: number;
  multiplier?: number;
  maxMs?: number;
  jitter?: boolean;
  attempts?: number;
}

/** The waits of one retry loop under a policy. A run that went well starts it over (`reset`). */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly policy: RetryPolicy,
    private readonly random: () => number = Math.random,
  ) {}

  /** The wait before the next attempt, or undefined when the policy's attempts are spent. */
  next(): number | undefined {
    const { initialMs, multiplier = 2, maxMs = Infinity, jitter = false, attempts } = this.policy;
    if (attempts !== undefined && this.failures >= attempts) return undefined;
    const ceiling = Math.min(maxMs, initialMs * multiplier ** this.failures++);
    return jitter ? this.random() * ceiling : ceiling;
  }

  /** How many waits have been handed out since the start or the last reset. */
  get retries(): number {
    return this.failures;
  }

  reset(): void {
    this.failures = 0;
  }
}

/** Waits `ms`, or less if `signal` aborts first: true when the whole wait ran (the loop should go on). */
export async function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return false;
  return sleep(ms, true, { signal }).catch(() => false);
}
