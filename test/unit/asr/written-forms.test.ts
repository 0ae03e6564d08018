import { describe, expect, it } from 'vitest';
import { wordsFromTokens } from '../../../src/asr/sherpa-onnx/decoder.js';
import { withWrittenForms, wordsOfItems } from '../../../src/asr/written-forms.js';

const plain = (text: string) => text.split(' ').map((word, i) => ({ word, start: i, end: i + 0.5 }));

describe("an engine's written forms on the words it heard", () => {
  it('makes words of separate word and punctuation items: a mark closes the word before it or opens the next', () => {
    const item = (content: string, start: number, more: { punctuation?: boolean; opensNext?: boolean; speaker?: string; stable?: boolean } = {}) => ({ content, start, end: start + 0.3, punctuation: false, ...more });
    const words = wordsOfItems([
      item('Hello', 0, { speaker: 'S1', stable: true }),
      item(',', 0.3, { punctuation: true }),
      item('"', 0.4, { punctuation: true, opensNext: true }),
      item('e-mail', 0.5),
      item('me', 0.8),
      item('.', 1.1, { punctuation: true }),
    ]);
    expect(words.map((w) => [w.word, w.display])).toEqual([['hello', 'Hello,'], ['e', undefined], ['mail', undefined], ['me', 'me.']]);
    expect(words[0]).toMatchObject({ speaker: 'S1', stable: true, start: 0 });
    // An opening mark waits for the next single word.
    expect(wordsOfItems([item('"', 0, { punctuation: true, opensNext: true }), item('Quint', 0.1)])[0]!.display).toBe('"Quint');
  });

  it('puts a formatted turn on its words, word for word, and leaves words the formatter rewrote plain', () => {
    const words = withWrittenForms(plain('hi my name is sonny i am twenty five'), 'Hi, my name is Sonny. I am 25.');
    expect(words.map((w) => w.display)).toEqual(['Hi,', 'my', 'name', 'is', 'Sonny.', 'I', 'am', undefined, undefined]);
    // The words themselves and their times never change.
    expect(words.map((w) => w.word).join(' ')).toBe('hi my name is sonny i am twenty five');
    expect(words[4]).toMatchObject({ start: 4, end: 4.5 });
  });

  it('joins sherpa-onnx tokens into words, keeping a punctuating model\'s written forms and an all-capitals model plain', () => {
    const cased = wordsFromTokens(['▁Hello', ',', '▁my', '▁fri', 'end', '▁', '.', '▁Is', '▁it', '?'], [0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.9, 1.2, 1.4, 1.5], 10);
    expect(cased.map((w) => [w.word, w.display])).toEqual([
      ['hello', 'Hello,'],
      ['my', undefined],
      ['friend', 'friend.'],
      ['is', 'Is'],
      ['it', 'it?'],
    ]);
    expect(cased[2]).toMatchObject({ start: 10.7 });
    const capitals = wordsFromTokens(['▁HELLO', '▁MY', '▁FRI', 'END'], [0, 0.3, 0.5, 0.7], 0);
    expect(capitals.map((w) => [w.word, w.display])).toEqual([
      ['hello', undefined],
      ['my', undefined],
      ['friend', undefined],
    ]);
  });
});
