import type { SettledPiece, SettledToken } from '../segmenter/segmenter.js';
import { OpenUtterance } from './open-utterance.js';
import type { CaptionDisplay, DisplayPost } from './types.js';

/**
 * What every caption display shares: settled words wait in a queue (the open utterance's still revisable), each
 * push, tick and the end release what the mode's pacing allows now, and the mode says when to look again. A mode
 * writes only what it does with a piece it takes (`took`) and its release.
 */
export abstract class PacedDisplay implements CaptionDisplay {
  abstract readonly mode: CaptionDisplay['mode'];
  protected pending: SettledToken[] = [];
  protected readonly open = new OpenUtterance();
  protected ended = false;
  protected deadline: number | undefined;
  protected lastSpeaker: string | undefined;

  push(piece: SettledPiece, now: number): DisplayPost[] {
    this.open.take(this.pending, piece);
    this.took(piece);
    return this.release(now);
  }

  tick(now: number): DisplayPost[] {
    return this.release(now);
  }

  end(now: number): DisplayPost[] {
    this.ended = true;
    return this.release(now);
  }

  nextDeadline(): number | undefined {
    return this.deadline;
  }

  /** A piece has joined the queue. */
  protected abstract took(piece: SettledPiece): void;

  /** What goes out now; sets `deadline` to when to look again. */
  protected abstract release(now: number): DisplayPost[];
}
