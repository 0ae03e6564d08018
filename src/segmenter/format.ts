/** Caption layout after CEA-608 practice: 32 characters a line. */
export interface LayoutOptions {
  maxLineChars: number;
  maxLines: number;
}

/** Words that read wrong in lower case. */
const ALWAYS_CAPITALISED = new Map([
  ['i', 'I'],
  ["i'm", "I'm"],
  ["i'll", "I'll"],
  ["i've", "I've"],
  ["i'd", "I'd"],
]);

export function displayWord(word: string, startsSentence: boolean): string {
  const fixed = ALWAYS_CAPITALISED.get(word) ?? word;
  return startsSentence ? fixed.charAt(0).toUpperCase() + fixed.slice(1) : fixed;
}

/**
 * Greedy line filling. Returns how many of `words` fit in the caption and the caption's lines; at least one
 * word always fits (a word longer than a line is cut across lines rather than held back forever).
 */
export function layoutCaption(words: readonly string[], options: LayoutOptions): { taken: number; lines: string[] } {
  const lines: string[] = [];
  let current = '';
  let taken = 0;
  for (const word of words) {
    const candidate = current ? `${current} ${word}` : word;
    if (candidate.length <= options.maxLineChars) {
      current = candidate;
      taken += 1;
      continue;
    }
    if (current) {
      lines.push(current);
      current = '';
      if (lines.length === options.maxLines) return { taken, lines };
    }
    if (word.length <= options.maxLineChars) {
      current = word;
      taken += 1;
      continue;
    }
    // A single over-long word: split it across the remaining lines.
    for (let rest = word; rest; rest = rest.slice(options.maxLineChars)) {
      lines.push(rest.slice(0, options.maxLineChars));
      if (lines.length === options.maxLines) break;
    }
    taken += 1;
    return { taken, lines };
  }
  if (current) lines.push(current);
  return { taken, lines };
}
