import { describe, expect, it } from 'vitest';
import { formatNumber, matchNumber } from '../../../src/segmenter/numbers.js';

const digits = (text: string): string | undefined => {
  const match = matchNumber(text.split(' '));
  return match && (formatNumber(match) ?? `words:${match.length}`);
};

describe('spoken numbers', () => {
  it('reads well-formed cardinal phrases', () => {
    expect(digits('twenty five people')).toBe('25');
    expect(digits('three hundred and six')).toBe('306');
    expect(digits('two thousand four hundred')).toBe('2,400');
    expect(digits('eleven')).toBe('11');
    expect(digits('nineteen ninety nine')).toBe('1999');
    expect(digits('twenty twenty six')).toBe('2026');
  });

  it('keeps one to ten in words and does not glue separate numbers together', () => {
    expect(digits('three topics')).toBe('words:1');
    expect(digits('one two three')).toBe('words:1');
    expect(digits('five twenty')).toBe('words:1');
    expect(matchNumber(['hello'])).toBeUndefined();
  });

  it('says when a phrase may still grow', () => {
    expect(matchNumber(['twenty'])!.open).toBe(true);
    expect(matchNumber(['two', 'hundred', 'and'])!.open).toBe(true);
    expect(matchNumber(['twenty', 'five', 'people'])!.open).toBe(false);
    expect(matchNumber(['two', 'hundred', 'and', 'then'])).toMatchObject({ length: 2, value: 200, open: false });
  });
});
