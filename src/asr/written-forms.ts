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

/** One item of an engine that sends words and punctuation as separate timed items (Speechmatics, Amazon Transcribe). */
export interface WrittenItem {
  content: string;
  punctuation: boolean;
  /** Punctuation that opens the next word (an opening quote) rather than closing the one before. */
  opensNext?: boolean;
  start: number;
  end: number;
  speaker?: string;
  stable?: boolean;
}

/**
 * The words of such items: each plain for the text rules, its written form (casing, the punctuation that attaches to
 * it) as `display`. An item that stands for several words ("e-mail") keeps them plain: a written form per word would
 * show it once per word.
 */
export function wordsOfItems(items: readonly WrittenItem[]): RecognizedWord[] {
  const words: RecognizedWord[] = [];
  let opening = '';
  for (const item of items) {
    if (item.punctuation) {
      const last = words.at(-1);
      if (item.opensNext) opening += item.content;
      else if (last) last.display = `${last.display ?? last.word}${item.content}`;
      continue;
    }
    const plain = normalizeWords(item.content);
    for (const word of plain) {
      words.push({
        word,
        start: item.start,
        end: item.end,
        ...(plain.length === 1 ? { display: `${opening}${item.content}` } : {}),
        ...(item.speaker ? { speaker: item.speaker } : {}),
        ...(item.stable ? { stable: true } : {}),
      });
    }
    if (plain.length > 0) opening = '';
  }
  return words;
}
