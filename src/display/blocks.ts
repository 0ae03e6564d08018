import type { SettledPiece, SettledToken } from '../segmenter/segmenter.js';
import { breakLines, cutQuality, endsSentence, tokensThatFit } from './layout.js';
import { changesSpeaker, PacedDisplay } from './paced-display.js';
import type { DisplayOptions, DisplayPost } from './types.js';

/**
 * Pop-on blocks for Zoom's caption box, which shows the latest POST alone until the next one replaces it. Every
 * POST is a complete block of one or two lines that never repeats an earlier word. A block goes out when it ends a
 * sentence, when it is full, or when it holds about a line and its first word has waited `maxHoldMs` (a long
 * sentence still moves). It then stays up for its reading time, `max(minShowMs, chars / maxCharsPerSecond)`;
 * words that arrive meanwhile gather in the next block.
 *
 * When speech outruns reading, reading wins until the oldest waiting word is `maxLagMs` late; from then the block
 * on screen may be replaced once it has been up `minShowMs`, so captions fall behind by a bounded amount.
 */
export class BlockDisplay extends PacedDisplay {
  readonly mode = 'blocks' as const;
  private lastShownAt = -Infinity;
  private shownUntil = -Infinity;
  /** The last block ended inside a sentence: the sentence's last words must not follow alone. */
  private midSentence = false;
  /** About one line: a block this size may go out on the hold timer. */
  private readonly minBlockChars: number;

  constructor(private readonly options: DisplayOptions) {
    super(options);
    this.minBlockChars = Math.round(options.maxLineChars * 0.75);
  }

  protected took(piece: SettledPiece): void {
    const last = this.pending.at(-1);
    // The utterance ended after words already settled (only fillers came last): the sentence still ends here.
    if (piece.endsUtterance && last && !endsSentence(last.text)) last.text += '.';
  }

  /** How many of the first `count` tokens a block cut inside a sentence takes (see TAIL_WORDS). */
  private keepingTail(texts: readonly string[], count: number): number {
    const shorter = count - TAIL_WORDS;
    return shorter >= 1 && texts.slice(0, shorter).join(' ').length >= this.minBlockChars ? shorter : count;
  }

  /**
   * When a hold for more words ends. A word that was already `maxLagMs` late when it settled (Zoom replaying what
   * was said while a takeover redialled it) waits for no company: its block goes as it is, paced only for reading.
   */
  private holdEnd(token: SettledToken, holdMs: number): number {
    const late = token.saidAt !== undefined && token.settledAt - token.saidAt >= this.options.maxLagMs;
    return late ? token.settledAt : token.settledAt + holdMs;
  }

  protected release(now: number): DisplayPost[] {
    const { maxLineChars, maxLines, maxHoldMs, minShowMs, maxLagMs } = this.options;
    const posts: DisplayPost[] = [];
    this.deadline = undefined;
    while (this.pending.length > 0) {
      const texts = this.pending.map((t) => t.text);
      // A new speaker is marked at the start of their first block (their name, or CART's ">>").
      const mark = this.turnMark(this.pending[0]!);
      if (mark) texts[0] = `${mark} ${texts[0]}`;
      // A change of speaker ends a block as a sentence end does.
      const turn = this.pending.findIndex((t, i) => i > 0 && changesSpeaker(this.pending[i - 1]!.speaker, t.speaker));
      // The screen, not the hold, kept these words waiting: the speaker is outrunning the reader, so no block may be
      // cut short for a better break (see bestCut).
      const shortestBlockChars = this.holdEnd(this.pending[0]!, maxHoldMs) < this.shownUntil ? this.minBlockChars : 0;
      const fit = Math.min(tokensThatFit(texts, maxLineChars, maxLines), turn > 0 ? turn : Infinity);
      const full = fit < texts.length && fit !== turn;
      let count = fit === turn ? turn : lastSentenceEnd(texts, fit);
      // A sentence's last words after a block cut inside it ("... exposed young" | "man.") would flash by alone: they
      // wait a hold for the next sentence to share their block, and go with whatever of it has come by then.
      if (this.midSentence && count > 0 && count <= TAIL_WORDS && count !== turn && !this.ended) {
        const holdUntil = this.holdEnd(this.pending[count - 1]!, maxHoldMs);
        if (!full && now < holdUntil) {
          this.deadline = holdUntil;
          break;
        }
        if (texts.length > count) count = full ? bestCut(texts, fit, shortestBlockChars) : fit;
      }
      // A short sentence ("Thank you.") waits a moment for the next one to share its block, unless the block is
      // full anyway or nothing more will come.
      const shortSentence = count > 0 && count !== turn && !full && !this.ended && texts.slice(0, count).join(' ').length < this.minBlockChars;
      if (shortSentence) {
        const holdUntil = this.holdEnd(this.pending[0]!, maxHoldMs);
        if (now < holdUntil) {
          this.deadline = holdUntil;
          break;
        }
      }
      if (count === 0) {
        // A full block keeps its last words back only when the sentence is known to end just after it.
        const endsJustAfter = texts.slice(fit, fit + TAIL_WORDS).some(endsSentence);
        count = full ? bestCut(texts, endsJustAfter ? this.keepingTail(texts, fit) : fit, shortestBlockChars) : fit;
        if (!full && !this.ended) {
          const chars = texts.slice(0, count).join(' ').length;
          // A block of about a line goes on the hold timer; a shorter one waits twice as long for more words.
          // (The deadline is compared as computed, not as a difference: a float difference can fall short of it.)
          const holdUntil = this.holdEnd(this.pending[0]!, chars >= this.minBlockChars ? maxHoldMs : 2 * maxHoldMs);
          if (now < holdUntil) {
            this.deadline = holdUntil;
            break;
          }
          count = bestCut(texts, this.keepingTail(texts, count), shortestBlockChars);
        }
      }
      const earliest = Math.min(this.shownUntil, Math.max(this.lastShownAt + minShowMs, this.pending[0]!.settledAt + maxLagMs));
      if (now < earliest) {
        this.deadline = earliest;
        break;
      }
      this.open.shown(this.pending, count);
      const tokens = this.pending.splice(0, count);
      const text = breakLines(texts.slice(0, count), maxLineChars, maxLines).join('\n');
      this.shownSpeaker(tokens.at(-1)!);
      this.midSentence = !endsSentence(tokens.at(-1)!.text);
      posts.push({ text, tokens, releasedAt: now });
      this.lastShownAt = now;
      this.shownUntil = now + readingMs(text, this.options);
    }
    return posts;
  }
}

/**
 * A block cut inside a sentence leaves its last words for the next block, so the sentence's end never stands alone
 * on screen ("three months." flashing by itself after "... that the next"). The last TAIL_WORDS tokens stay when
 * what goes is still about a line; if the sentence then ends at once, the next block has them and its end.
 */
const TAIL_WORDS = 2;

/** How long a block must stay up to be read. */
export function readingMs(text: string, options: Pick<DisplayOptions, 'minShowMs' | 'maxCharsPerSecond'>): number {
  return Math.max(options.minShowMs, (text.replace(/\n/g, '').length / options.maxCharsPerSecond) * 1000);
}

/** The number of tokens up to the last sentence end among the first `limit`, or 0. */
function lastSentenceEnd(texts: readonly string[], limit: number): number {
  for (let count = limit; count >= 1; count--) if (endsSentence(texts[count - 1]!)) return count;
  return 0;
}

/**
 * Where to end a block of at most `limit` tokens: the best cut in its second half, the longer of equals, but not
 * short of `minChars` when the words allow (a shorter block only to avoid ending on a word that leans on the next,
 * like "for"). The floor is for words that already wait for the screen: a block cut short for a clause ("than we
 * planned") still stays up minShowMs, so in talk without a pause such blocks made the display slower than the
 * speaker and every later word waited longer (Deepgram's cadence, held-out talk: word p95 3.65 s without the floor,
 * 3.01 s with it; docs/measurements.md, "A speaker who never pauses").
 */
function bestCut(texts: readonly string[], limit: number, minChars: number): number {
  let shortest = Math.ceil(limit / 2);
  while (shortest < limit && texts.slice(0, shortest).join(' ').length < minChars) shortest++;
  let best = limit;
  let bestQuality = cutQuality(texts, limit);
  for (let count = limit - 1; count >= Math.ceil(limit / 2); count--) {
    // Shorter than minChars only to avoid ending on a word that leans on the next ("for").
    if (count < shortest && bestQuality > 0) break;
    const quality = cutQuality(texts, count);
    if (quality > bestQuality) {
      best = count;
      bestQuality = quality;
    }
  }
  return best;
}
