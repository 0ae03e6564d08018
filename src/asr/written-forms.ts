import { alignWords, normalizeWords } from '../util/wer.js';
import type { RecognizedWord } from './types.js';

/**
 * Puts an engine's formatted text (punctuation and casing, "Hi, my name is Sonny.") on the plain words it formats:
 * each written token that stands for exactly one of the words becomes that word's `display`. Tokens the formatter
 * merged or rewrote ("twenty five" -> "25") match no word, and those words stay plain: the text rules write
 * numbers their own way, and a word keeps its identity, so one already shown is never shown twice.
 */
export function withWrittenForms(words: readonly RecognizedWord[], formatted: string): RecognizedWord[] {
  const tokens = formatted.split(/\s+/).filter(Boolean);
  const single = tokens.flatMap((token) => {
    const plain = normalizeWords(token);
    return plain.length === 1 ? [{ plain: plain[0]!, token }] : [];
  });
  const out = words.map((w) => ({ ...w }));
  for (const step of alignWords(
    out.map((w) => w.word.toLowerCase()),
    single.map((s) => s.plain),
  )) {
    if (step.op === 'match') out[step.ref]!.display = single[step.hyp]!.token;
  }
  return out;
}
