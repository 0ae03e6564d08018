import { describe, expect, it } from 'vitest';
import type { SpeechEvent } from '../../../src/asr/types.js';
import { coveredPrefixLength } from '../../../src/segmenter/align.js';
import { DEFAULT_SEGMENTER_OPTIONS, Segmenter, type SettledToken } from '../../../src/segmenter/segmenter.js';
import { DEFAULT_TEXT_OPTIONS, TextRules } from '../../../src/segmenter/text-rules.js';

const interim = (text: string, time: number): SpeechEvent => ({ type: 'interim', text, time });
const final = (text: string, time: number): SpeechEvent => ({
  type: 'final',
  text,
  time,
  words: text.split(' ').map((word, i) => ({ word, start: i * 0.3, end: i * 0.3 + 0.25 })),
});

/** Every token the segmenter settles, each event at its audio time, then the end of the stream. */
function settle(events: SpeechEvent[], segmenter = new Segmenter()): SettledToken[] {
  const tokens: SettledToken[] = [];
  for (const event of events) tokens.push(...(segmenter.onEvent(event, event.time * 1000)?.tokens ?? []));
  tokens.push(...(segmenter.flush(events.at(-1)!.time * 1000)?.tokens ?? []));
  return tokens;
}
const text = (tokens: SettledToken[]): string => tokens.map((t) => t.text).join(' ');
const words = (tokens: SettledToken[]): string => tokens.flatMap((t) => t.words).join(' ');
const immediate = { ...DEFAULT_SEGMENTER_OPTIONS, stableMs: 0, holdBackWords: 0 };

describe('coveredPrefixLength', () => {
  it('finds where the unsent words start after the engine revised an earlier word', () => {
    expect(coveredPrefixLength(['the', 'mr', 'john'], ['and', 'mr', 'john', 'dashwood'])).toBe(3);
    expect(coveredPrefixLength(['he', 'was', 'not', 'an', 'illness'], 'he was not an ill disposed young man'.split(' '))).toBe(5);
    expect(coveredPrefixLength([], ['a'])).toBe(0);
    expect(coveredPrefixLength(['a', 'b'], ['a'])).toBe(1);
  });
});

describe('Segmenter', () => {
  it('settles interim words once stable, before the utterance ends, and completes from the final', () => {
    const tokens = settle([
      interim('he', 0.3),
      interim('he was', 0.6),
      interim('he was not', 0.9),
      interim('he was not an', 1.2),
      interim('he was not an ill', 1.5),
      interim('he was not an ill disposed', 1.8),
      interim('he was not an ill disposed young', 2.1),
      final('he was not an ill disposed young man', 2.6),
    ]);
    expect(words(tokens)).toBe('he was not an ill disposed young man');
    expect(tokens[0]!.settledAt).toBeLessThan(2_000); // while the speaker was still talking
    expect(text(tokens)).toBe('He was not an ill disposed young man.');
  });

  it('settles at once the words the engine promises will not change (AWS stabilisation), the newest one too', () => {
    const heard = (stable: boolean[]): SpeechEvent => ({
      type: 'interim',
      text: 'he was not',
      time: 0.9,
      words: ['he', 'was', 'not'].map((word, i) => ({ word, start: i * 0.3, end: i * 0.3 + 0.25, stable: stable[i] })),
    });
    const settledNow = (event: SpeechEvent): string[] => new Segmenter().onEvent(event, 900)?.tokens.flatMap((t) => t.words) ?? [];
    expect(settledNow(heard([false, false, false]))).toEqual([]);
    expect(settledNow(heard([true, true, false]))).toEqual(['he', 'was']);
    expect(settledNow(heard([true, true, true]))).toEqual(['he', 'was', 'not']);
  });

  it('never doubles or drops words when the engine revises what was already settled', () => {
    const tokens = settle([
      interim('the mr', 0.4),
      interim('the mr john', 0.8),
      interim('the mr john dashwood', 1.2),
      interim('the mr john dashwood had', 1.6),
      final('and mr john dashwood had then leisure', 2.4),
    ]);
    expect(words(tokens).split(' ')).toEqual(['the', 'mr', 'john', 'dashwood', 'had', 'then', 'leisure']);
  });

  it('gives the engine\'s newest answer for words it released before: revised on a later interim, and from the final', () => {
    const segmenter = new Segmenter(immediate);
    expect(text(segmenter.onEvent(interim('the mr john', 0.6), 600)!.tokens)).toBe('The mr john');
    // The engine hears more and changes a released word: the piece carries every released token anew.
    const revised = segmenter.onEvent(interim('and mr john dashwood', 0.9), 900)!;
    expect(text(revised.revised!)).toBe('And mr john');
    expect(text(revised.tokens)).toBe('dashwood');
    // Nothing changed: no revision.
    expect(segmenter.onEvent(interim('and mr john dashwood had', 1.2), 1_200)!.revised).toBeUndefined();
    // The final's words, for all of them, with the sentence's end.
    const last = segmenter.onEvent(final('and mr john dashwood had then', 1.6), 1_600)!;
    expect(last.revised).toBeUndefined();
    expect(text(last.tokens)).toBe('then.');
    const corrected = segmenter.onEvent(interim('we had', 2.0), 2_000)!;
    expect(corrected.revised).toBeUndefined(); // a new utterance starts clean
    expect(text(segmenter.onEvent(final('he had', 2.4), 2_400)!.revised!)).toBe('He had.');
  });

  it('revises released words that were only fillers, or that the engine dropped, without failing', () => {
    const segmenter = new Segmenter(immediate);
    expect(segmenter.onEvent(interim('um', 0.2), 200)).toBeUndefined();
    // "um" was released (it shows as nothing); the engine changes it and goes on.
    expect(text(segmenter.onEvent(interim('uh so we', 0.5), 500)!.tokens)).toBe('So we');
    // The engine drops every released word for a moment, then hears them again: nothing fails, nothing doubles.
    const dropped = segmenter.onEvent(interim('', 0.6), 600);
    expect(dropped?.revised).toEqual([]);
    const again = segmenter.onEvent(final('so we met', 1.0), 1_000)!;
    expect(text([...(again.revised ?? []), ...again.tokens])).toBe('So we met.');
  });

  it('holds back words that keep changing', () => {
    const segmenter = new Segmenter();
    const tokens = [interim('a b', 0.1), interim('a c', 0.2), interim('a d', 0.3), interim('a e', 0.4), interim('a f', 0.5)].flatMap(
      (e) => segmenter.onEvent(e, e.time * 1000)?.tokens ?? [],
    );
    expect(words(tokens)).toBe('a'); // "a" is stable after 200 ms; the flickering second word is never settled
  });

  it('holds a number that may go on, then writes it in digits; one to ten stay words', () => {
    const segmenter = new Segmenter(immediate);
    const out: SettledToken[] = [];
    const feed = (event: SpeechEvent): void => void out.push(...(segmenter.onEvent(event, event.time * 1000)?.tokens ?? []));
    feed(interim('we hired twenty', 0.5));
    expect(text(out)).toBe('We hired'); // "twenty" may become "twenty five"
    feed(interim('we hired twenty five', 0.8));
    feed(interim('we hired twenty five people in three teams', 1.6));
    feed(final('we hired twenty five people in three teams in nineteen ninety nine', 2.5));
    expect(text(out)).toBe('We hired 25 people in three teams in 1999.');
    expect(words(out)).toBe('we hired twenty five people in three teams in nineteen ninety nine');
  });

  it('drops fillers, applies the replacement list across words, and masks profanity when asked', () => {
    const rules = new TextRules({ ...DEFAULT_TEXT_OPTIONS, profanity: 'mask', replacements: { 'caption bridge': 'caption-bridge', zoom: 'Zoom' } });
    expect(text(settle([final('um so uh the caption bridge posts to zoom oh shit', 3)], new Segmenter(DEFAULT_SEGMENTER_OPTIONS, rules)))).toBe(
      'So the caption-bridge posts to Zoom oh s***.',
    );
    // A multi-word replacement is not split: "caption" waits for the next word.
    const segmenter = new Segmenter(immediate, rules);
    expect(text(segmenter.onEvent(interim('the caption', 0.2), 200)!.tokens)).toBe('The');
    expect(text(segmenter.onEvent(interim('the caption bridge is', 0.5), 500)!.tokens)).toBe('caption-bridge is');
  });

  it('starts each utterance as a sentence, writes "I" in capitals, and says where an utterance ended', () => {
    const segmenter = new Segmenter();
    const pieces = [final('i think so', 1), { type: 'end_of_speech', time: 1 } as const, final('yes i am', 2)].map((e) => segmenter.onEvent(e, e.time * 1000));
    expect(pieces.map((p) => p && [text(p.tokens), p.endsUtterance])).toEqual([['I think so.', true], undefined, ['Yes I am.', true]]);
  });

  it('keeps an engine\'s own punctuation and casing (Deepgram punctuated_word), under the meeting\'s text rules', () => {
    const rules = new TextRules({ ...DEFAULT_TEXT_OPTIONS, replacements: { 'cube control': 'kubectl' } });
    const said = (word: string, display: string, i: number) => ({ word, display, start: i * 0.3, end: i * 0.3 + 0.25 });
    const words = [said('hello', 'Hello,', 0), said('paris', 'Paris', 1), said('twenty', 'twenty', 2), said('five', 'five.', 3), said('use', 'Use', 4), said('cube', 'cube', 5), said('control', 'control?', 6)];
    const tokens = settle([{ type: 'final', text: words.map((w) => w.word).join(' '), words, time: 3 }], new Segmenter(DEFAULT_SEGMENTER_OPTIONS, rules));
    expect(text(tokens)).toBe('Hello, Paris 25. Use kubectl?');
  });

  it('reports an utterance that ends on a filler, so the display can still end the sentence', () => {
    const segmenter = new Segmenter(immediate);
    expect(segmenter.onEvent(interim('we are done um', 0.5), 500)).toMatchObject({ endsUtterance: false });
    expect(segmenter.onEvent({ type: 'end_of_speech', time: 0.9 }, 900)).toEqual({ tokens: [], endsUtterance: true });
  });
});
