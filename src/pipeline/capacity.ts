import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { MeetingView } from './types.js';

/**
 * How far behind the audio a meeting's engine may be. Past WARN it is said once (and cleared under CLEAR); past
 * OVERLOADED the machine takes no new meeting; past MAX_BACKLOG_SECONDS (audio.ts) the oldest audio is dropped.
 */
export const BEHIND = { WARN_SECONDS: 3, CLEAR_SECONDS: 1, OVERLOADED_SECONDS: 5 } as const;
/** A meeting whose stream ended this recently is still under way (its publisher reconnecting). */
const RECONNECT_GRACE_MS = 120_000;

/**
 * How late the process's event loop may run before it takes no new meeting. Every meeting's audio, engine replies
 * and caption POSTs wait in the one loop: a cloud engine's meetings cost no decoder backlog, so a process starved of
 * CPU (too many meetings, or a noisy neighbour) shows first here. Measured (docs/scale-out.md): under 10 ms at 200
 * cloud meetings on 2 cores, hundreds of ms when two busy processes share those cores.
 */
export const LOOP_DELAY = { OVERLOADED_MS: 100 } as const;

/** How late the event loop runs, sustained: the least of the last few seconds' delays, so one GC pause or a burst does not count. */
export interface LoopDelay {
  sustainedMs(): number;
}

/** The event loop's delay, sampled by Node's own histogram (perf_hooks), one window a second. */
export class EventLoopDelay implements LoopDelay {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private readonly recent: number[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly windows = 3) {}

  start(): this {
    if (this.timer) return this;
    this.histogram.enable();
    this.timer = setInterval(() => this.sample(), 1_000);
    this.timer.unref();
    return this;
  }

  /** The least of the last `windows` seconds' worst delays (p99), in ms; 0 until that many seconds are seen. */
  sustainedMs(): number {
    return this.recent.length < this.windows ? 0 : Math.min(...this.recent);
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.histogram.disable();
  }

  private sample(): void {
    // In ns, and counting the sampling timer's own 10 ms. Its p99, not its median: a loop blocked for long stretches
    // takes few samples in them, while each quiet moment between adds many (a second blocked 70 % of the time in
    // 200 ms runs has a median of 10 ms).
    this.recent.push(this.histogram.count > 0 ? Math.max(0, this.histogram.percentile(99) / 1e6 - 10) : 0);
    this.histogram.reset();
    if (this.recent.length > this.windows) this.recent.shift();
  }
}

/** No measure of the loop (tests of the meetings' own backlog, tools that run no meetings). */
export const NO_LOOP_DELAY: LoopDelay = { sustainedMs: () => 0 };

export interface CapacityReport {
  /** Meetings whose engine is more than half a second behind, with how far. */
  behindSeconds: Record<string, number>;
  /** How late the event loop runs, sustained (ms). */
  loopDelayMs: number;
  overloaded: boolean;
  /** Why, when overloaded: for /readyz and a refused stream. */
  reason?: string;
}

export function capacityOf(meetings: readonly MeetingView[], loop: LoopDelay): CapacityReport {
  const behindSeconds = Object.fromEntries(meetings.map((m) => [m.id, m.snapshot().behindSeconds] as const).filter(([, s]) => s > 0.5));
  const loopDelayMs = Math.round(loop.sustainedMs());
  const worst = Math.max(0, ...Object.values(behindSeconds));
  const reason =
    worst > BEHIND.OVERLOADED_SECONDS
      ? `the speech engine is ${worst.toFixed(0)} s behind its meetings here`
      : loopDelayMs > LOOP_DELAY.OVERLOADED_MS
        ? `the process is short of CPU (its event loop runs ${loopDelayMs} ms late)`
        : undefined;
  return { behindSeconds, loopDelayMs, overloaded: reason !== undefined, ...(reason ? { reason } : {}) };
}

/**
 * Why a new stream for meeting `id` is refused now, or undefined: the one admission decision for every listener
 * (WebSocket, RTMP). A meeting takes streams once its engine and destinations are ready. When the machine cannot
 * keep up, meetings already under way keep their streams (a publisher reconnecting included), and no new meeting
 * starts here until the engines catch up, since each one more makes every meeting's captions later. /readyz says
 * the same, so a load balancer sends new meetings elsewhere.
 */
export function streamRefusal(meetings: readonly MeetingView[], id: string, loop: LoopDelay, now = Date.now()): string | undefined {
  const meeting = meetings.find((m) => m.id === id)?.snapshot();
  if (!meeting || meeting.state === 'failed' || meeting.state === 'starting' || meeting.state === 'closed') return 'meeting not ready';
  const { overloaded, reason } = capacityOf(meetings, loop);
  if (!overloaded) return undefined;
  if (meeting.state === 'streaming' || (meeting.lastStreamEndedAt ?? 0) > now - RECONNECT_GRACE_MS) return undefined;
  return `overloaded: ${reason}; no new meeting starts until it catches up (start this one on another instance)`;
}
