import { describe, expect, it } from 'vitest';
import type { SpeechEvent } from '../src/asr/types.js';
import { coveredPrefixLength } from '../src/segmenter/align.js';
import { layoutCaption } from '../src/segmenter/format.js';
import { DEFAULT_SEGMENTER_OPTIONS, Segmenter, type Caption } from '../src/segmenter/segmenter.js';
import { DEFAULT_TEXT_OPTIONS, TextRules } from '../src/segmenter/text-rules.js';
import { replayEvents } from '../src/segmenter/replay.js';
import { segmentCaptions } from '../src/segmenter/stream.js';

const interim = (text: string, time: number): SpeechEvent => ({ type: 'interim', text, time });
const final = (text: string, time: number): SpeechEvent => ({
  type: 'final',
  text,
  time,
  words: text.split(' ').map((word, i) => ({ word, start: i * 0.3, end: i * 0.3 + 0.25 })),
});

const run = (events: SpeechEvent[], segmenter = new Segmenter()): Caption[] => replayEvents(events, segmenter);

const words = (captions: Caption[]): string => captions.flatMap((c) => c.words).join(' ');

describe('layoutCaption', () => {
  it('fills at most two lines of 32 characters and reports how many words fit', () => {
    const text = 'and mister john dashwood had then leisure to consider how much there might be prudently'.split(' ');
    const { taken, lines } = layoutCaption(text, { maxLineChars: 32, maxLines: 2 });
    expect(lines).toEqual(['and mister john dashwood had', 'then leisure to consider how']);
    expect(taken).toBe(10);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(32);
  });

  it('cuts a word longer than a line instead of holding it back forever', () => {
    const { taken, lines } = layoutCaption(['x'.repeat(40)], { maxLineChars: 32, maxLines: 2 });
    expect(taken).toBe(1);
    expect(lines).toEqual(['x'.repeat(32), 'x'.repeat(8)]);
  });
});

describe('coveredPrefixLength', () => {
  it('finds where the unsent words start after the engine revised an earlier word', () => {
    expect(coveredPrefixLength(['the', 'mr', 'john'], ['and', 'mr', 'john', 'dashwood'])).toBe(3);
    expect(coveredPrefixLength(['he', 'was', 'not', 'an', 'illness'], 'he was not an ill disposed young man'.split(' '))).toBe(5);
    expect(coveredPrefixLength([], ['a'])).toBe(0);
    expect(coveredPrefixLength(['a', 'b'], ['a'])).toBe(1);
  });
});

describe('Segmenter', () => {
  it('settles interim words once stable, sends them before the utterance ends, and completes from the final', () => {
    const events = [
      interim('he', 0.3),
      interim('he was', 0.6),
      interim('he was not', 0.9),
      interim('he was not an', 1.2),
      interim('he was not an ill', 1.5),
      interim('he was not an ill disposed', 1.8),
      interim('he was not an ill disposed young', 2.1),
      final('he was not an ill disposed young man', 2.6),
    ];
    const captions = run(events);
    expect(words(captions)).toBe('he was not an ill disposed young man');
    // Settled words went out while the speaker was still talking.
    expect(captions[0]!.releasedAt).toBeLessThan(2_000);
    expect(captions.at(-1)!.text.endsWith('man.')).toBe(true);
    expect(captions[0]!.text.startsWith('He')).toBe(true);
  });

  it('never doubles or drops words when the engine revises what was already sent', () => {
    const events = [
      interim('the mr', 0.4),
      interim('the mr john', 0.8),
      interim('the mr john dashwood', 1.2),
      interim('the mr john dashwood had', 1.6),
      final('and mr john dashwood had then leisure', 2.4),
    ];
    const captions = run(events);
    const sent = words(captions).split(' ');
    expect(sent).toEqual(['the', 'mr', 'john', 'dashwood', 'had', 'then', 'leisure']);
  });

  it('holds back words that keep changing', () => {
    const events = [interim('a b', 0.1), interim('a c', 0.2), interim('a d', 0.3), interim('a e', 0.4), interim('a f', 0.5)];
    const segmenter = new Segmenter();
    const out: Caption[] = [];
    events.forEach((e) => out.push(...segmenter.onEvent(e, e.time * 1000)));
    expect(words(out)).toBe('a'); // "a" is stable after 200 ms; the flickering second word is never settled
  });

  it('spaces captions by minIntervalMs during an utterance and releases waiting words on the deadline', () => {
    const segmenter = new Segmenter({ ...DEFAULT_SEGMENTER_OPTIONS, stableMs: 0, holdBackWords: 0, minIntervalMs: 700 });
    expect(segmenter.onEvent(interim('hello', 0.1), 100).map((c) => c.text)).toEqual(['Hello']);
    expect(segmenter.onEvent(interim('hello there', 0.2), 200)).toEqual([]);
    expect(segmenter.nextDeadline()).toBe(800);
    expect(segmenter.onTick(799)).toEqual([]);
    expect(segmenter.onTick(800).map((c) => c.text)).toEqual(['there']);
    expect(segmenter.nextDeadline()).toBeUndefined();
  });

  it('holds a number that may go on, then writes it in digits; one to ten stay words', () => {
    const segmenter = new Segmenter({ ...DEFAULT_SEGMENTER_OPTIONS, stableMs: 0, holdBackWords: 0, minIntervalMs: 0 });
    const out: Caption[] = [];
    const feed = (text: string, t: number): void => void out.push(...segmenter.onEvent(interim(text, t), t * 1000));
    feed('we hired twenty', 0.5);
    expect(out.map((c) => c.text)).toEqual(['We hired']); // "twenty" may become "twenty five"
    expect(segmenter.nextDeadline()).toBeUndefined(); // no timer can complete it
    feed('we hired twenty five', 0.8);
    feed('we hired twenty five people in three teams', 1.6);
    out.push(...segmenter.onEvent(final('we hired twenty five people in three teams in nineteen ninety nine', 2.5), 2500));
    expect(out.map((c) => c.text).join(' ')).toBe('We hired 25 people in three teams in 1999.');
    expect(words(out)).toBe('we hired twenty five people in three teams in nineteen ninety nine');
  });

  it('drops fillers, applies the replacement list across words, and masks profanity when asked', () => {
    const rules = new TextRules({
      ...DEFAULT_TEXT_OPTIONS,
      profanity: 'mask',
      replacements: { 'caption bridge': 'caption-bridge', zoom: 'Zoom' },
    });
    const captions = run([final('um so uh the caption bridge posts to zoom oh shit', 3)], new Segmenter(DEFAULT_SEGMENTER_OPTIONS, rules));
    expect(captions.map((c) => c.text).join(' ')).toBe('So the caption-bridge posts to\nZoom oh s***.');
    // A multi-word replacement is not cut by a caption boundary: "caption" waits for the next word.
    const segmenter = new Segmenter({ ...DEFAULT_SEGMENTER_OPTIONS, stableMs: 0, holdBackWords: 0, minIntervalMs: 0 }, rules);
    expect(segmenter.onEvent(interim('the caption', 0.2), 200).map((c) => c.text)).toEqual(['The']);
    expect(segmenter.onEvent(interim('the caption bridge is', 0.5), 500).map((c) => c.text)).toEqual(['caption-bridge is']);
  });

  it('ends a full caption at a clause boundary in its second half', () => {
    const text = 'the team shipped the mobile release last week and the feedback has been very good so far';
    const captions = run([final(text, 4)]);
    expect(captions[0]!.text).toBe('The team shipped the mobile\nrelease last week');
    expect(captions[1]!.text.startsWith('and the feedback')).toBe(true);
  });

  it('sends a full caption at once and never exceeds two lines of 32 characters', () => {
    const long = 'and mister john dashwood had then leisure to consider how much there might be prudently in his power to do for them';
    const captions = run([final(long, 3)]);
    expect(words(captions)).toBe(long);
    for (const caption of captions) {
      const lines = caption.text.split('\n');
      expect(lines.length).toBeLessThanOrEqual(2);
      for (const line of lines) expect(line.length).toBeLessThanOrEqual(32);
    }
  });

  it('starts each utterance as a sentence and writes "I" in capitals', () => {
    const captions = run([final('i think so', 1), { type: 'end_of_speech', time: 1 }, final('yes i am', 2)]);
    expect(captions.map((c) => c.text).join(' ')).toBe('I think so. Yes I am.');
  });
});

describe('segmentCaptions', () => {
  it('releases settled words on its own timer when the engine goes quiet', async () => {
    const segmenter = new Segmenter({ ...DEFAULT_SEGMENTER_OPTIONS, stableMs: 0, holdBackWords: 0, minIntervalMs: 50 });
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    async function* events(): AsyncIterable<SpeechEvent> {
      yield interim('hello', 0.1);
      yield interim('hello there', 0.2);
      await gate; // the engine says nothing more for a while
    }
    const seen: string[] = [];
    const done = (async () => {
      for await (const caption of segmentCaptions(events(), segmenter)) {
        seen.push(caption.text);
        if (seen.length === 2) release();
      }
    })();
    await done;
    expect(seen).toEqual(['Hello', 'there']); // released by the timer while the utterance was still open
  });
});
