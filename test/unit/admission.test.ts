import { describe, expect, it } from 'vitest';
import { capacityOf, EventLoopDelay, LOOP_DELAY, NO_LOOP_DELAY, streamRefusal, type LoopDelay } from '../../src/pipeline/capacity.js';
import type { MeetingSnapshot, MeetingState, MeetingView } from '../../src/pipeline/types.js';

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
    expect(streamRefusal(meetings, 'ready', NO_LOOP_DELAY, NOW)).toBeUndefined();
    for (const id of ['starting', 'failed', 'closed', 'nowhere']) expect(streamRefusal(meetings, id, NO_LOOP_DELAY, NOW)).toBe('meeting not ready');
  });

  it('when an engine is more than 5 s behind, meetings under way go on and new ones are sent elsewhere', () => {
    const meetings = [meeting('busy', 'streaming', 6), meeting('reconnecting', 'ready', 0, NOW - 60_000), meeting('new', 'ready'), meeting('long-idle', 'ready', 0, NOW - 600_000)];
    expect(streamRefusal(meetings, 'busy', NO_LOOP_DELAY, NOW)).toBeUndefined();
    expect(streamRefusal(meetings, 'reconnecting', NO_LOOP_DELAY, NOW)).toBeUndefined();
    expect(streamRefusal(meetings, 'new', NO_LOOP_DELAY, NOW)).toMatch(/^overloaded: the speech engine is 6 s behind/);
    expect(streamRefusal(meetings, 'long-idle', NO_LOOP_DELAY, NOW)).toMatch(/^overloaded/);
    expect(streamRefusal([meeting('busy', 'streaming', 4), meeting('new', 'ready')], 'new', NO_LOOP_DELAY, NOW)).toBeUndefined();
  });

  it('when the event loop runs late for seconds (a process short of CPU), new meetings are sent elsewhere too', () => {
    const late = (ms: number): LoopDelay => ({ sustainedMs: () => ms });
    const meetings = [meeting('busy', 'streaming'), meeting('new', 'ready')];
    expect(streamRefusal(meetings, 'new', late(LOOP_DELAY.OVERLOADED_MS), NOW)).toBeUndefined();
    expect(streamRefusal(meetings, 'new', late(LOOP_DELAY.OVERLOADED_MS + 50), NOW)).toMatch(/^overloaded: the process is short of CPU \(its event loop runs 150 ms late\)/);
    expect(streamRefusal(meetings, 'busy', late(LOOP_DELAY.OVERLOADED_MS + 50), NOW)).toBeUndefined();
    expect(capacityOf(meetings, late(400))).toMatchObject({ overloaded: true, loopDelayMs: 400 });
  });

  it("measures the loop's delay as it runs: a loop blocked every few ms for seconds shows it, an idle one does not", async () => {
    const idle = new EventLoopDelay(2).start();
    const busy = new EventLoopDelay(2).start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 2_300));
      const idleMs = idle.sustainedMs();
      // Now block the loop for 200 ms at a time, twice a second... for two windows.
      const blocker = setInterval(() => {
        const until = performance.now() + 200;
        while (performance.now() < until);
      }, 5);
      await new Promise((resolve) => setTimeout(resolve, 2_300));
      clearInterval(blocker);
      expect(idleMs).toBeLessThan(LOOP_DELAY.OVERLOADED_MS);
      expect(busy.sustainedMs()).toBeGreaterThan(LOOP_DELAY.OVERLOADED_MS);
    } finally {
      idle.close();
      busy.close();
      idle.close();
    }
  });
});
