import type { SettledPiece, SettledToken } from '../segmenter/segmenter.js';
import { changesSpeaker, PacedDisplay } from './paced-display.js';
import type { DisplayOptions, DisplayPost } from './types.js';

/**
 * Roll-up, as on broadcast TV: the last completed line(s) above the line being built. Words appear sooner than in
 * blocks, but each POST repeats the lines above, so every line reaches Zoom's transcript twice. A new POST comes
 * when the lower line gains words, at most every `rollupIntervalMs`; a full lower line moves up exactly as it was
 * last shown.
 */
export class RollupDisplay extends PacedDisplay {
  readonly mode = 'rollup' as const;
  /** Completed lines still on screen, oldest first. */
  private upper: string[] = [];
  /** The lower line as last posted. */
  private lower: string[] = [];
  private lastPostAt = -Infinity;
  /** The first this many waiting tokens are their utterance's final words: nothing will revise them. */
  private final = 0;

  constructor(private readonly options: DisplayOptions) {
    super(options);
  }

  // A revision replaces only the open utterance's tokens, which come after the final ones.
  protected took(piece: SettledPiece): void {
    if (piece.endsUtterance) this.final = this.pending.length;
  }

  protected release(now: number): DisplayPost[] {
    const { maxLineChars, maxLines, rollupIntervalMs, rollupHoldMs } = this.options;
    this.deadline = undefined;
    if (this.pending.length === 0) return [];
    // When the first waiting word may be shown: at once when nothing can revise it any more.
    const readyAt = (): number => (this.ended || this.final > 0 ? -Infinity : this.pending[0]!.settledAt + rollupHoldMs);
    if (now < readyAt() || now < this.lastPostAt + rollupIntervalMs) {
      this.deadline = Math.max(this.lastPostAt + rollupIntervalMs, readyAt());
      return [];
    }
    // A new speaker starts a new line, marked when a marker is configured.
    const turn = (token: SettledToken): boolean => changesSpeaker(this.lastSpeaker, token.speaker);
    const shown = (token: SettledToken): string => {
      const mark = this.turnMark(token);
      return mark ? `${mark} ${token.text}` : token.text;
    };
    const fits = (token: SettledToken): boolean =>
      this.lower.length === 0 || (!turn(token) && this.lower.join(' ').length + 1 + token.text.length <= maxLineChars);
    if (!fits(this.pending[0]!)) {
      this.upper = [...this.upper, this.lower.join(' ')].slice(-(maxLines - 1));
      this.lower = [];
    }
    const added: SettledToken[] = [];
    while (this.pending.length > 0 && fits(this.pending[0]!) && now >= readyAt()) {
      this.open.shown(this.pending, 1);
      const token = this.pending.shift()!;
      this.final = Math.max(0, this.final - 1);
      this.lower.push(shown(token));
      this.shownSpeaker(token);
      added.push(token);
    }
    this.lastPostAt = now;
    if (this.pending.length > 0) this.deadline = Math.max(now + rollupIntervalMs, readyAt());
    const lines = maxLines > 1 ? [...this.upper, this.lower.join(' ')] : [this.lower.join(' ')];
    return [{ text: lines.join('\n'), tokens: added, releasedAt: now }];
  }
}
