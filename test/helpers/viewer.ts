import { normalizeWords } from '../../src/util/wer.js';
import { percentile } from '../../bench/report.js';

/** A POST as a viewer meets it: the box's whole text, and when it reached the screen (wall or audio ms). */
export interface ShownPost {
  text: string;
  at: number;
}

/**
 * The words a POST shows for the first time, and how many it repeats from the POST before (roll-up moves the
 * lower line up, or grows it under the same upper line). Blocks repeat nothing.
 */
export function freshText(previous: string | undefined, text: string): { fresh: string; repeated: number } {
  if (previous === undefined) return { fresh: text.replace(/\n/g, ' '), repeated: 0 };
  const lines = text.split('\n');
  const before = previous.split('\n');
  const words = (l: string[]): number => normalizeWords(l.join(' ')).length;
  const lower = before.at(-1)!;
  // Grew: same lines above, the lower line extended.
  if (lines.length === before.length && lines.slice(0, -1).join('\n') === before.slice(0, -1).join('\n') && lines.at(-1)!.startsWith(`${lower} `)) {
    return { fresh: lines.at(-1)!.slice(lower.length + 1), repeated: words(before) };
  }
  // Moved up: the previous lower line is now above the new one.
  if (lines.length >= 2 && lines.at(-2) === lower) return { fresh: lines.at(-1)!, repeated: words(lines.slice(0, -1)) };
  return { fresh: text.replace(/\n/g, ' '), repeated: 0 };
}

const endsSentence = (text: string): boolean => /[.?!]["')\]]?$/.test(text.trim());

/**
 * What a deaf reader gets from a sequence of POSTs in Zoom's pop-on box: how much each holds, how many are
 * scraps, how long each stays up (until the next replaces it), how fast it must be read, how much repeats.
 */
export function viewerStats(posts: ShownPost[]): Record<string, number> {
  const words = posts.map((p) => normalizeWords(p.text).length);
  const chars = posts.map((p) => p.text.replace(/\n/g, '').length);
  const fragments = posts.filter((p, i) => words[i]! <= 2 && !endsSentence(p.text)).length;
  // A sentence's last one or two words alone, after a POST that did not end the sentence: a word flashing alone.
  const tails = posts.filter((p, i) => i > 0 && words[i]! <= 2 && endsSentence(p.text) && !endsSentence(posts[i - 1]!.text)).length;
  const onScreen = posts.slice(0, -1).map((p, i) => posts[i + 1]!.at - p.at);
  const tooFast = onScreen.filter((ms, i) => chars[i]! / (ms / 1000) > 20).length;
  let repeated = 0;
  posts.forEach((p, i) => (repeated += freshText(posts[i - 1]?.text, p.text).repeated));
  const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);
  const round = (value: number, digits = 1): number => Number(value.toFixed(digits));
  return {
    posts: posts.length,
    'words per POST': round(sum(words) / posts.length),
    'chars per POST': round(sum(chars) / posts.length),
    'fragments %': round((100 * fragments) / posts.length),
    'sentence tails alone %': round((100 * tails) / posts.length),
    'on screen p10 ms': Math.round(percentile(onScreen, 10)),
    'on screen p50 ms': Math.round(percentile(onScreen, 50)),
    'over 20 chars/s %': round((100 * tooFast) / Math.max(1, onScreen.length)),
    'repeated words %': round((100 * repeated) / Math.max(1, sum(words))),
  };
}
