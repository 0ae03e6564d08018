import { englishDataset, englishRecommendedTransformers, RegExpMatcher } from 'obscenity';
import { normalizeWords } from '../util/wer.js';
import { formatNumber, isNumberWord, matchNumber } from './numbers.js';

export interface TextOptions {
  /** Hesitations ("um", "uh") carry nothing for a reader; caption practice leaves them out. */
  fillers: 'drop' | 'keep';
  fillerWords: string[];
  /** 'digits': 11 and above and years as digits, one to ten in words (DCMP). */
  numbers: 'digits' | 'words';
  profanity: 'keep' | 'mask';
  /** Spoken words (lower case, one or more) to the text shown: names and product words the engine spells wrong. */
  replacements: Record<string, string>;
}

export const DEFAULT_TEXT_OPTIONS: TextOptions = {
  fillers: 'drop',
  fillerWords: ['um', 'uh', 'uhm', 'er', 'erm', 'ah', 'hmm', 'mm', 'mhm'],
  numbers: 'digits',
  profanity: 'keep',
  replacements: {},
};

/** A piece of caption text made from words [from, to) of the input. */
export interface Token {
  text: string;
  from: number;
  to: number;
}

/** Words that read wrong in lower case. */
const ALWAYS_CAPITALISED = new Map([
  ['i', 'I'],
  ["i'm", "I'm"],
  ["i'll", "I'll"],
  ["i've", "I've"],
  ["i'd", "I'd"],
]);

/**
 * Turns recognised words into readable caption tokens. Rules that span words (numbers, multi-word
 * replacements) must not be cut by a caption boundary, so while more words may come, a trailing phrase that
 * could still grow is held back (`consumed` stops before it).
 */
export class TextRules {
  private readonly replacements: { words: string[]; text: string }[];
  private readonly fillers: Set<string>;
  private readonly profanity: RegExpMatcher | undefined;

  constructor(private readonly options: TextOptions = DEFAULT_TEXT_OPTIONS) {
    this.replacements = Object.entries(options.replacements)
      .map(([spoken, text]) => ({ words: normalizeWords(spoken), text }))
      .filter((r) => r.words.length > 0)
      .sort((a, b) => b.words.length - a.words.length);
    this.fillers = new Set(options.fillers === 'drop' ? options.fillerWords : []);
    this.profanity =
      options.profanity === 'mask' ? new RegExpMatcher({ ...englishDataset.build(), ...englishRecommendedTransformers }) : undefined;
  }

  /** A replacement added while the meeting runs (the console); it applies to words settled from now on. */
  addReplacement(spoken: string, shown: string): void {
    const words = normalizeWords(spoken);
    if (words.length === 0) return;
    const existing = this.replacements.findIndex((r) => r.words.join(' ') === words.join(' '));
    if (existing >= 0) this.replacements.splice(existing, 1);
    this.replacements.push({ words, text: shown });
    this.replacements.sort((a, b) => b.words.length - a.words.length);
  }

  /** `complete`: no more words will follow (end of utterance), so nothing is held back. */
  render(words: readonly string[], complete: boolean): { tokens: Token[]; consumed: number } {
    const tokens: Token[] = [];
    let i = 0;
    while (i < words.length) {
      const rest = words.slice(i);
      if (!complete && this.mayGrow(rest)) break;

      const replacement = this.replacements.find((r) => r.words.every((w, k) => rest[k] === w));
      if (replacement) {
        tokens.push({ text: replacement.text, from: i, to: i + replacement.words.length });
        i += replacement.words.length;
        continue;
      }
      const number = this.options.numbers === 'digits' ? matchNumber(rest) : undefined;
      const digits = number && formatNumber(number);
      if (number && digits) {
        tokens.push({ text: digits, from: i, to: i + number.length });
        i += number.length;
        continue;
      }
      const word = words[i]!;
      if (!this.fillers.has(word)) tokens.push({ text: this.display(word), from: i, to: i + 1 });
      i += 1;
    }
    return { tokens, consumed: i };
  }

  /** Could the words at the end of the input still become a longer replacement or number? */
  private mayGrow(rest: readonly string[]): boolean {
    const prefixOfLonger = this.replacements.some(
      (r) => r.words.length > rest.length && rest.every((w, k) => r.words[k] === w),
    );
    if (prefixOfLonger) return true;
    if (this.options.numbers !== 'digits' || !isNumberWord(rest[0]!)) return false;
    const number = matchNumber(rest);
    return number !== undefined && number.open;
  }

  private display(word: string): string {
    const text = ALWAYS_CAPITALISED.get(word) ?? word;
    if (!this.profanity?.hasMatch(text)) return text;
    return text[0] + '*'.repeat(text.length - 1);
  }
}
