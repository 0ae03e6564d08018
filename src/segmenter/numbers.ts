/**
 * Spoken numbers to digits, for captions. Deliberately strict: only well-formed cardinal number phrases are
 * read ("twenty five", "three hundred and six", "nineteen ninety nine"), never fuzzy matches, because a word
 * turned into a wrong number is worse in a caption than a number left in words.
 */

const UNITS: Record<string, number> = { zero: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9 };
const TEENS: Record<string, number> = {
  ten: 10, eleven: 11, twelve: 12, thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17, eighteen: 18, nineteen: 19,
};
const TENS: Record<string, number> = { twenty: 20, thirty: 30, forty: 40, fifty: 50, sixty: 60, seventy: 70, eighty: 80, ninety: 90 };
const SCALES: Record<string, number> = { thousand: 1_000, million: 1_000_000, billion: 1_000_000_000 };

type Kind = 'unit' | 'teen' | 'ten' | 'hundred' | 'scale' | 'and';

function kindOf(word: string): Kind | undefined {
  if (word in UNITS) return 'unit';
  if (word in TEENS) return 'teen';
  if (word in TENS) return 'ten';
  if (word === 'hundred') return 'hundred';
  if (word in SCALES) return 'scale';
  if (word === 'and') return 'and';
  return undefined;
}

/** Which word kinds may follow which inside one number ("twenty five", not "five twenty"). */
const FOLLOWS: Record<Kind | 'start', Kind[]> = {
  start: ['unit', 'teen', 'ten'],
  unit: ['hundred', 'scale'],
  teen: ['hundred', 'scale'],
  ten: ['unit', 'scale'],
  hundred: ['unit', 'teen', 'ten', 'and', 'scale'],
  scale: ['unit', 'teen', 'ten', 'and'],
  and: ['unit', 'teen', 'ten'],
};

export function isNumberWord(word: string): boolean {
  const kind = kindOf(word);
  return kind !== undefined && kind !== 'and';
}

export interface NumberMatch {
  /** Words the number spans. */
  length: number;
  value: number;
  /** The phrase might go on with the next word ("twenty" may become "twenty five"). */
  open: boolean;
  /** Spoken as a year: two pairs of digits ("nineteen ninety nine"). */
  year: boolean;
}

/** The longest number phrase at the start of `words`, or undefined if it does not start with one. */
export function matchNumber(words: readonly string[]): NumberMatch | undefined {
  let state: Kind | 'start' = 'start';
  let total = 0;
  let current = 0;
  let length = 0;
  let valueAtLength = 0;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const kind = kindOf(word);
    if (!kind || !FOLLOWS[state].includes(kind)) break;
    state = kind;
    if (kind === 'unit') current += UNITS[word]!;
    else if (kind === 'teen') current += TEENS[word]!;
    else if (kind === 'ten') current += TENS[word]!;
    else if (kind === 'hundred') current *= 100;
    else if (kind === 'scale') {
      total += current * SCALES[word]!;
      current = 0;
    }
    // A trailing "and" belongs to the sentence, not the number, unless a number word follows it.
    if (kind !== 'and') {
      length = i + 1;
      valueAtLength = total + current;
    }
  }
  if (length === 0) return undefined;
  const value = valueAtLength;
  // "nineteen ninety nine", "twenty twenty six": a 10-99 pair followed by another 10-99 pair is a year.
  if (value >= 10 && value <= 99 && length <= 2) {
    const rest = matchNumber(words.slice(length));
    if (rest && !rest.year && rest.value >= 10 && rest.value <= 99 && rest.length <= 2) {
      return { length: length + rest.length, value: value * 100 + rest.value, open: rest.open, year: true };
    }
  }
  const next = words[length];
  const open = next === undefined || (next === 'and' && words[length + 1] === undefined);
  return { length, value, open, year: false };
}

/** Caption practice: one to ten in words, 11 and above in digits, thousands grouped, years plain. */
export function formatNumber(match: NumberMatch): string | undefined {
  if (match.year) return String(match.value);
  if (match.value <= 10) return undefined;
  return match.value.toLocaleString('en-US');
}
