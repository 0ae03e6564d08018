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
});
