import { describe, expect, it } from 'vitest';
import { streamRefusal } from '../../src/pipeline/capacity.js';
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
    expect(streamRefusal(meetings, 'ready', NOW)).toBeUndefined();
    for (const id of ['starting', 'failed', 'closed', 'nowhere']) expect(streamRefusal(meetings, id, NOW)).toBe('meeting not ready');
  });

  it('when an engine is more than 5 s behind, meetings under way go on and new ones are sent elsewhere', () => {
    const meetings = [meeting('busy', 'streaming', 6), meeting('reconnecting', 'ready', 0, NOW - 60_000), meeting('new', 'ready'), meeting('long-idle', 'ready', 0, NOW - 600_000)];
    expect(streamRefusal(meetings, 'busy', NOW)).toBeUndefined();
    expect(streamRefusal(meetings, 'reconnecting', NOW)).toBeUndefined();
    expect(streamRefusal(meetings, 'new', NOW)).toMatch(/^overloaded: the speech engine is 6 s behind/);
    expect(streamRefusal(meetings, 'long-idle', NOW)).toMatch(/^overloaded/);
    expect(streamRefusal([meeting('busy', 'streaming', 4), meeting('new', 'ready')], 'new', NOW)).toBeUndefined();
  });
});
