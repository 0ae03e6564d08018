import { describe, expect, it } from 'vitest';
import { alignWords, normalizeWords, wordErrorRate } from '../../../src/util/wer.js';

describe('word error rate', () => {
  it('counts substitutions, deletions and insertions against the reference', () => {
    expect(wordErrorRate('he was not an ill disposed young man', 'he was not an illness young man')).toMatchObject({
      substitutions: 1,
      deletions: 1,
      insertions: 0,
      referenceWords: 8,
      wer: 0.25,
    });
    expect(wordErrorRate('a b', 'x a b y').insertions).toBe(2);
    expect(wordErrorRate('', '').wer).toBe(0);
  });

  it('ignores case and punctuation the way captions are written', () => {
    expect(normalizeWords("He was, I'm sure, ill-disposed.")).toEqual(['he', 'was', "i'm", 'sure', 'ill', 'disposed']);
    expect(wordErrorRate('he might even', 'He might\neven.').wer).toBe(0);
  });

  it('aligns matched words to their positions in both sequences', () => {
    const steps = alignWords(['a', 'b', 'c'], ['a', 'x', 'c', 'd']);
    expect(steps).toEqual([
      { op: 'match', ref: 0, hyp: 0 },
      { op: 'substitution', ref: 1, hyp: 1 },
      { op: 'match', ref: 2, hyp: 2 },
      { op: 'insertion', hyp: 3 },
    ]);
  });
});
