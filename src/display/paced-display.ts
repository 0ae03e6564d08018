import type { SettledPiece, SettledToken } from '../segmenter/segmenter.js';
import { OpenUtterance } from './open-utterance.js';
import type { CaptionDisplay, DisplayOptions, DisplayPost } from './types.js';

/** Both speakers known and different: engines without diarization never cause a change. */
export function changesSpeaker(before: string | undefined, after: string | undefined): boolean {
  return before !== undefined && after !== undefined && before !== after;
}

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
  /** The name last shown with a turn (display.speakerNames). */
  private lastSpeakerName: string | undefined;

  constructor(private readonly marks: Pick<DisplayOptions, 'speakerMarker' | 'speakerNames'>) {}

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

  /**
   * What goes before `token` when it starts a speaker's turn on screen: their name ("Ana:") where the meeting shows
   * names and the source gave one (the first speaker's too), else the marker (">>") at a change of speaker, else nothing.
   */
  protected turnMark(token: SettledToken): string | undefined {
    if (this.marks.speakerNames && token.speakerName !== undefined && token.speakerName !== this.lastSpeakerName) return `${token.speakerName}:`;
    if (this.marks.speakerMarker !== '' && changesSpeaker(this.lastSpeaker, token.speaker)) return this.marks.speakerMarker;
    return undefined;
  }

  /** `token` is on screen: whose turn it is now. */
  protected shownSpeaker(token: SettledToken): void {
    this.lastSpeaker = token.speaker ?? this.lastSpeaker;
    this.lastSpeakerName = token.speakerName ?? this.lastSpeakerName;
  }

  /** A piece has joined the queue. */
  protected abstract took(piece: SettledPiece): void;

  /** What goes out now; sets `deadline` to when to look again. */
  protected abstract release(now: number): DisplayPost[];
}
