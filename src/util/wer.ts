/** Lower-case words without punctuation: how captions and reference transcripts are compared. */
export function normalizeWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}'\s-]/gu, ' ')
    .replace(/-/g, ' ')
    .split(/\s+/)
    .filter(Boolean);
}

export interface WordErrors {
  substitutions: number;
  deletions: number;
  insertions: number;
  referenceWords: number;
  /** (S + D + I) / N: the standard word error rate. */
  wer: number;
}

/** Word error rate by Levenshtein alignment over words. */
export function wordErrorRate(reference: string, hypothesis: string): WordErrors {
  const ref = normalizeWords(reference);
  const hyp = normalizeWords(hypothesis);
  // cost[j] holds the alignment of ref[0..i) with hyp[0..j); ops tracks S/D/I along the cheapest path.
  type Cell = { cost: number; s: number; d: number; i: number };
  let previous: Cell[] = hyp.map((_, j) => ({ cost: j + 1, s: 0, d: 0, i: j + 1 }));
  previous.unshift({ cost: 0, s: 0, d: 0, i: 0 });
  for (let i = 1; i <= ref.length; i++) {
    const current: Cell[] = [{ cost: i, s: 0, d: i, i: 0 }];
    for (let j = 1; j <= hyp.length; j++) {
      const diagonal = previous[j - 1]!;
      const up = previous[j]!;
      const left = current[j - 1]!;
      const same = ref[i - 1] === hyp[j - 1];
      const candidates: Cell[] = [
        { ...diagonal, cost: diagonal.cost + (same ? 0 : 1), s: diagonal.s + (same ? 0 : 1) },
        { ...up, cost: up.cost + 1, d: up.d + 1 },
        { ...left, cost: left.cost + 1, i: left.i + 1 },
      ];
      current.push(candidates.reduce((a, b) => (b.cost < a.cost ? b : a)));
    }
    previous = current;
  }
  const best = previous[hyp.length]!;
  return {
    substitutions: best.s,
    deletions: best.d,
    insertions: best.i,
    referenceWords: ref.length,
    wer: ref.length === 0 ? (hyp.length === 0 ? 0 : 1) : best.cost / ref.length,
  };
}
