/**
 * Where a reader expects a caption or a line to end (BBC and DCMP subtitle guidance): after a sentence, then
 * after a clause, and never right after a word that leans on the next one (an article, a preposition, an
 * auxiliary, a conjunction), when another place exists.
 */

/** Words a line or a block should not end with: they lean on the word after them. */
const LEANING_WORDS = new Set([
  'a', 'an', 'the',
  'of', 'to', 'in', 'on', 'at', 'for', 'with', 'from', 'by', 'about', 'into', 'onto', 'over', 'under', 'as', 'than', 'like', 'per', 'via',
  'is', 'are', 'was', 'were', 'be', 'been', 'being', 'am', 'will', 'would', 'can', 'could', 'should', 'shall', 'may', 'might', 'must',
  'do', 'does', 'did', 'have', 'has', 'had', "i'm", "it's", "we're", "you're", "they're",
  'and', 'or', 'but', 'nor', 'so', 'that', 'because', 'if', 'when', 'while', 'which', 'who', 'whose',
  'my', 'your', 'his', 'her', 'its', 'our', 'their', 'this', 'these', 'those', 'very', 'not', 'no', 'more', 'most', 'some', 'any', 'every',
  '>>',
]);

/** Words that open a clause: a good place for a cut is just before them. */
const CLAUSE_STARTS = new Set([
  'and', 'but', 'so', 'or', 'because', 'which', 'who', 'when', 'while', 'if', 'then', 'although', 'though', 'since',
  'until', 'after', 'before', 'where', 'whether', 'unless',
]);

const bare = (text: string): string => text.toLowerCase().replace(/[^a-z'>]/g, '');

export const endsSentence = (text: string): boolean => /[.?!]["')\]]?$/.test(text);
const endsClause = (text: string): boolean => /[,;:]$/.test(text);
export const leans = (text: string): boolean => LEANING_WORDS.has(bare(text));

/** How good a cut after `texts[count - 1]` is: 3 sentence end, 2 clause end, 1 plain, 0 leaning word. */
export function cutQuality(texts: readonly string[], count: number): number {
  const last = texts[count - 1]!;
  if (endsSentence(last)) return 3;
  // Checked before the clause test: "and | then" starts a clause, but the cut still strands "and".
  if (leans(last) && !endsClause(last)) return 0;
  const next = texts[count];
  if (endsClause(last) || (next !== undefined && CLAUSE_STARTS.has(bare(next)))) return 2;
  return 1;
}

/** How many tokens from the start fit in `maxLines` lines of `maxLineChars` (at least one: an over-long word is cut). */
export function tokensThatFit(texts: readonly string[], maxLineChars: number, maxLines: number): number {
  let line = 0;
  let lineChars = -1;
  for (let i = 0; i < texts.length; i++) {
    const length = texts[i]!.length;
    // A word longer than a line gets a block of its own (hard-wrapped).
    if (length > maxLineChars) return Math.max(1, i);
    if (lineChars >= 0 && lineChars + 1 + length <= maxLineChars) {
      lineChars += 1 + length;
      continue;
    }
    if (lineChars >= 0) line += 1;
    if (line >= maxLines) return Math.max(1, i);
    lineChars = length;
  }
  return texts.length;
}

/**
 * The lines of a block: one line when it fits, otherwise lines as even as possible, with a break after a
 * clause where there is a choice and never after a leaning word when another break fits.
 */
export function breakLines(texts: readonly string[], maxLineChars: number, maxLines: number): string[] {
  const joined = texts.join(' ');
  if (joined.length <= maxLineChars) return [joined];
  if (texts.length === 1) return hardWrap(joined, maxLineChars, maxLines);
  if (maxLines !== 2) return greedyLines(texts, maxLineChars, maxLines);
  let best: { score: number; lines: string[] } | undefined;
  for (let split = 1; split < texts.length; split++) {
    const first = texts.slice(0, split).join(' ');
    const second = texts.slice(split).join(' ');
    if (first.length > maxLineChars || second.length > maxLineChars) continue;
    const quality = cutQuality(texts, split);
    const score = Math.abs(first.length - second.length) + (quality === 0 ? 14 : 0) - (quality >= 2 ? 6 : 0);
    if (!best || score < best.score) best = { score, lines: [first, second] };
  }
  return best?.lines ?? greedyLines(texts, maxLineChars, maxLines);
}

/**
 * Text a captioner typed, as a block's lines: broken as the display breaks its blocks when it fits their lines, else
 * in as many lines as it needs (a captioner's words are never cut off).
 */
export function captionerLines(text: string, maxLineChars: number, maxLines: number): string {
  const words = text.split(/\s+/).filter(Boolean);
  const lines = breakLines(words, maxLineChars, maxLines);
  return (lines.join(' ') === words.join(' ') ? lines : breakLines(words, maxLineChars, Number.MAX_SAFE_INTEGER)).join('\n');
}

function greedyLines(texts: readonly string[], maxLineChars: number, maxLines: number): string[] {
  const lines: string[] = [];
  for (const text of texts) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + 1 + text.length <= maxLineChars) lines[lines.length - 1] = `${last} ${text}`;
    else lines.push(...(text.length > maxLineChars ? hardWrap(text, maxLineChars, maxLines) : [text]));
  }
  return lines.slice(0, maxLines);
}

/** A single word longer than a line (a URL, a long name): cut across the lines rather than held back forever. */
function hardWrap(text: string, maxLineChars: number, maxLines: number): string[] {
  const lines: string[] = [];
  for (let rest = text; rest && lines.length < maxLines; rest = rest.slice(maxLineChars)) lines.push(rest.slice(0, maxLineChars));
  return lines;
}
