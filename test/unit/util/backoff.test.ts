import { describe, expect, it } from 'vitest';
import { Backoff, pause } from '../../../src/util/backoff.js';

describe('Backoff', () => {
  it('doubles up to its ceiling, draws a jittered wait below it, and ends when its attempts are spent', () => {
    const zoomGuidance = new Backoff({ initialMs: 3_000, maxMs: 30_000 });
    expect(Array.from({ length: 7 }, () => zoomGuidance.next())).toEqual([3_000, 6_000, 12_000, 24_000, 30_000, 30_000, 30_000]);
    zoomGuidance.reset();
    expect(zoomGuidance.next()).toBe(3_000);

    const bounded = new Backoff({ initialMs: 250, attempts: 4 });
    expect(Array.from({ length: 5 }, () => bounded.next())).toEqual([250, 500, 1_000, 2_000, undefined]);
    expect(bounded.retries).toBe(4);

    const draws = [0.5, 0.25, 1];
    const jittered = new Backoff({ initialMs: 100, jitter: true }, () => draws.shift()!);
    expect([jittered.next(), jittered.next(), jittered.next()]).toEqual([50, 50, 400]);
  });

  it('pauses for the whole wait, or ends at once when its signal aborts', async () => {
    expect(await pause(5)).toBe(true);
    const stop = new AbortController();
    const started = Date.now();
    const waiting = pause(10_000, stop.signal);
    stop.abort();
    expect(await waiting).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
