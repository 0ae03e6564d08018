import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { BEHIND } from '../audio.js';
import type { MeetingView } from '../pipeline/types.js';

/** A meeting whose stream ended this recently is still under way (its publisher reconnecting). */
const RECONNECT_GRACE_MS = 120_000;

/**
 * When the process is short of CPU and takes no new meeting. Every meeting's audio, engine replies and caption POSTs
 * wait in the one event loop: with cloud engines there is no decoder backlog to show it, so two signals of the
 * process itself do, each sustained over the last three seconds (the least of the three, so one GC pause or burst
 * does not count):
 * - the event loop running late (its own work saturates it: too many meetings for one thread);
 * - the loop's thread waiting for a CPU while runnable (Linux schedstat: other processes take the cores, or the
 *   machine has fewer than it seems), counted only while the thread is busy itself (on a CPU a quarter of every
 *   second): a process with a meeting or two on a crowded machine waits too, and its meetings do not suffer.
 * Measured (docs/scale-out.md, 200 cloud meetings on 2 cores with the load generator beside them): loop delay p99
 * 3-17 ms, CPU wait ~130 ms a second; with two busy processes added, CPU wait ~340 ms a second and word p95 up 0.4 s.
 */
export const PROCESS_LOAD = { LOOP_DELAY_MS: 100, CPU_WAIT_MS_PER_SECOND: 250, CPU_BUSY_MS_PER_SECOND: 250 } as const;

/** How loaded the process is, sustained (see PROCESS_LOAD). */
export interface ProcessLoad {
  /** How late the event loop runs (its p99 a second), in ms. */
  loopDelayMs(): number;
  /** How long the loop's thread waited for a CPU while runnable, in ms per second. */
  cpuWaitMs(): number;
  /** How long the loop's thread ran on a CPU, in ms per second. */
  cpuBusyMs(): number;
}

/** Samples the event loop's delay (Node's own histogram, perf_hooks) and the thread's CPU wait, once a second. */
export class ProcessLoadMonitor implements ProcessLoad {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private readonly delays: number[] = [];
  private readonly waits: number[] = [];
  private readonly busy: number[] = [];
  private last: ThreadTimes | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly windows = 3,
    /** The thread's time on a CPU and waiting for one so far, in ms; undefined where the system does not say (not Linux). */
    private readonly threadTimes: () => ThreadTimes | undefined = mainThreadTimes,
  ) {}

  start(): this {
    if (this.timer) return this;
    this.histogram.enable();
    this.last = this.threadTimes();
    this.timer = setInterval(() => this.sample(), 1_000);
    this.timer.unref();
    return this;
  }

  loopDelayMs(): number {
    return this.sustained(this.delays);
  }

  cpuWaitMs(): number {
    return this.sustained(this.waits);
  }

  cpuBusyMs(): number {
    return this.sustained(this.busy);
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.histogram.disable();
  }

  /** The least of the last `windows` seconds, so a single slow second does not count; 0 until that many are seen. */
  private sustained(recent: readonly number[]): number {
    return recent.length < this.windows ? 0 : Math.min(...recent);
  }

  /** One second's window (start() runs it every second; a test may call it itself). */
  sample(): void {
    // In ns, and counting the sampling timer's own 10 ms. Its p99, not its median: a loop blocked for long stretches
    // takes few samples in them, while each quiet moment between adds many (a second blocked 70 % of the time in
    // 200 ms runs has a median of 10 ms).
    this.keep(this.delays, this.histogram.count > 0 ? Math.max(0, this.histogram.percentile(99) / 1e6 - 10) : 0);
    this.histogram.reset();
    const times = this.threadTimes();
    if (times && this.last) {
      this.keep(this.waits, Math.max(0, times.waitMs - this.last.waitMs));
      this.keep(this.busy, Math.max(0, times.runMs - this.last.runMs));
    }
    this.last = times;
  }

  private keep(recent: number[], value: number): void {
    recent.push(value);
    if (recent.length > this.windows) recent.shift();
  }
}

/** A thread's total time on a CPU and runnable but waiting for one, in ms. */
export interface ThreadTimes {
  runMs: number;
  waitMs: number;
}

/** The main thread's times, from /proc/self/schedstat (ns on a CPU, ns waiting, time slices). */
function mainThreadTimes(): ThreadTimes | undefined {
  try {
    const [runNs, waitNs] = readFileSync('/proc/self/schedstat', 'utf8').split(' ').map(Number);
    return Number.isFinite(runNs) && Number.isFinite(waitNs) ? { runMs: runNs! / 1e6, waitMs: waitNs! / 1e6 } : undefined;
  } catch {
    return undefined;
  }
}

/** No measure of the process (tests of the meetings' own backlog, tools that run no meetings). */
export const NO_PROCESS_LOAD: ProcessLoad = { loopDelayMs: () => 0, cpuWaitMs: () => 0, cpuBusyMs: () => 0 };

export interface CapacityReport {
  /** Meetings whose engine is more than half a second behind, with how far. */
  behindSeconds: Record<string, number>;
  /** How late the event loop runs, sustained (ms). */
  loopDelayMs: number;
  /** How long the loop's thread waits for a CPU, sustained (ms a second). */
  cpuWaitMs: number;
  overloaded: boolean;
  /** Why, when overloaded: for /readyz and a refused stream. */
  reason?: string;
}

export function capacityOf(meetings: readonly MeetingView[], load: ProcessLoad): CapacityReport {
  const behindSeconds = Object.fromEntries(meetings.map((m) => [m.id, m.snapshot().behindSeconds] as const).filter(([, s]) => s > 0.5));
  const loopDelayMs = Math.round(load.loopDelayMs());
  const cpuWaitMs = Math.round(load.cpuWaitMs());
  const worst = Math.max(0, ...Object.values(behindSeconds));
  const reason =
    worst > BEHIND.OVERLOADED_SECONDS
      ? `the speech engine is ${worst.toFixed(0)} s behind its meetings here`
      : loopDelayMs > PROCESS_LOAD.LOOP_DELAY_MS
        ? `the process is short of CPU (its event loop runs ${loopDelayMs} ms late)`
        : cpuWaitMs > PROCESS_LOAD.CPU_WAIT_MS_PER_SECOND && load.cpuBusyMs() > PROCESS_LOAD.CPU_BUSY_MS_PER_SECOND
          ? `the process is short of CPU (busy, it waits for one ${cpuWaitMs} ms of every second)`
          : undefined;
  return { behindSeconds, loopDelayMs, cpuWaitMs, overloaded: reason !== undefined, ...(reason ? { reason } : {}) };
}

/**
 * Why a new stream for meeting `id` is refused now, or undefined: the one admission decision for every listener
 * (WebSocket, RTMP). A meeting takes streams once its engine and destinations are ready. When the machine cannot
 * keep up, meetings already under way keep their streams (a publisher reconnecting included), and no new meeting
 * starts here until the engines catch up, since each one more makes every meeting's captions later. /readyz says
 * the same, so a load balancer sends new meetings elsewhere.
 */
export function streamRefusal(meetings: readonly MeetingView[], id: string, load: ProcessLoad, now = Date.now()): string | undefined {
  const meeting = meetings.find((m) => m.id === id)?.snapshot();
  if (!meeting || meeting.state === 'failed' || meeting.state === 'starting' || meeting.state === 'closed') return 'meeting not ready';
  const { overloaded, reason } = capacityOf(meetings, load);
  if (!overloaded) return undefined;
  if (meeting.state === 'streaming' || (meeting.lastStreamEndedAt ?? 0) > now - RECONNECT_GRACE_MS) return undefined;
  return `overloaded: ${reason}; no new meeting starts until it catches up (start this one on another instance)`;
}
