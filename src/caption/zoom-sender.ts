import { emptySenderStats, type SenderStats } from './sink.js';
import PQueue from 'p-queue';
import { request } from 'undici';
import { BridgeError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { CaptionUrl } from './caption-url.js';
import type { SeqStore } from './seq-store.js';
import { Backoff, pause } from '../util/backoff.js';
import { deadlineSignal } from '../util/abort.js';

/** One POST's limit by default (the config's zoom.requestTimeoutMs). */
export const DEFAULT_REQUEST_TIMEOUT_MS = 2_500;
/** Zoom: "retry until it makes more sense to move on to the next caption (after approximately 5 seconds)". */
export const DEFAULT_GIVE_UP_AFTER_MS = 5_000;

export interface ZoomSenderOptions {
  url: CaptionUrl;
  lang: string;
  seqStore: SeqStore;
  log: Logger;
  /** One request's limit; also capped by what is left of the give-up budget. */
  requestTimeoutMs?: number;
  /** Zoom: "retry until it makes more sense to move on to the next caption (after approximately 5 seconds)". */
  giveUpAfterMs?: number;
  /** First backoff window; doubles on each retry ([0..100], [0..200], [0..400] ms ...). */
  backoffBaseMs?: number;
  /** A caption still queued this long after it was settled is stale: readers have moved on, so skip it. */
  maxQueueDelayMs?: number;
  /** Lines one POST may hold: captions Zoom never got are joined to the next one within this limit. */
  maxLines?: number;
  /**
   * Lines a person typed (or a file piped in): each one is its own caption, in its own POST, and waits for Zoom
   * however long the queue before it takes: `maxQueueDelayMs` then counts from Zoom's last acceptance, not from when
   * the line came, so only a Zoom that accepts nothing for that long makes lines give up. The live pipeline's
   * catch-up (skip what is stale, join what is late) is for live audio.
   */
  everyLineAlone?: boolean;
  random?: () => number;
}

/** accepted: Zoom has it. skipped: it waited too long for Zoom (or for a Caption URL). unsent: its destination closed first. */
export type DeliveryStatus = 'accepted' | 'skipped' | 'unsent';

export interface DeliveryResult {
  status: DeliveryStatus;
  /** The seq of the POST that carried it; undefined for a caption that never reached Zoom. */
  seq?: number;
  text: string;
  attempts: number;
  enqueuedAt: number;
  /** Epoch ms when Zoom's 200 arrived (or when GET seq confirmed a caption whose answer was lost). */
  acceptedAt?: number;
  /** It went out late, joined to a later POST, after Zoom had not got it on time. */
  carried?: boolean;
  error?: BridgeError;
}

interface ClockSample {
  offsetMs: number;
  rttMs: number;
}

const CLOCK_SAMPLES_KEPT = 16;

interface QueuedCaption {
  text: string;
  enqueuedAt: number;
  /** When its first word was said (epoch ms), where known: a service that places captions by time (YouTube) uses it. */
  saidAt?: number;
  settle: (result: DeliveryResult) => void;
}

/**
 * A POST that has a seq: until Zoom's answer or its GET seq decides, it is retried exactly as it is. Its captions
 * are given up (counted as never reached) once they are stale, but the POST itself stays open to hold its seq.
 */
interface OpenPost {
  seq: number;
  body: string;
  captions: QueuedCaption[];
}

/**
 * Posts captions to one caption URL (Zoom's; Teams' and YouTube's follow the same rules, see CaptionUrl) following
 * Zoom's rules: one POST in flight, in order; seq +1 per new POST and unchanged (same body) on retries; randomized
 * binary exponential backoff.
 *
 * Nothing is lost and no seq is skipped (Zoom answers an out-of-order seq with 403, so a gap can lock the URL
 * out). When a POST's retry budget runs out, Zoom's GET seq decides: if Zoom has it, only the answer was lost; if
 * not, the seq is free again and the text goes out with the next POST (joined to the next caption within
 * `maxLines`); if Zoom cannot say, the same POST is retried unchanged, which is right either way. A caption that
 * waits longer than `maxQueueDelayMs` (a long outage) is skipped and counted: the newest text matters most. So every
 * `send` settles within about `maxQueueDelayMs` plus one round of retries, whatever Zoom does, and `close` within
 * `giveUpAfterMs` (or at once, when its deadline has passed).
 */
export class ZoomCaptionSender {
  private readonly queue = new PQueue({ concurrency: 1 });
  private readonly requestTimeoutMs: number;
  private readonly giveUpAfterMs: number;
  private readonly backoffBaseMs: number;
  private readonly maxQueueDelayMs: number;
  private readonly random: () => number;
  private url: CaptionUrl;
  private lastSeq: number | undefined;
  private readonly maxLines: number;
  private started: Promise<void> | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Captions waiting for a seq, oldest first (new ones, and ones Zoom never got). */
  private readonly backlog: QueuedCaption[] = [];
  /** The POST in progress, or one whose fate Zoom could not tell: retried unchanged. */
  private open: OpenPost | undefined;
  /** Captions that missed their first POST (for `carried` in their result). */
  private readonly carriedTexts = new Set<QueuedCaption>();
  private retryTimer: NodeJS.Timeout | undefined;
  /** Aborted when the sender has closed and its last try is over: every request and backoff in progress ends. */
  private readonly halt = new AbortController();
  private readonly clockSamples: ClockSample[] = [];
  /** When Zoom last accepted a POST (or the sender started): how long typed lines have waited on Zoom. */
  private lastAcceptedAt = Date.now();
  readonly stats: SenderStats = emptySenderStats();

  constructor(private readonly options: ZoomSenderOptions) {
    this.url = options.url;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.giveUpAfterMs = options.giveUpAfterMs ?? DEFAULT_GIVE_UP_AFTER_MS;
    this.backoffBaseMs = options.backoffBaseMs ?? 100;
    this.maxQueueDelayMs = options.maxQueueDelayMs ?? 20_000;
    this.maxLines = options.maxLines ?? 2;
    this.random = options.random ?? Math.random;
  }

  get destination(): string {
    return this.url.redacted;
  }

  /**
   * A renewed Caption URL for the same destination (a fresh signature before the old one expires). The seq goes
   * on from where it is: captions already queued use the new URL, none reuses a seq.
   */
  setUrl(url: CaptionUrl): void {
    this.url = url;
  }

  /** Resume the seq from the state dir and from Zoom's GET .../seq, whichever is higher. Idempotent. */
  start(): Promise<void> {
    this.started ??= this.resumeSeq();
    return this.started;
  }

  /**
   * Queue a caption (`saidAt`: when its first word was said); resolves once Zoom has it, or once it is skipped (stale,
   * or unsent at close). Never rejects.
   */
  send(text: string, saidAt?: number): Promise<DeliveryResult> {
    const enqueuedAt = Date.now();
    return new Promise((settle) => {
      if (this.closed) return this.drop([{ text, enqueuedAt, settle }], 'unsent', 'the sender was already closed');
      this.backlog.push({ text, enqueuedAt, settle, ...(saidAt === undefined ? {} : { saidAt }) });
      void this.queue.add(() => this.flush());
    });
  }

  /** Wait until every caption so far is delivered or skipped (one more try for any still waiting). */
  async drain(): Promise<void> {
    await this.queue.add(() => this.flush());
  }

  /**
   * Stop taking captions, try once more (for at most `giveUpAfterMs`, and no longer than `deadline`) to deliver what
   * waits, then skip the rest, counted and logged. Nothing of the sender runs after it resolves. Safe to call twice.
   */
  close(deadline?: AbortSignal): Promise<void> {
    if (deadline?.aborted) this.halt.abort();
    else deadline?.addEventListener('abort', () => this.halt.abort(), { once: true });
    this.closing ??= (async () => {
      this.closed = true;
      clearTimeout(this.retryTimer);
      const budget = setTimeout(() => this.halt.abort(), this.giveUpAfterMs);
      await this.queue.add(() => this.flush());
      clearTimeout(budget);
      this.halt.abort();
      const unsent = [...(this.open?.captions ?? []), ...this.backlog.splice(0)];
      this.open = undefined;
      if (unsent.length > 0) this.drop(unsent, 'unsent', 'still unsent when the sender closed');
    })();
    return this.closing;
  }

  private get halted(): boolean {
    return this.halt.signal.aborted;
  }

  private async resumeSeq(): Promise<void> {
    const { seqStore, log } = this.options;
    const url = this.url;
    const stored = await seqStore.read(url.stateKey);
    const remote = await this.fetchRemoteSeq();
    // Zoom's own count wins when it answers: the state dir may hold a seq taken just before a crash that Zoom never
    // got, and skipping it would leave a gap. Without Zoom's answer the state dir is the only safe floor.
    this.lastSeq = remote ?? stored ?? 0;
    this.stats.lastSeq = this.lastSeq;
    log.info({ destination: url.redacted, storedSeq: stored, zoomSeq: remote, nextSeq: this.lastSeq + 1 }, 'caption seq resumed');
  }

  private async fetchRemoteSeq(): Promise<number | undefined> {
    const { log } = this.options;
    const url = this.url;
    const seqUrl = url.seqUrl();
    if (this.halted || seqUrl === undefined) return undefined;
    const deadline = deadlineSignal(this.requestTimeoutMs, this.halt.signal);
    try {
      const response = await request(seqUrl, { method: 'GET', signal: deadline.signal });
      const body = (await response.body.text()).trim();
      if (response.statusCode !== 200) {
        log.info({ destination: url.redacted, status: response.statusCode }, 'Zoom did not answer GET seq');
        return undefined;
      }
      const seq = Number(body);
      return Number.isSafeInteger(seq) && seq >= 0 ? seq : undefined;
    } catch (err) {
      log.info({ destination: url.redacted, err: errorMessage(err) }, 'GET seq failed');
      return undefined;
    } finally {
      deadline.clear();
    }
  }

  /** Deliver what waits, in order, until it is all out or Zoom stops answering (then a retry is scheduled). */
  private async flush(): Promise<void> {
    await this.start();
    const { log } = this.options;
    while (!this.halted && (this.open || this.backlog.length > 0)) {
      this.skipStale();
      this.open ??= await this.openNextPost();
      const post = this.open;
      if (!post) return;
      // A POST whose captions were already given up only holds its seq: Zoom's GET seq settles it without showing
      // readers text that old, and only when Zoom cannot say is it sent again, unchanged.
      if (post.captions.length === 0 && !this.url.ordersBySeq) {
        // A service without seq needs no POST kept for its seq: nothing of it is worth showing any more.
        this.open = undefined;
        continue;
      }
      if (post.captions.length === 0 && this.releaseHeldSeq(post, await this.fetchRemoteSeq())) continue;
      if (this.halted) return;
      const outcome = await this.postWithRetries(post);
      if (outcome.ok) {
        this.settle(post, outcome.attempts, Date.now());
        continue;
      }
      if (this.halted) return;
      this.stats.retryBudgetsSpent += 1;
      const zoomSeq = await this.fetchRemoteSeq();
      if (zoomSeq !== undefined && zoomSeq >= post.seq) {
        this.stats.confirmedBySeq += 1;
        log.info({ destination: this.url.redacted, seq: post.seq, zoomSeq }, 'caption answer was lost, but Zoom has it (GET seq)');
        this.settle(post, outcome.attempts, Date.now());
        continue;
      }
      if (zoomSeq !== undefined) {
        // Zoom never got it: the seq is free again, and the text goes out with the next POST.
        this.lastSeq = post.seq - 1;
        this.stats.lastSeq = this.lastSeq;
        this.stats.carried += post.captions.length;
        for (const caption of post.captions) this.carriedTexts.add(caption);
        this.backlog.unshift(...post.captions);
        this.open = undefined;
      }
      log.warn(
        { destination: this.url.redacted, seq: post.seq, zoomSeq, attempts: outcome.attempts, code: outcome.error.code, err: outcome.error.message },
        zoomSeq === undefined ? `caption not confirmed and ${this.url.service} cannot say whether it has it: retrying the same POST` : 'caption not delivered: it goes out with the next one',
      );
      this.scheduleRetry();
      return;
    }
  }

  /**
   * Gives up the captions that waited too long, also those of the open POST (which keeps its seq and body): during
   * a long outage the backlog stays short, every caption's promise settles, and the newest text goes first on return.
   */
  private skipStale(): void {
    const now = Date.now();
    const waitingSince = (caption: QueuedCaption): number => (this.options.everyLineAlone ? Math.max(caption.enqueuedAt, this.lastAcceptedAt) : caption.enqueuedAt);
    const isStale = (caption: QueuedCaption): boolean => now - waitingSince(caption) > this.maxQueueDelayMs;
    const stale: QueuedCaption[] = [];
    if (this.open && this.open.captions.length > 0 && this.open.captions.every(isStale)) stale.push(...this.open.captions.splice(0));
    while (this.backlog.length > 0 && isStale(this.backlog[0]!)) stale.push(this.backlog.shift()!);
    if (stale.length > 0) this.drop(stale, 'skipped', `waited more than ${this.maxQueueDelayMs} ms`);
  }

  /** Whether Zoom's seq settled a POST that was kept only for its seq (true: it is out of the way). */
  private releaseHeldSeq(post: OpenPost, zoomSeq: number | undefined): boolean {
    if (zoomSeq === undefined) return false;
    if (zoomSeq < post.seq) {
      // Zoom never got it: the seq is free for the newest text.
      this.lastSeq = post.seq - 1;
      this.stats.lastSeq = this.lastSeq;
    } else {
      this.options.log.info({ destination: this.url.redacted, seq: post.seq, zoomSeq }, 'Zoom had a caption counted as never reached (its answer was lost)');
    }
    this.open = undefined;
    return true;
  }

  /** Takes the next captions that fit in one POST; gives it a seq. */
  private async openNextPost(): Promise<OpenPost | undefined> {
    if (this.backlog.length === 0) return undefined;

    const captions = [this.backlog.shift()!];
    let lines = lineCount(captions[0]!.text);
    // Only late text is joined to what follows (so it reaches the reader with the next caption); captions that are
    // merely queued keep their own POST, as the display stage paced them.
    const late = this.carriedTexts.has(captions[0]!) && !this.options.everyLineAlone;
    while (late && this.backlog.length > 0 && lines + lineCount(this.backlog[0]!.text) <= this.maxLines) {
      lines += lineCount(this.backlog[0]!.text);
      captions.push(this.backlog.shift()!);
    }
    const seq = (this.lastSeq ?? 0) + 1;
    this.lastSeq = seq;
    this.stats.lastSeq = seq;
    try {
      await this.options.seqStore.write(this.url.stateKey, seq, this.url.redacted);
    } catch (err) {
      // Captions matter more than the crash-safety of one seq; Zoom's GET seq is the backstop on restart.
      this.options.log.error({ err, destination: this.url.redacted, seq }, 'could not persist seq; posting anyway');
    }
    return { seq, body: this.url.body(captions.map((c) => c.text), captions[0]!.saidAt ?? captions[0]!.enqueuedAt), captions };
  }

  private settle(post: OpenPost, attempts: number, acceptedAt: number): void {
    this.open = undefined;
    this.lastAcceptedAt = acceptedAt;
    if (post.captions.length === 0) {
      this.options.log.info({ destination: this.url.redacted, seq: post.seq }, 'Zoom accepted a caption counted as never reached (it was sent again to hold its seq)');
      return;
    }
    this.stats.accepted += 1;
    for (const caption of post.captions) {
      const carried = this.carriedTexts.delete(caption);
      caption.settle({ status: 'accepted', seq: post.seq, text: caption.text, attempts, enqueuedAt: caption.enqueuedAt, acceptedAt, ...(carried ? { carried } : {}) });
    }
  }

  /** Settles captions that will never reach Zoom, each counted under what happened to it. */
  private drop(captions: QueuedCaption[], status: 'skipped' | 'unsent', why: string): void {
    this.stats[status] += captions.length;
    this.options.log.warn({ destination: this.url.redacted, captions: captions.length, why }, `captions ${status}: they never reached ${this.url.service}`);
    for (const caption of captions) {
      this.carriedTexts.delete(caption);
      const error = new BridgeError(status === 'skipped' ? 'ZOOM_CAPTION_SKIPPED' : 'ZOOM_CAPTION_UNSENT', `never reached ${this.url.service}: ${why}`);
      caption.settle({ status, text: caption.text, attempts: 0, enqueuedAt: caption.enqueuedAt, error });
    }
  }

  /** Zoom is not answering: try again soon even if no new caption comes to trigger it. */
  private scheduleRetry(): void {
    if (this.closed) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.queue.add(() => this.flush()), this.backoffBaseMs * 10);
  }

  private async postWithRetries(post: OpenPost): Promise<{ ok: true; attempts: number } | { ok: false; attempts: number; error: BridgeError }> {
    const { lang, log } = this.options;
    const postUrl = this.url.postUrl(post.seq, lang);
    const firstAttemptAt = Date.now();
    // Randomized binary exponential backoff within the caption's budget: [0..100], [0..200], [0..400] ms ...
    const waits = new Backoff({ initialMs: this.backoffBaseMs, jitter: true }, this.random);
    for (let attempt = 1; ; attempt++) {
      const remaining = this.giveUpAfterMs - (Date.now() - firstAttemptAt);
      const outcome = await this.postOnce(postUrl, post.body, Math.max(1, Math.min(this.requestTimeoutMs, remaining)));
      if (outcome.ok) return { ok: true, attempts: attempt };
      const backoff = waits.next()!;
      if (this.halted || Date.now() - firstAttemptAt + backoff >= this.giveUpAfterMs) {
        const error = new BridgeError('ZOOM_RETRIES_SPENT', `no success for seq ${post.seq} after ${attempt} attempts: ${outcome.error.message}`, { cause: outcome.error,
        });
        return { ok: false, attempts: attempt, error };
      }
      this.stats.retries += 1;
      log.debug({ destination: this.url.redacted, seq: post.seq, attempt, code: outcome.error.code, backoffMs: Math.round(backoff) }, 'caption retry');
      await pause(backoff, this.halt.signal);
    }
  }

  private async postOnce(postUrl: string, text: string, timeoutMs: number): Promise<{ ok: true } | { ok: false; error: BridgeError }> {
    const deadline = deadlineSignal(timeoutMs, this.halt.signal);
    const signal = deadline.signal;
    const sentAt = Date.now();
    try {
      const response = await request(postUrl, {
        method: 'POST',
        headers: { 'content-type': this.url.contentType },
        body: text,
        signal,
      });
      const body = await response.body.text();
      const receivedAt = Date.now();
      if (response.statusCode >= 200 && response.statusCode < 300) {
        this.recordServerTime(body, sentAt, receivedAt);
        return { ok: true };
      }
      return {
        ok: false,
        error: new BridgeError('ZOOM_HTTP_STATUS', `${this.url.service} answered ${response.statusCode}: ${body.slice(0, 200).trim()}${this.url.statusMeans(response.statusCode)}`),
      };
    } catch (err) {
      if (this.halted) return { ok: false, error: new BridgeError('CLOSED', 'the sender closed while the request was under way') };
      if (signal.aborted) {
        return { ok: false, error: new BridgeError('ZOOM_TIMEOUT', `no answer within ${timeoutMs} ms`) };
      }
      return { ok: false, error: new BridgeError('ZOOM_NETWORK', errorMessage(err), { cause: err }) };
    } finally {
      deadline.clear();
    }
  }

  /** NTP-style: the answer with the shortest round trip bounds the offset most tightly. */
  private recordServerTime(body: string, sentAt: number, receivedAt: number): void {
    const serverMs = parseZoomTimestamp(body);
    if (serverMs === undefined) return;
    const rttMs = receivedAt - sentAt;
    this.clockSamples.push({ offsetMs: serverMs - (sentAt + rttMs / 2), rttMs });
    if (this.clockSamples.length > CLOCK_SAMPLES_KEPT) this.clockSamples.shift();
    const best = this.clockSamples.reduce((a, b) => (b.rttMs < a.rttMs ? b : a));
    this.stats.clockOffsetMs = Math.round(best.offsetMs);
  }
}

function lineCount(text: string): number {
  return text.split('\n').length;
}

/** Zoom answers a timestamp; accept ISO-8601 (zone-less means UTC) or epoch seconds/milliseconds. */
export function parseZoomTimestamp(body: string): number | undefined {
  const text = body.trim();
  if (/^\d+(\.\d+)?$/.test(text)) {
    const value = Number(text);
    return value < 1e11 ? value * 1000 : value;
  }
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(text);
  const parsed = Date.parse(hasZone ? text : `${text}Z`);
  return Number.isNaN(parsed) ? undefined : parsed;
}
