import { describe, expect, it } from 'vitest';
import type { SourceSpeaker } from '../../../src/audio.js';
import type { SpeechEvent } from '../../../src/asr/types.js';
import { labelSpeakers } from '../../../src/pipeline/speakers.js';

async function labelled(events: SpeechEvent[], speakerAt: (seconds: number) => SourceSpeaker | undefined): Promise<SpeechEvent[]> {
  const out: SpeechEvent[] = [];
  for await (const event of labelSpeakers((async function* () { yield* events; })(), speakerAt)) out.push(event);
  return out;
}

const final = (words: { word: string; start: number; speaker?: string }[]): SpeechEvent => ({
  type: 'final',
  text: words.map((w) => w.word).join(' '),
  words: words.map((w) => ({ ...w, end: w.start + 0.2 })),
  time: 10,
});

describe('who said each word', () => {
  it('a word gets the source\'s speaker for its time; an engine\'s own label wins over an anonymous one', async () => {
    const [event] = await labelled([final([{ word: 'yes', start: 1 }, { word: 'no', start: 5, speaker: '1' }])], (s) => ({ id: s < 3 ? 'speaker 1' : 'speaker 2' }));
    expect(event!.type === 'final' && event!.words.map((w) => [w.speaker, w.speakerName])).toEqual([
      ['speaker 1', undefined],
      ['1', undefined],
    ]);
  });

  it('a speaker the source names wins over the engine\'s label: the source knows who it is', async () => {
    const [event] = await labelled([final([{ word: 'yes', start: 5, speaker: '1' }])], () => ({ id: 'speaker 2', name: 'Ben' }));
    expect(event!.type === 'final' && event!.words.map((w) => [w.speaker, w.speakerName])).toEqual([['speaker 2', 'Ben']]);
  });

  it('a turn starts after a pause: its first words are the new speaker\'s though Zoom names them a moment later', async () => {
    // Ana speaks until 2.0 s; after a pause Ben starts at 2.4 s; Zoom names Ben at 3.0 s (loudest by then).
    const speakerAt = (s: number): SourceSpeaker => (s < 3.0 ? { id: 'speaker 1', name: 'Ana' } : { id: 'speaker 2', name: 'Ben' });
    const words = [
      { word: 'thanks', start: 1.5 },
      { word: 'all', start: 1.8 },
      { word: 'so', start: 2.4 },
      { word: 'about', start: 2.65 },
      { word: 'the', start: 2.9 },
      { word: 'budget', start: 3.2 },
    ];
    const [event] = await labelled([final(words)], speakerAt);
    expect(event!.type === 'final' && event!.words.map((w) => w.speakerName)).toEqual(['Ana', 'Ana', 'Ben', 'Ben', 'Ben', 'Ben']);
    // Without a pause before them, words keep the speaker Zoom names for their time: no turn is guessed mid-phrase.
    const [steady] = await labelled([final(words.map((w, i) => ({ ...w, start: 1.5 + i * 0.25 })))], speakerAt);
    expect(steady!.type === 'final' && steady!.words.map((w) => w.speakerName)).toEqual(['Ana', 'Ana', 'Ana', 'Ana', 'Ana', 'Ben']);
  });
});
