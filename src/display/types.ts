import type { SettledPiece, SettledToken } from '../segmenter/segmenter.js';

export type DisplayMode = 'blocks' | 'rollup';

export interface DisplayOptions {
  /** CEA-608 practice: 32 characters a line, two lines on screen. */
  maxLineChars: number;
  maxLines: number;
  /** blocks: a block holding about a line goes out once its first word has waited this long. */
  maxHoldMs: number;
  /** blocks: the shortest time a block stays on screen. */
  minShowMs: number;
  /** blocks: reading speed; a block stays up at least its characters at this rate. */
  maxCharsPerSecond: number;
  /** blocks: when the oldest waiting word is this late, the block on screen may go after minShowMs. */
  maxLagMs: number;
  /** rollup: the least time between two POSTs. */
  rollupIntervalMs: number;
  /**
   * rollup: a word settled inside an utterance is shown once it has been settled this long, so the engine's next
   * answers for it still count (a word shown is in Zoom's transcript for good); the utterance's end shows the rest.
   */
  rollupHoldMs: number;
  /** Put before the first words after a change of speaker (CART uses ">>"); empty: no marker. */
  speakerMarker: string;
  /**
   * Show who speaks by name ("Ana: ...") at each turn, where the source names them (Zoom RTMS). Off by default:
   * names are personal data (docs/zoom.md, "Speaker names").
   */
  speakerNames: boolean;
}

/** Chosen with bench/display-sweep.bench.ts (results in bench/results/display-sweep-*.json). */
export const DEFAULT_DISPLAY_OPTIONS: DisplayOptions = {
  maxLineChars: 32,
  maxLines: 2,
  maxHoldMs: 1_600,
  minShowMs: 1_500,
  maxCharsPerSecond: 17,
  maxLagMs: 3_000,
  // Roll-up's pair was chosen again once words were held for the engine's next answers (replayed on the meeting
  // corpus, 3 rounds: new words first seen p50 1.14 / 1.34 s at 700 / 300 ms, 1.01 / 1.16 s here, with pauses /
  // without; the loss to the engine's finals within a word either way; 11 % more POSTs).
  rollupIntervalMs: 600,
  rollupHoldMs: 250,
  speakerMarker: '',
  speakerNames: false,
};

/** What one POST shows: the whole box as a viewer sees it, and the tokens that appear in it for the first time. */
export interface DisplayPost {
  text: string;
  tokens: SettledToken[];
  /** Wall-clock ms when the display let it go. */
  releasedAt: number;
}

/**
 * Turns settled text into what a caption box shows, paced for reading. Synchronous with an injected clock, so
 * every rule is testable; `displayPosts` runs one against a live stream with timers.
 */
export interface CaptionDisplay {
  readonly mode: DisplayMode;
  push(piece: SettledPiece, now: number): DisplayPost[];
  /** Call when `nextDeadline()` passes with nothing pushed. */
  tick(now: number): DisplayPost[];
  /** No more text will come: what waits goes out, still paced (keep ticking until `nextDeadline()` is undefined). */
  end(now: number): DisplayPost[];
  /** Wall-clock ms at which something may go out without new input; undefined when nothing waits. */
  nextDeadline(): number | undefined;
}
