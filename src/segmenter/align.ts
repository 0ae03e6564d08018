/**
 * How many words of `hypothesis` the already-sent words cover. Engines revise earlier words (pocketsphinx turned
 * "the mr john" into "and mr john"), so position alone would double or drop words; an edit-distance alignment
 * of the sent words against each prefix of the new hypothesis finds where the unsent part starts.
 */
export function coveredPrefixLength(sent: readonly string[], hypothesis: readonly string[]): number {
  if (sent.length === 0) return 0;
  // distance[j] = edit distance between all of `sent` and hypothesis[0..j), computed row by row over `sent`.
  let row = Array.from({ length: hypothesis.length + 1 }, (_, j) => j);
  for (let i = 1; i <= sent.length; i++) {
    const next = [i];
    for (let j = 1; j <= hypothesis.length; j++) {
      const substitute = row[j - 1]! + (sent[i - 1] === hypothesis[j - 1] ? 0 : 1);
      next.push(Math.min(substitute, row[j]! + 1, next[j - 1]! + 1));
    }
    row = next;
  }
  // Prefer the longer prefix on ties: a word counted as sent can only be lost, never doubled, and the tie only
  // arises for words the alignment cannot place anyway.
  let best = 0;
  for (let j = 1; j <= hypothesis.length; j++) if (row[j]! <= row[best]!) best = j;
  return best;
}
