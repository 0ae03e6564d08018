/** A caption on its way out, timed on the meeting's clock (seconds since the meeting's first audio). */
export interface OutgoingCaption {
  text: string;
  words: string[];
  start: number;
  end: number;
  /** Wall-clock ms when the segmenter released it; end-to-end latency is measured from the words' end. */
  releasedAt: number;
  /** Wall-clock ms at which the last word of the caption was spoken (best estimate). */
  spokenAt: number;
  /** Wall-clock ms at which each word (or phrase shown as one) first shown in this caption was spoken. */
  wordsSpokenAt: number[];
  /** Who said it, when the engine or the source tells speakers apart (a block never spans two speakers). */
  speaker?: string;
}

/** A Zoom sender's running counts, for metrics and the meetings view. */
export interface SenderStats {
  accepted: number;
  /** POSTs whose retry budget ran out; what happened to their captions is counted below. */
  retryBudgetsSpent: number;
  /** Of those, POSTs Zoom's GET seq then showed delivered (only the answer was lost). */
  confirmedBySeq: number;
  /** Captions Zoom had not got when the budget ran out, sent again with a following caption. */
  carried: number;
  /** Captions that never reached Zoom because they waited too long (for Zoom, or for a Caption URL). */
  skipped: number;
  /** Captions that never reached Zoom because their destination closed first (shutdown, meeting removed). */
  unsent: number;
  retries: number;
  lastSeq: number | undefined;
  /** Zoom's clock minus ours, from the lowest-latency recent answer. */
  clockOffsetMs: number | undefined;
}

/** A sender's counts before its first caption. */
export function emptySenderStats(): SenderStats {
  return { accepted: 0, retryBudgetsSpent: 0, confirmedBySeq: 0, carried: 0, skipped: 0, unsent: 0, retries: 0, lastSeq: undefined, clockOffsetMs: undefined };
}

export interface SinkResult {
  /**
   * accepted: Zoom has it. written: a file or stdout took it. skipped / unsent: it never reached Zoom (it waited too
   * long; its destination closed first). write_failed: a file could not be written.
   */
  status: 'accepted' | 'written' | 'skipped' | 'unsent' | 'write_failed';
  seq?: number;
  /** Wall-clock ms when the destination confirmed it. */
  confirmedAt?: number;
}

/** A caption destination. `deliver` never rejects: a destination's failure must not stop the others. */
export interface CaptionSink {
  readonly kind: string;
  /** Printable, secret-free. */
  readonly description: string;
  start(): Promise<void>;
  deliver(caption: OutgoingCaption): Promise<SinkResult>;
  /**
   * Finish what is queued, release resources. Safe to call twice. Once `deadline` is aborted, stop waiting for the
   * destination: what is still unsent resolves as never delivered.
   */
  close(deadline?: AbortSignal): Promise<void>;
  /** Zoom destinations: the sender's counters, for metrics. */
  senderStats?(): SenderStats | undefined;
  /** What stops this destination from delivering now, as a sentence saying what to change; undefined when fine. */
  status?(): string | undefined;
  /** The Zoom meeting's life as webhooks tell it; destinations that fetch their Caption URL act on it. */
  onZoomMeeting?(event: 'started' | 'ended'): void | Promise<void>;
  /**
   * Stop talking to the destination now, a request under way included: another process may own the meeting from
   * this moment (a fleet whose lease lapsed), and two writers would reuse seq. What waits is counted as unsent.
   */
  fence?(): void;
  /**
   * A captioner put right a caption this destination already has (a file can; Zoom's box cannot): its text becomes
   * `text`. True when it was rewritten, false when this destination never had that caption or no longer can.
   */
  rewrite?(caption: OutgoingCaption, text: string): Promise<boolean>;
}
