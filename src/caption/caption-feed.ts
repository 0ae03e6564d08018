import type { CaptionSink, OutgoingCaption, SinkResult } from './sink.js';

/** One caption as the caption page and the feed give it (docs/captions-page.md documents the shape). */
export interface FeedCaption {
  /** 1, 2, 3... in the order the meeting's captions were shown; a reader that reconnects asks for what follows its last. */
  seq: number;
  text: string;
  /** Seconds of the meeting's audio (from when the bridge began the meeting) its words were spoken in. */
  start: number;
  end: number;
  speaker?: string;
  /** Wall-clock ms it was shown. */
  at: number;
}

/** Someone reading the captions (a page over server-sent events, a program over WebSocket). */
export interface FeedReader {
  /** Hands a caption to the reader's connection; false when the connection is too far behind to take it. */
  send(caption: FeedCaption): boolean;
  /** Closes the reader's connection, saying why. */
  end(reason: string): void;
}

export interface CaptionFeedOptions {
  meetingId: string;
  /** The viewer token a reader must present; undefined: the page is public. */
  token: string | undefined;
  maxReaders: number;
  /** Captions kept for scrolling back and for readers that reconnect (the oldest go first). */
  keep: number;
}

/**
 * A meeting's captions for people and programs reading along (the caption page, the feed): the same blocks Zoom
 * gets, kept for scrolling back and handed to every reader as they are shown. A reader that cannot keep up (a
 * frozen tab, a slow phone link) is dropped on its own, so it never holds up another reader or the meeting; readers
 * beyond the cap are refused.
 */
export class CaptionFeed implements CaptionSink {
  readonly kind = 'page';
  readonly description: string;
  private readonly history: FeedCaption[] = [];
  private readonly readers = new Set<FeedReader>();
  private seq = 0;
  private closed = false;

  constructor(readonly options: CaptionFeedOptions) {
    this.description = `caption page (${options.token === undefined ? 'public' : 'viewer token'})`;
  }

  get readerCount(): number {
    return this.readers.size;
  }

  async start(): Promise<void> {}

  async deliver(caption: OutgoingCaption): Promise<SinkResult> {
    const at = Date.now();
    const shown: FeedCaption = { seq: ++this.seq, text: caption.text, start: round(caption.start), end: round(caption.end), ...(caption.speaker ? { speaker: caption.speaker } : {}), at };
    this.history.push(shown);
    if (this.history.length > this.options.keep) this.history.splice(0, this.history.length - this.options.keep);
    for (const reader of [...this.readers]) {
      if (!reader.send(shown)) this.drop(reader, 'too slow: the connection fell behind the captions (reconnect to catch up)');
    }
    return { status: 'written', seq: shown.seq, confirmedAt: at };
  }

  /**
   * A new reader: the captions after `afterSeq` (all that are kept, by default) come first, then each as it is
   * shown. The reason it is refused instead, when it is.
   */
  join(reader: FeedReader, afterSeq = 0): { refused: string } | { caughtUp: number } {
    const refused = this.refusal();
    if (refused) return { refused };
    let caughtUp = 0;
    for (const caption of this.history) {
      if (caption.seq <= afterSeq) continue;
      if (!reader.send(caption)) {
        reader.end('too slow: could not take the captions so far');
        return { caughtUp: 0 };
      }
      caughtUp += 1;
    }
    this.readers.add(reader);
    return { caughtUp };
  }

  /** Why a new reader would be refused now (the cap reached, the meeting gone), or undefined. */
  refusal(): string | undefined {
    if (this.closed) return 'the meeting is not running here';
    if (this.readers.size >= this.options.maxReaders) return `this caption page has its ${this.options.maxReaders} readers, the most the meeting allows: try again later`;
    return undefined;
  }

  leave(reader: FeedReader): void {
    this.readers.delete(reader);
  }

  /** The meeting ends here (stopped, or moved to another process of a fleet): readers are told and reconnect. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const reader of [...this.readers]) this.drop(reader, 'the meeting stopped here');
  }

  private drop(reader: FeedReader, reason: string): void {
    this.readers.delete(reader);
    reader.end(reason);
  }
}

const round = (seconds: number): number => Math.round(seconds * 100) / 100;
