import { afterEach, describe, expect, it, vi } from 'vitest';
import { StreamBuffer } from '../../../src/ingest/stream-buffer.js';

const second = (): Int16Array => new Int16Array(16_000);
const target = { audioDropped: () => undefined };

describe('StreamBuffer: when the audio was said', () => {
  afterEach(() => vi.useRealTimers());

  it("places audio on this machine's clock by the source's stamps, so audio replayed in a burst is known to be late", () => {
    vi.useFakeTimers();
    const buffer = new StreamBuffer(target);
    const stream = buffer.stream;
    // The source's clock is 250 s behind ours; the first 3 s arrive at once (replayed), 3 s after they were said.
    const zoomNow = 1_000_000;
    vi.setSystemTime(zoomNow + 250_000);
    for (let s = 0; s < 3; s++) {
      buffer.stamped(zoomNow - 3_000 + s * 1_000);
      buffer.push(second());
    }
    // Then live audio: arriving as it is said (20 ms on the way).
    vi.setSystemTime(zoomNow + 250_020);
    buffer.stamped(zoomNow);
    buffer.push(second());
    expect(stream.saidAt!(0.5)).toBe(zoomNow + 250_020 - 2_500);
    expect(stream.saidAt!(3.5)).toBe(zoomNow + 250_020 + 500);
  });

  it('says nothing for a source that does not stamp its audio', () => {
    const buffer = new StreamBuffer(target);
    buffer.push(second());
    expect(buffer.stream.saidAt!(0.5)).toBeUndefined();
  });
});

describe('StreamBuffer: who speaks', () => {
  it('keeps the changes of speaker in stream order; the same speaker again is no change, a new name is', () => {
    const buffer = new StreamBuffer(target);
    buffer.push(second());
    buffer.speakerChanged({ id: 'speaker 1', name: 'Ana' });
    buffer.push(second());
    buffer.speakerChanged({ id: 'speaker 1', name: 'Ana' });
    buffer.speakerChanged({ id: 'speaker 2', name: 'Ben' }, 1.5);
    buffer.push(second());
    buffer.speakerChanged({ id: 'speaker 2', name: 'Ben R.' });
    const { speakerAt } = buffer.stream;
    expect(speakerAt!(0.5)).toBeUndefined();
    expect(speakerAt!(1.2)).toEqual({ id: 'speaker 1', name: 'Ana' });
    expect(speakerAt!(2.5)).toEqual({ id: 'speaker 2', name: 'Ben' });
    expect(speakerAt!(3.5)).toEqual({ id: 'speaker 2', name: 'Ben R.' });
  });
});
