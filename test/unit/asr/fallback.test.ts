import { describe, expect, it } from 'vitest';
import type { AudioItem } from '../../../src/audio.js';
import { FallbackRecognizer } from '../../../src/asr/fallback.js';
import type { SpeechEvent, SpeechRecognizer } from '../../../src/asr/types.js';
import { BridgeError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { AsyncQueue } from '../../../src/util/async-queue.js';

const CHUNK = 1_600; // 100 ms

/** Chunk n is filled with the value n, so who heard what can be read back. */
const chunk = (n: number): Int16Array => new Int16Array(CHUNK).fill(n);

/**
 * Stand-ins for two engines, reading the way the real adapters do: a pump takes audio ahead of the results. The first
 * fails once it has heard `failAfter` chunks, with its next read already waiting; the second hears the rest.
 */
function engines(failAfter: number): { first: SpeechRecognizer; second: SpeechRecognizer; heard: number[][] } {
  const heard: number[][] = [[], []];
  const make = (which: 0 | 1): SpeechRecognizer => ({
    engine: which === 0 ? 'first' : 'second',
    capabilities: { streaming: true, interimResults: true, wordTimings: true } as SpeechRecognizer['capabilities'],
    start: async () => undefined,
    close: async () => undefined,
    async *transcribe(audio: AsyncIterable<AudioItem>): AsyncIterable<SpeechEvent> {
      let enough!: () => void;
      const failing = new Promise<void>((resolve) => (enough = resolve));
      const pump = (async () => {
        for await (const item of audio) {
          if (!(item instanceof Int16Array)) continue;
          heard[which]!.push(item[0]!);
          if (which === 0 && heard[0]!.length === failAfter) enough();
        }
      })();
      if (which === 0) {
        await failing;
        await new Promise((resolve) => setTimeout(resolve, 20)); // its pump is waiting on the next chunk now
        throw new BridgeError('ASR_ENGINE_FAILED', 'the first engine went away');
      }
      await pump;
      yield { type: 'final', text: 'end', time: (heard[1]!.length * CHUNK) / 16_000, words: [{ word: 'end', start: 0, end: (heard[1]!.length * CHUNK) / 16_000 }] } as SpeechEvent;
    },
  });
  return { first: make(0), second: make(1), heard };
}

describe('FallbackRecognizer', () => {
  it('hands the audio a failed engine had already asked for to the next engine: every chunk heard once, in order, times unshifted', async () => {
    const { first, second, heard } = engines(3);
    const recognizer = new FallbackRecognizer([first, second], silentLogger);
    await recognizer.start();
    const audio = new AsyncQueue<AudioItem>();
    const events: SpeechEvent[] = [];
    const done = (async () => {
      for await (const event of recognizer.transcribe(audio)) events.push(event);
    })();
    for (let n = 0; n < 3; n++) audio.push(chunk(n));
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (let n = 3; n < 10; n++) audio.push(chunk(n));
    audio.end();
    await done;
    expect(heard[0]).toEqual([0, 1, 2]);
    expect(heard[1]).toEqual([3, 4, 5, 6, 7, 8, 9]);
    // The second engine's times count from where the first stopped hearing: 3 chunks in.
    const final = events.find((e) => e.type === 'final') as Extract<SpeechEvent, { type: 'final' }>;
    expect(final.words[0]!.start).toBeCloseTo(0.3, 5);
    expect(final.time).toBeCloseTo(1.0, 5);
  });
});
