/** Caption layout after CEA-608 practice: 32 characters a line. */
export interface LayoutOptions {
  maxLineChars: number;
  maxLines: number;
}

/** Words a reader takes as the start of a new clause: a good place to end a caption that is full. */
const CLAUSE_STARTS = new Set([
  'and', 'but', 'so', 'or', 'because', 'which', 'who', 'when', 'while', 'if', 'then', 'although', 'though', 'since',
  'until', 'after', 'before', 'where', 'whether', 'unless',
]);

function greedy(words: readonly string[], options: LayoutOptions): { taken: number; lines: string[] } {
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

/**
 * Fills at most maxLines lines of maxLineChars and returns how many words fit; at least one word always does.
 * When not everything fits, the caption ends at a clause or sentence boundary in its second half if there is
 * one, so each caption reads as a unit.
 */
export function layoutCaption(words: readonly string[], options: LayoutOptions): { taken: number; lines: string[] } {
  const fitted = greedy(words, options);
  if (fitted.taken >= words.length) return fitted;
  for (let end = fitted.taken; end > fitted.taken / 2; end--) {
    const endsSentence = /[.,;:?!]$/.test(words[end - 1]!);
    if (endsSentence || CLAUSE_STARTS.has(words[end]!.toLowerCase())) return greedy(words.slice(0, end), options);
  }
  return fitted;
}
