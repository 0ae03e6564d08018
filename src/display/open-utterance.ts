import { coveredPrefixLength } from '../segmenter/align.js';
import type { SettledPiece, SettledToken } from '../segmenter/segmenter.js';

/**
 * The utterance under way, as one display holds it: the words it has shown (they stay as shown: Zoom cannot take a
 * POST back) and how many of its waiting tokens are still this utterance's (the newest ones). Until a word is shown,
 * the engine's newest answer for it replaces the one the display holds.
 */
export class OpenUtterance {
  private shownWords: string[] = [];
  /** The last `waiting` tokens of the display's queue belong to the utterance under way. */
  private waiting = 0;

  /** Takes a piece into the display's queue: revised words replace those not shown yet, new tokens join. */
  take(queue: SettledToken[], piece: SettledPiece): void {
    // With a revision the piece holds the whole utterance so far: what was shown is found in it, the rest waits.
    if (piece.revised) this.revise(queue, [...piece.revised, ...piece.tokens]);
    else {
      // Copies: a full stop added by a display must not change the token another display holds.
      queue.push(...piece.tokens.map((token) => ({ ...token })));
      this.waiting += piece.tokens.length;
    }
    if (piece.endsUtterance) {
      this.shownWords = [];
      this.waiting = 0;
    }
  }

  /** The display shows the first `count` tokens of its queue (call before taking them out). */
  shown(queue: readonly SettledToken[], count: number): void {
    const firstOpen = queue.length - this.waiting;
    for (let i = Math.max(0, firstOpen); i < count; i++) this.shownWords.push(...queue[i]!.words);
    this.waiting -= Math.max(0, count - Math.max(0, firstOpen));
  }

  private revise(queue: SettledToken[], revised: readonly SettledToken[]): void {
    const words = revised.flatMap((token) => token.words);
    const covered = coveredPrefixLength(this.shownWords, words);
    // The first revised token that starts at or after the last shown word; one that straddles it was shown already.
    let start = 0;
    for (let seen = 0; start < revised.length && seen < covered; start++) seen += revised[start]!.words.length;
    const replaced = queue.splice(queue.length - this.waiting, this.waiting);
    // A word keeps the time it first settled (the display's holds count from it), found by the audio it covers: a
    // revision may drop, add or split words, so positions do not match. A word new in this revision settles now.
    const fresh = revised.slice(start).map((token) => {
      const before = replaced.filter((old) => sameAudio(old, token)).map((old) => old.settledAt);
      return { ...token, settledAt: Math.min(token.settledAt, ...before) };
    });
    queue.push(...fresh);
    this.waiting = fresh.length;
  }
}

/** Whether two tokens cover some of the same audio (tokens of an engine without word timings: the same instant). */
function sameAudio(a: SettledToken, b: SettledToken): boolean {
  return (a.start < b.end && b.start < a.end) || (a.start === b.start && a.end === b.end);
}
