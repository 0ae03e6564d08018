/** Lower-case words without punctuation: how captions and reference transcripts are compared. */
export function normalizeWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{N}'\s-]/gu, ' ')
    .replace(/-/g, ' ')
    .split(/\s+/)
    .filter(Boolean);
}

export type AlignmentStep =
  | { op: 'match' | 'substitution'; ref: number; hyp: number }
  | { op: 'deletion'; ref: number }
  | { op: 'insertion'; hyp: number };

/** Minimum-edit alignment of two word sequences (Levenshtein with backtrace). */
export function alignWords(ref: readonly string[], hyp: readonly string[]): AlignmentStep[] {
  const cols = hyp.length + 1;
  const cost = new Uint32Array((ref.length + 1) * cols);
  for (let j = 0; j <= hyp.length; j++) cost[j] = j;
  for (let i = 1; i <= ref.length; i++) {
    cost[i * cols] = i;
    for (let j = 1; j <= hyp.length; j++) {
      const diagonal = cost[(i - 1) * cols + j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1);
      cost[i * cols + j] = Math.min(diagonal, cost[(i - 1) * cols + j]! + 1, cost[i * cols + j - 1]! + 1);
    }
  }
  const steps: AlignmentStep[] = [];
  let i = ref.length;
  let j = hyp.length;
  while (i > 0 || j > 0) {
    const here = cost[i * cols + j]!;
    if (i > 0 && j > 0 && here === cost[(i - 1) * cols + j - 1]! + (ref[i - 1] === hyp[j - 1] ? 0 : 1)) {
      steps.push({ op: ref[i - 1] === hyp[j - 1] ? 'match' : 'substitution', ref: --i, hyp: --j });
    } else if (i > 0 && here === cost[(i - 1) * cols + j]! + 1) {
      steps.push({ op: 'deletion', ref: --i });
    } else {
      steps.push({ op: 'insertion', hyp: --j });
    }
  }
  return steps.reverse();
}

export interface WordErrors {
  substitutions: number;
  deletions: number;
  insertions: number;
  referenceWords: number;
  /** (S + D + I) / N: the standard word error rate. */
  wer: number;
}

export function wordErrorRate(reference: string, hypothesis: string): WordErrors {
  const ref = normalizeWords(reference);
  const steps = alignWords(ref, normalizeWords(hypothesis));
  const count = (op: AlignmentStep['op']): number => steps.filter((s) => s.op === op).length;
  const errors = { substitutions: count('substitution'), deletions: count('deletion'), insertions: count('insertion') };
  const total = errors.substitutions + errors.deletions + errors.insertions;
  return { ...errors, referenceWords: ref.length, wer: ref.length === 0 ? (total === 0 ? 0 : 1) : total / ref.length };
}
