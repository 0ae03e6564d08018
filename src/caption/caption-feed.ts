import type { CaptionSink, OutgoingCaption, SinkResult } from './sink.js';

/** One caption as the caption page and the feed give it (docs/captions-page.md documents the shape). */
export interface FeedCaption {
  /**
   * 1, 2, 3... in the order the meeting's captions were shown, going on across restarts, reloads and owners (from the
   * feed's history); a reader that reconnects asks for what follows its last.
   */
  seq: number;
  text: string;
  /** Seconds of the meeting's audio (from when the bridge began the meeting) its words were spoken in. */
  start: number;
  end: number;
  speaker?: string;
  /** Wall-clock ms it was shown. */
  at: number;
  /**
   * A captioner put right an earlier caption (this seq): `text` replaces its text. A correction is an item of its own,
   * numbered as the captions are, so a reader that reconnects after it still gets it.
   */
  corrects?: number;
}

/** Someone reading the captions (a page over server-sent events, a program over WebSocket). */
export interface FeedReader {
  /** Hands a caption to the reader's connection; false when the connection is too far behind to take it. */
  send(caption: FeedCaption): boolean;
  /** Closes the reader's connection, saying why. */
  end(reason: string): void;
}

/**
 * Where a meeting's captions so far are kept beyond this process (the state dir; etcd in a fleet, where a moved
 * meeting's new owner has no state dir of the old one's): the numbering goes on from it after a restart, a reload or
 * a move, so a page that reconnects gets what followed its last caption, and a new page scrolls back over all of it.
 */
export interface FeedHistory {
  /** The newest captions kept, oldest first (at most `keep` of them are used). */
  load(keep: number): Promise<FeedCaption[]>;
  /** Records one more caption; never rejects (a store that fails is logged, captions go on). */
  append(caption: FeedCaption): Promise<void>;
  close(): Promise<void>;
}

export interface CaptionFeedOptions {
  meetingId: string;
  /** The viewer token a reader must present; undefined: the page is public. */
  token: string | undefined;
  maxReaders: number;
  /** Readers one address (a /64 for IPv6) may hold at once: no single client takes a page's every slot. */
  maxReadersPerAddress?: number;
  history?: FeedHistory;
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
  /** Each reader, with the address it is counted under. */
  private readonly readers = new Map<FeedReader, string>();
  private readonly perAddress = new Map<string, number>();
  private seq = 0;
  private closed = false;
  /** The caption each item shown in this run came from, so a correction can reach the other destinations that had it. */
  private readonly shownFrom = new Map<number, OutgoingCaption>();

  constructor(readonly options: CaptionFeedOptions) {
    this.description = `caption page (${options.token === undefined ? 'public' : 'viewer token'})`;
  }

  get readerCount(): number {
    return this.readers.size;
  }

  /** The captions of earlier runs (a restart, a reload, another owner): readers scroll back over them, seq goes on. */
  async start(): Promise<void> {
    // At most `keep` of them, oldest first (as every history loads them): the newest says where the numbering is.
    const earlier = (await this.options.history?.load(this.options.keep)) ?? [];
    for (const caption of earlier) this.history.push(caption);
    this.seq = Math.max(this.seq, earlier.at(-1)?.seq ?? 0);
  }

  async deliver(caption: OutgoingCaption): Promise<SinkResult> {
    const at = Date.now();
    const shown: FeedCaption = { seq: ++this.seq, text: caption.text, start: round(caption.start), end: round(caption.end), ...(caption.speaker ? { speaker: caption.speaker } : {}), at };
    this.shownFrom.set(shown.seq, caption);
    this.publish(shown);
    return { status: 'written', seq: shown.seq, confirmedAt: at };
  }

  /** Kept (and stored) for readers to come, and sent to the readers now. */
  private publish(item: FeedCaption): void {
    this.history.push(item);
    if (this.history.length > this.options.keep) {
      for (const gone of this.history.splice(0, this.history.length - this.options.keep)) this.shownFrom.delete(gone.seq);
    }
    void this.options.history?.append(item);
    for (const reader of [...this.readers.keys()]) {
      if (!reader.send(item)) this.drop(reader, 'too slow: the connection fell behind the captions (reconnect to catch up)');
    }
  }

  /**
   * A captioner put right a caption already shown (`seq`): readers, and those who come later, get the correction as an
   * item of its own. The text it had, or undefined when the feed no longer keeps that caption.
   */
  correct(seq: number, text: string): string | undefined {
    const original = this.history.find((c) => c.seq === seq && c.corrects === undefined);
    if (!original) return undefined;
    const before = this.correctedText(seq) ?? original.text;
    const correction: FeedCaption = { seq: ++this.seq, text, start: original.start, end: original.end, ...(original.speaker ? { speaker: original.speaker } : {}), at: Date.now(), corrects: seq };
    this.publish(correction);
    return before;
  }

  /** The caption that item `seq` was shown from, when it was shown in this run and is still kept. */
  captionOf(seq: number): OutgoingCaption | undefined {
    return this.shownFrom.get(seq);
  }

  /** The newest captions shown (not corrections), as corrected: what a captioner may still put right. */
  recent(count: number): { seq: number; text: string }[] {
    const shown = this.history.filter((c) => c.corrects === undefined).slice(-count);
    return shown.map((c) => ({ seq: c.seq, text: this.correctedText(c.seq) ?? c.text }));
  }

  /** The newest correction of caption `seq`, if it was put right. */
  private correctedText(seq: number): string | undefined {
    for (let i = this.history.length - 1; i >= 0; i--) if (this.history[i]!.corrects === seq) return this.history[i]!.text;
    return undefined;
  }

  /**
   * A new reader: the captions after `afterSeq` (all that are kept, by default) come first, then each as it is
   * shown. The reason it is refused instead, when it is.
   */
  join(reader: FeedReader, afterSeq = 0, address = ''): { refused: string } | { caughtUp: number } {
    const refused = this.refusal(address);
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
    this.readers.set(reader, address);
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    return { caughtUp };
  }

  /** Why a new reader (from `address`) would be refused now: the cap reached, its address's share, the meeting gone. */
  refusal(address = ''): string | undefined {
    if (this.closed) return 'the meeting is not running here';
    if (this.readers.size >= this.options.maxReaders) return `this caption page has its ${this.options.maxReaders} readers, the most the meeting allows: try again later`;
    const share = this.options.maxReadersPerAddress;
    if (share !== undefined && (this.perAddress.get(address) ?? 0) >= share) return `this caption page has ${share} readers from your address already, the most one address may hold: close one, or try again later`;
    return undefined;
  }

  leave(reader: FeedReader): void {
    const address = this.readers.get(reader);
    if (address === undefined) return;
    this.readers.delete(reader);
    const left = (this.perAddress.get(address) ?? 1) - 1;
    if (left > 0) this.perAddress.set(address, left);
    else this.perAddress.delete(address);
  }

  /** The meeting ends here (stopped, or moved to another process of a fleet): readers are told and reconnect. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const reader of [...this.readers.keys()]) this.drop(reader, 'the meeting stopped here');
    await this.options.history?.close();
  }

  private drop(reader: FeedReader, reason: string): void {
    this.leave(reader);
    reader.end(reason);
  }
}

const round = (seconds: number): number => Math.round(seconds * 100) / 100;
