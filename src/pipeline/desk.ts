import { BridgeError } from '../errors.js';
import type { OutgoingCaption } from '../caption/sink.js';
import { leans } from '../display/layout.js';

/** The longest hold a captioner may set: readers wait this much more for every caption. */
export const MAX_HOLD_MS = 10_000;
/** A word put right this many times is offered as a replacement for the rest of the meeting. */
const OFFER_AFTER = 2;

/** A caption the captioner sees before it goes out. */
export interface HeldCaption {
  id: number;
  text: string;
  /** Epoch ms when it goes out as it is then. */
  goesAt: number;
  edited: boolean;
}

/** What the console shows of the desk. */
export interface DeskView {
  holdMs: number;
  /** Who may edit now; anyone watching may take the pen. */
  pen?: string;
  held: HeldCaption[];
  /** Words put right twice: "always write `from` as `to`?" */
  offers: { from: string; to: string }[];
  /** The newest captions already on the caption page, which the pen holder may still put right there. */
  sent?: { seq: number; text: string }[];
  /** Destinations not held (roll-up): the words reach them as they come, uncorrected. */
  notHeld?: string[];
}

interface Waiting extends HeldCaption {
  caption: OutgoingCaption;
  /**
   * The caption's promise, for a caption that came from the display; undefined for a piece split off one (or one whose
   * captions another was joined to): its words go out with `owner`'s.
   */
  release?: (captions: OutgoingCaption[]) => void;
  owner?: Waiting;
  timer?: NodeJS.Timeout;
  /** Dropped, or joined to the one before: nothing of it goes out, but its promise is kept until its time. */
  gone?: boolean;
}

/**
 * A captioner's desk: with a hold of a few seconds, each caption waits that long before it goes to the destinations,
 * and whoever holds the pen may put it right (a word, a name) or drop it (a false start) meanwhile. A caption whose
 * hold ends goes out as it is then, so readers never wait longer than the hold; captions go out in order. With no
 * hold (the default) captions pass straight through.
 */
export class CaptionDesk {
  private holdMs = 0;
  private pen: string | undefined;
  private nextId = 1;
  private readonly waiting: Waiting[] = [];
  /** When the last caption went (or goes) out: a shorter hold set later never lets one overtake another. */
  private lastGoesAt = 0;
  private readonly corrections = new Map<string, number>();
  private readonly offered = new Map<string, string>();
  /** Words whose offer was answered: not offered again. */
  private readonly answered = new Set<string>();

  constructor(
    /** An edited caption's text as the lines it goes out in (the display's line breaking). */
    private readonly lines: (text: string) => string = (text) => text,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The captions as they are to go out for this one, after its hold: itself (perhaps corrected), none (dropped, or joined
   * to the one before), or several (split).
   */
  hold(caption: OutgoingCaption): Promise<OutgoingCaption[]> {
    if (this.holdMs === 0 && this.waiting.length === 0) return Promise.resolve([caption]);
    const goesAt = Math.max(this.now() + this.holdMs, this.lastGoesAt);
    this.lastGoesAt = goesAt;
    return new Promise((release) => {
      // Shown and edited as one line: a text box has no line breaks, and one that drops them would glue the words
      // either side together ("lowered\ntheir" edited as "loweredtheir"); an edit goes out broken into lines again.
      const entry: Waiting = { id: this.nextId++, text: oneLine(caption.text), goesAt, edited: false, caption, release, timer: setTimeout(() => this.releaseDue(), Math.max(0, goesAt - this.now())) };
      this.waiting.push(entry);
    });
  }

  /** Sets the hold for captions from now on (0: none); those held keep theirs. */
  setHold(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0 || ms > MAX_HOLD_MS) throw new BridgeError('DESK_REFUSED', `a hold is 0 to ${MAX_HOLD_MS} ms`);
    this.holdMs = Math.round(ms);
  }

  /** `who` takes the pen (from whoever held it: the console shows who has it, so a takeover is seen by all). */
  takePen(who: string): string | undefined {
    const before = this.pen;
    this.pen = who;
    return before;
  }

  /** Puts a held caption right; the edit is what goes out. */
  edit(id: number, text: string, who: string): { from: string; to: string } {
    const entry = this.heldBy(id, who);
    const clean = text.replace(/\s+/g, ' ').trim();
    if (clean === '') throw new BridgeError('DESK_REFUSED', 'an edit leaves words; to take a caption back, drop it');
    const from = entry.text;
    entry.text = clean;
    entry.edited = true;
    this.learn(from, clean);
    return { from, to: clean };
  }

  /** Takes a held caption back: it never goes out. */
  drop(id: number, who: string): string {
    const entry = this.heldBy(id, who);
    entry.gone = true;
    return entry.text;
  }

  /** Splits a held caption at `at` (a character of its text): two captions, one after the other, at its time. */
  split(id: number, at: number, who: string): [string, string] {
    const entry = this.heldBy(id, who);
    const first = entry.text.slice(0, at).trim();
    const second = entry.text.slice(at).trim();
    if (!first || !second) throw new BridgeError('DESK_REFUSED', 'a split leaves words on both sides');
    entry.text = first;
    entry.edited = true;
    const piece: Waiting = { id: this.nextId++, text: second, goesAt: entry.goesAt, edited: true, caption: entry.caption, owner: entry.owner ?? entry };
    this.waiting.splice(this.waiting.indexOf(entry) + 1, 0, piece);
    return [first, second];
  }

  /** Joins a held caption with the next one held: one caption, at the first one's time. */
  join(id: number, who: string): string {
    const entry = this.heldBy(id, who);
    const next = this.waiting.slice(this.waiting.indexOf(entry) + 1).find((w) => !w.gone);
    if (!next) throw new BridgeError('DESK_REFUSED', 'there is no caption held after it to join');
    entry.text = `${entry.text} ${next.text}`;
    entry.edited = true;
    next.gone = true;
    const root = entry.owner ?? entry;
    for (const w of this.waiting) if (w.owner === next) w.owner = root;
    return entry.text;
  }

  /** A replacement offered was taken (or refused): it is not offered again. */
  settleOffer(from: string): void {
    this.offered.delete(from.toLowerCase());
    this.answered.add(from.toLowerCase());
  }

  view(): DeskView {
    return {
      holdMs: this.holdMs,
      ...(this.pen ? { pen: this.pen } : {}),
      held: this.waiting.filter((w) => !w.gone).map(({ id, text, goesAt, edited }) => ({ id, text, goesAt, edited })),
      offers: [...this.offered].map(([from, to]) => ({ from, to })),
    };
  }

  /** Everything held goes out now, as it is (the meeting closes, the stream ends). */
  flush(): void {
    while (this.waiting.length > 0) this.releaseHead();
  }

  /** Only whoever holds the pen puts captions right. */
  requirePen(who: string): void {
    if (this.pen !== who) throw new BridgeError('DESK_REFUSED', this.pen ? `${this.pen} holds the pen: take it first` : 'take the pen first');
  }

  private heldBy(id: number, who: string): Waiting {
    this.requirePen(who);
    const entry = this.waiting.find((w) => w.id === id && !w.gone);
    if (!entry) throw new BridgeError('DESK_REFUSED', 'that caption has gone out already');
    return entry;
  }

  /** In order: a caption goes once its time has come and every one before it has gone. */
  private releaseDue(): void {
    const now = this.now();
    while (this.waiting.length > 0 && this.waiting[0]!.goesAt <= now) this.releaseHead();
  }

  /** The first caption held goes, with the pieces it owns (split off it, or joined to it), in their order. */
  private releaseHead(): void {
    const head = this.waiting[0]!;
    // A piece is never first: it follows its owner, which is earlier and goes no later.
    const group = this.waiting.filter((w) => w === head || w.owner === head);
    for (const w of group) this.waiting.splice(this.waiting.indexOf(w), 1);
    clearTimeout(head.timer);
    head.release?.(group.filter((w) => !w.gone).map((w) => this.outgoing(w)));
  }

  private outgoing(entry: Waiting): OutgoingCaption {
    if (!entry.edited) return entry.caption;
    return { ...entry.caption, text: this.lines(entry.text), words: entry.text.split(/\s+/) };
  }

  /**
   * Words put right: the second time the same words are put right the same way, they are offered. A change of words
   * that lean on the next ("and" put right to "Anne" in "and Lee") is counted with the word after it ("and lee" ->
   * "Anne Lee"): offering "always write 'and' as 'Anne'" would rewrite every "and" of the meeting.
   */
  private learn(from: string, to: string): void {
    const before = from.split(/\s+/);
    const after = to.split(/\s+/);
    if (before.length !== after.length) return;
    const plain = (w: string): string => w.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
    const changed = before.map((word, i) => plain(word) !== plain(after[i]!));
    for (let first = 0; first < before.length; first++) {
      if (!changed[first]) continue;
      let last = first;
      while (last + 1 < before.length && changed[last + 1]) last++;
      const run = { from: first, to: last };
      first = last;
      if (before.slice(run.from, run.to + 1).every(leans)) {
        if (run.to + 1 < before.length) run.to += 1;
        else if (run.from > 0) run.from -= 1;
        else continue;
      }
      // The engine's words, whatever their case at a sentence's start ("prior", "Prior"), put right the same way.
      const heard = before.slice(run.from, run.to + 1).map(plain).join(' ').toLowerCase();
      const fixed = after.slice(run.from, run.to + 1).map(plain).join(' ');
      if (!heard.trim() || !fixed.trim()) continue;
      const key = `${heard}\u0000${fixed}`;
      const times = (this.corrections.get(key) ?? 0) + 1;
      this.corrections.set(key, times);
      if (times === OFFER_AFTER && !this.answered.has(heard)) this.offered.set(heard, fixed);
    }
  }
}

/** A caption's lines as one line, as the desk shows and edits it. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
