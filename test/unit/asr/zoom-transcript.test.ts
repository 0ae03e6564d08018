import { describe, expect, it } from 'vitest';
import { isSamples, type AudioItem, type SourceTranscript } from '../../../src/audio.js';
import { ZoomTranscriptRecognizer } from '../../../src/asr/zoom-transcript/recognizer.js';
import type { SpeechEvent } from '../../../src/asr/types.js';
import { createLogger } from '../../../src/log.js';
import { isBridgeError } from '../../../src/errors.js';

const log = createLogger('silent');
/** 100 ms of audio. */
const tick = (): Int16Array => new Int16Array(1_600);
const ANA = { id: 'speaker 1', name: 'Ana' };
const BO = { id: 'speaker 2', name: 'Bo' };

function piece(sentence: string, change: SourceTranscript['change'], text: string, extra: Partial<SourceTranscript> = {}): SourceTranscript {
  return { type: 'source-transcript', sentence, change, text, speaker: ANA, ...extra };
}

async function run(items: AudioItem[], recognizer = new ZoomTranscriptRecognizer(log)): Promise<SpeechEvent[]> {
  async function* source(): AsyncIterable<AudioItem> {
    yield* items;
  }
  const events: SpeechEvent[] = [];
  for await (const event of recognizer.transcribe(source())) events.push(event);
  return events;
}

const finals = (events: SpeechEvent[]): string[] => events.flatMap((e) => (e.type === 'final' ? [e.text] : []));

describe("Zoom's transcript as an engine", () => {
  it('shows a sentence as it is revised and makes it final when the same speaker begins another; words keep Zoom\'s writing and speaker', async () => {
    const events = await run([
      tick(),
      piece('a', 'new', 'Good morning', { start: 0, end: 0.6 }),
      tick(),
      piece('a', 'update', 'Good morning, everyone.', { start: 0, end: 1.2 }),
      tick(),
      piece('b', 'new', 'Let us start', { start: 1.5, end: 2 }),
      tick(),
    ]);
    expect(events.filter((e) => e.type === 'interim').map((e) => e.text)).toEqual(['Good morning', 'Good morning, everyone.', 'Let us start']);
    expect(finals(events)).toEqual(['Good morning, everyone.', 'Let us start']);
    const first = events.find((e) => e.type === 'final')!;
    if (first.type !== 'final') throw new Error('expected a final');
    expect(first.words.map((w) => [w.word, w.display, w.speaker, w.speakerName])).toEqual([
      ['good', 'Good', 'speaker 1', 'Ana'],
      ['morning', 'morning,', 'speaker 1', 'Ana'],
      ['everyone', 'everyone.', 'speaker 1', 'Ana'],
    ]);
    expect(first.words[0]!.start).toBe(0);
    expect(first.words.at(-1)!.end).toBeCloseTo(1.2);
  });

  it('two people at once: the sentence that began second waits whole for the first to finish, and neither loses a word', async () => {
    const events = await run([
      piece('a', 'new', 'I think the', { start: 0, end: 0.5 }),
      tick(),
      piece('b', 'new', 'Yes', { speaker: BO, start: 0.3, end: 0.5 }),
      tick(),
      piece('a', 'update', 'I think the budget holds.', { start: 0, end: 1.4 }),
      piece('b', 'update', 'Yes, agreed.', { speaker: BO, start: 0.3, end: 0.9 }),
      tick(),
    ]);
    // Bo's sentence is never shown inside Ana's; at the end both are complete, in the order they began.
    expect(events.filter((e) => e.type === 'interim').map((e) => e.text)).toEqual(['I think the', 'I think the budget holds.']);
    expect(finals(events)).toEqual(['I think the budget holds.', 'Yes, agreed.']);
  });

  it('completes a sentence Zoom stopped revising after 1.5 s of audio; a later revision of it is counted, not shown', async () => {
    const recognizer = new ZoomTranscriptRecognizer(log);
    const quiet = Array.from({ length: 16 }, tick);
    const events = await run([piece('a', 'new', 'Thank you', { start: 0, end: 0.4 }), ...quiet, piece('a', 'update', 'Thank you all'), tick()], recognizer);
    expect(finals(events)).toEqual(['Thank you']);
    expect(recognizer.counts.lateRevisions).toBe(1);
  });

  it('a withdrawn sentence ends the utterance with nothing more; a whole sentence is final at once; Finalize is no event', async () => {
    const recognizer = new ZoomTranscriptRecognizer(log);
    const events = await run([piece('a', 'new', 'Um', { start: 0, end: 0.2 }), tick(), piece('a', 'delete', ''), tick(), piece('c', 'whole', 'Next item.', { start: 1, end: 1.6 }), tick()], recognizer);
    expect(events.map((e) => `${e.type}:${'text' in e ? e.text : ''}`)).toEqual(['interim:Um', 'interim:', 'end_of_speech:', 'final:Next item.']);
    expect(recognizer.counts.withdrawn).toBe(1);
  });

  it('a sentence without times is placed where it arrived, about 0.3 s a word back', async () => {
    const events = await run([tick(), tick(), tick(), tick(), tick(), tick(), tick(), tick(), tick(), tick(), piece('a', 'whole', 'One two three.'), tick()]);
    const final = events.find((e) => e.type === 'final');
    if (final?.type !== 'final') throw new Error('expected a final');
    expect(final.words[0]!.start).toBeCloseTo(0.1);
    expect(final.words.at(-1)!.end).toBeCloseTo(1.0);
  });

  it('close is safe twice, and a closed engine takes no stream', async () => {
    const recognizer = new ZoomTranscriptRecognizer(log);
    await recognizer.start();
    await recognizer.close();
    await recognizer.close();
    await expect(recognizer.start()).rejects.toThrow(/closed/);
    expect(await run([tick(), piece('a', 'whole', 'Too late.')], recognizer)).toEqual([]);
  });

  it('the transcript cannot come: the engine fails as an engine, so a fallback takes over; the audio it read is counted', async () => {
    const items: AudioItem[] = [tick(), piece('', 'unavailable', 'no transcript scope')];
    const failure = await run(items).catch((err: unknown) => err);
    expect(isBridgeError(failure) && failure.engineFailure).toBe(true);
    expect(String(failure)).toContain('no transcript scope');
    expect(items.filter(isSamples)).toHaveLength(1);
  });
});
