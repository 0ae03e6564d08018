import { describe, expect, it } from 'vitest';
import { capacityOf, NO_PROCESS_LOAD, PROCESS_LOAD, ProcessLoadMonitor, streamRefusal, type ProcessLoad } from '../../../src/control/capacity.js';
import type { MeetingSnapshot, MeetingView } from '../../../src/pipeline/types.js';
import type { MeetingState } from '../../../src/ingest/target.js';

const NOW = 1_000_000;

function meeting(id: string, state: MeetingState, behindSeconds = 0, lastStreamEndedAt?: number): MeetingView {
  const snapshot: MeetingSnapshot = {
    id,
    state,
    source: 'websocket',
    engine: 'pocketsphinx',
    behindSeconds,
    ...(lastStreamEndedAt === undefined ? {} : { lastStreamEndedAt }),
    stats: { streams: 0, captions: 0, words: 0, audioSeconds: 0, droppedSeconds: 0 },
    recognizerCpuSeconds: 0,
    destinations: [],
  };
  return { id, state, snapshot: () => snapshot, on: () => undefined, off: () => undefined };
}

describe('admission: whether a meeting takes a new stream now', () => {
  it('takes streams once ready, never while starting, failed, closed or unknown', () => {
    const meetings = [meeting('ready', 'ready'), meeting('starting', 'starting'), meeting('failed', 'failed'), meeting('closed', 'closed')];
    expect(streamRefusal(meetings, 'ready', NO_PROCESS_LOAD, NOW)).toBeUndefined();
    for (const id of ['starting', 'failed', 'closed', 'nowhere']) expect(streamRefusal(meetings, id, NO_PROCESS_LOAD, NOW)).toBe('meeting not ready');
  });

  it('when an engine is more than 5 s behind, meetings under way go on and new ones are sent elsewhere', () => {
    const meetings = [meeting('busy', 'streaming', 6), meeting('reconnecting', 'ready', 0, NOW - 60_000), meeting('new', 'ready'), meeting('long-idle', 'ready', 0, NOW - 600_000)];
    expect(streamRefusal(meetings, 'busy', NO_PROCESS_LOAD, NOW)).toBeUndefined();
    expect(streamRefusal(meetings, 'reconnecting', NO_PROCESS_LOAD, NOW)).toBeUndefined();
    expect(streamRefusal(meetings, 'new', NO_PROCESS_LOAD, NOW)).toMatch(/^overloaded: the speech engine is 6 s behind/);
    expect(streamRefusal(meetings, 'long-idle', NO_PROCESS_LOAD, NOW)).toMatch(/^overloaded/);
    expect(streamRefusal([meeting('busy', 'streaming', 4), meeting('new', 'ready')], 'new', NO_PROCESS_LOAD, NOW)).toBeUndefined();
  });

  it('when the process is short of CPU for seconds (its loop late, or waiting for a core), new meetings are sent elsewhere too', () => {
    const load = (loopDelayMs: number, cpuWaitMs = 0, cpuBusyMs = 400): ProcessLoad => ({ loopDelayMs: () => loopDelayMs, cpuWaitMs: () => cpuWaitMs, cpuBusyMs: () => cpuBusyMs });
    const meetings = [meeting('busy', 'streaming'), meeting('new', 'ready')];
    expect(streamRefusal(meetings, 'new', load(PROCESS_LOAD.LOOP_DELAY_MS, PROCESS_LOAD.CPU_WAIT_MS_PER_SECOND), NOW)).toBeUndefined();
    expect(streamRefusal(meetings, 'new', load(PROCESS_LOAD.LOOP_DELAY_MS + 50), NOW)).toMatch(/^overloaded: the process is short of CPU \(its event loop runs 150 ms late\)/);
    expect(streamRefusal(meetings, 'new', load(0, 400), NOW)).toMatch(/^overloaded: the process is short of CPU \(busy, it waits for one 400 ms of every second\)/);
    // A process with little to do on a crowded machine waits too, and its meetings do not suffer: not overloaded.
    expect(streamRefusal(meetings, 'new', load(0, 400, 100), NOW)).toBeUndefined();
    expect(streamRefusal(meetings, 'busy', load(PROCESS_LOAD.LOOP_DELAY_MS + 50, 400), NOW)).toBeUndefined();
    expect(capacityOf(meetings, load(400, 10))).toMatchObject({ overloaded: true, loopDelayMs: 400, cpuWaitMs: 10 });
  });

  it("measures the loop's delay as it runs: a loop blocked for seconds shows it, an idle one does not", async () => {
    const monitor = new ProcessLoadMonitor(2).start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 2_300));
      const idleMs = monitor.loopDelayMs();
      // Block the loop for 200 ms at a time, for two windows and more.
      const blocker = setInterval(() => {
        const until = performance.now() + 200;
        while (performance.now() < until);
      }, 5);
      await new Promise((resolve) => setTimeout(resolve, 2_300));
      clearInterval(blocker);
      expect(monitor.loopDelayMs()).toBeGreaterThan(PROCESS_LOAD.LOOP_DELAY_MS);
      expect(idleMs).toBeLessThan(monitor.loopDelayMs());
    } finally {
      monitor.close();
      monitor.close();
    }
  });

  it("counts the CPU wait and busy time a second from the thread's running totals, sustained over the windows, and none where the system does not say", () => {
    const times = { runMs: 5_000, waitMs: 1_000 };
    const monitor = new ProcessLoadMonitor(2, () => ({ ...times }));
    const unknown = new ProcessLoadMonitor(2, () => undefined);
    monitor.sample(); // the baseline
    times.waitMs += 300;
    times.runMs += 400;
    monitor.sample();
    expect(monitor.cpuWaitMs()).toBe(0); // one window seen, two needed
    times.waitMs += 500;
    times.runMs += 600;
    monitor.sample();
    expect([monitor.cpuWaitMs(), monitor.cpuBusyMs()]).toEqual([300, 400]); // the lesser of the two windows
    times.waitMs += 100;
    times.runMs += 100;
    monitor.sample();
    expect([monitor.cpuWaitMs(), monitor.cpuBusyMs()]).toEqual([100, 100]);
    for (let i = 0; i < 3; i++) unknown.sample();
    expect([unknown.cpuWaitMs(), unknown.cpuBusyMs()]).toEqual([0, 0]);
  });
});
