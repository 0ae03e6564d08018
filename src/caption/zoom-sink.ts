import { errorMessage, isBridgeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ZoomApiClient } from '../zoom-api/client.js';
import { describeTarget, fieldsOf, type ZoomTarget } from '../zoom-api/target.js';
import { captionUrlExpiry, hashKey, parseCaptionUrl, parseTeamsCartUrl, parseYouTubeCaptionUrl, type CaptionService, type CaptionUrl } from './caption-url.js';
import { SeqStore } from './seq-store.js';
import { emptySenderStats, type CaptionSink, type OutgoingCaption, type SenderStats, type SinkResult } from './sink.js';
import { ZoomCaptionSender } from './zoom-sender.js';
import { Backoff, pause } from '../util/backoff.js';

/**
 * Where a Zoom destination's Caption URL comes from: as given in the config (a person copied it from Zoom), or
 * from the Zoom API for a meeting or webinar (fetched when it starts, renewed before it expires).
 */
export type CaptionUrlSource = { url: string } | { target: ZoomTarget; api: ZoomApiClient };

export interface ZoomSinkOptions {
  source: CaptionUrlSource;
  /** The service a given URL belongs to (Zoom unless said): Teams' CART link and YouTube's ingestion URL post alike. */
  service?: CaptionService;
  lang: string;
  stateDir: string;
  requestTimeoutMs: number;
  giveUpAfterMs: number;
  /** Lines one POST may hold (the display's): captions Zoom never got are joined to the next one within it. */
  maxLines: number;
  /** How long a caption waits for a Caption URL (meeting not started yet) before it is skipped. */
  maxUrlWaitMs?: number;
  /** Never renew sooner than this after fetching (a URL with a very short life must not cause a request storm). */
  minRenewMs?: number;
}

/** How a URL given in the config is read, by the service it belongs to. */
const URL_PARSERS: Record<CaptionService, (raw: string) => CaptionUrl> = { Zoom: (raw) => parseCaptionUrl(raw), Teams: parseTeamsCartUrl, YouTube: parseYouTubeCaptionUrl };

/** Polling for a meeting that has not started: 5 s, doubling to at most a minute (the API limit is per account). */
const NOT_STARTED_FIRST_WAIT_MS = 5_000;
const NOT_STARTED_MAX_WAIT_MS = 60_000;
/** Renew the Caption URL when this share of its lifetime has passed. */
const RENEW_AT_LIFETIME_SHARE = 0.8;

/**
 * A Zoom destination: one sender for the meeting's whole life, so seq only ever goes up, across renewed URLs and
 * meeting restarts. Its Caption URL is given, or comes from the Zoom API (see CaptionUrlSource): then captions
 * wait for it up to `maxUrlWaitMs` while the meeting has not started.
 */
export class ZoomSink implements CaptionSink {
  /** zoom, teams or youtube. */
  readonly kind: string;
  private sender: ZoomCaptionSender | undefined;
  private haveUrl = false;
  private urlWaiters: (() => void)[] = [];
  private wakeAcquire: (() => void) | undefined;
  private acquiring: Promise<void> | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Where the Caption URL is fetched from; undefined for a URL given in the config. */
  private readonly fetchFrom: { target: ZoomTarget; api: ZoomApiClient } | undefined;
  /** The seq state's name for an API-sourced URL (a given URL names its own). */
  private readonly stateKey: string | undefined;
  /** Why there is no Caption URL yet, in words the user can act on (shown in /meetings). */
  private problem: string | undefined;
  /** Captions that never reached Zoom because there was no Caption URL in time (the sender counts the rest). */
  private skippedWithoutUrl = 0;

  constructor(
    private readonly options: ZoomSinkOptions,
    private readonly log: Logger,
  ) {
    const { source } = options;
    this.kind = (options.service ?? 'Zoom').toLowerCase();
    if ('url' in source) {
      this.fetchFrom = undefined;
      this.stateKey = undefined;
      this.sender = this.newSender(URL_PARSERS[options.service ?? 'Zoom'](source.url));
      this.haveUrl = true;
      return;
    }
    this.fetchFrom = source;
    // Named as before targets had a kind: the seq state saved under this key must be found after an upgrade.
    this.stateKey = hashKey(`zoom-api:${JSON.stringify(fieldsOf(source.target))}`);
  }

  get description(): string {
    return this.fetchFrom ? `zoom ${describeTarget(this.fetchFrom.target)}` : `${this.kind} ${this.sender!.destination}`;
  }

  /** A given URL: resume its seq. From the API: does not wait for the meeting; the URL is fetched in the background. */
  async start(): Promise<void> {
    if (!this.fetchFrom) return this.sender!.start();
    this.acquire();
  }

  /**
   * started (webhook): fetch the Caption URL now instead of at the next poll. ended: deliver what is queued, then
   * forget the URL; a new instance of the meeting gets a new one.
   */
  async onZoomMeeting(event: 'started' | 'ended'): Promise<void> {
    // A given URL stays the one to use: only a person can change it.
    if (!this.fetchFrom) return;
    if (event === 'started') {
      if (this.haveUrl) return;
      this.acquire();
      this.wakeAcquire?.();
      return;
    }
    await this.sender?.drain();
    this.haveUrl = false;
    clearTimeout(this.renewTimer);
  }

  async deliver(caption: OutgoingCaption): Promise<SinkResult> {
    if (!(await this.waitForUrl(this.options.maxUrlWaitMs ?? 20_000))) {
      this.skippedWithoutUrl += 1;
      this.log.warn({ destination: this.description }, 'caption skipped: no Caption URL yet (meeting not started?)');
      return { status: 'skipped' };
    }
    // When its first word was said: YouTube shows a caption at that moment of the video.
    const result = await this.sender!.send(caption.text, caption.spokenAt - (caption.end - caption.start) * 1000);
    return { status: result.status, seq: result.seq, confirmedAt: result.acceptedAt };
  }

  senderStats(): SenderStats | undefined {
    const stats = this.sender?.stats;
    if (this.skippedWithoutUrl === 0) return stats;
    const base = stats ?? emptySenderStats();
    return { ...base, skipped: base.skipped + this.skippedWithoutUrl };
  }

  status(): string | undefined {
    return this.problem;
  }

  fence(): void {
    void this.close(AbortSignal.abort());
  }

  async close(deadline?: AbortSignal): Promise<void> {
    if (this.closed) return this.sender?.close(deadline);
    this.closed = true;
    clearTimeout(this.renewTimer);
    this.wakeAcquire?.();
    for (const waiter of this.urlWaiters.splice(0)) waiter();
    await this.acquiring;
    await this.sender?.close(deadline);
  }

  private acquire(): void {
    this.acquiring ??= this.acquireLoop().finally(() => (this.acquiring = undefined));
  }

  private newSender(url: CaptionUrl): ZoomCaptionSender {
    return new ZoomCaptionSender({
      url,
      lang: this.options.lang,
      seqStore: new SeqStore(this.options.stateDir, this.log),
      log: this.log,
      requestTimeoutMs: this.options.requestTimeoutMs,
      giveUpAfterMs: this.options.giveUpAfterMs,
      maxLines: this.options.maxLines,
    });
  }

  private async acquireLoop(): Promise<void> {
    const waits = new Backoff({ initialMs: NOT_STARTED_FIRST_WAIT_MS, maxMs: NOT_STARTED_MAX_WAIT_MS });
    while (!this.closed && !this.haveUrl) {
      let waitMs = NOT_STARTED_MAX_WAIT_MS;
      try {
        await this.install(await this.fetchUrl());
        return;
      } catch (err) {
        const code = isBridgeError(err) ? err.code : undefined;
        const message = errorMessage(err);
        if (isBridgeError(err) && err.retryable) {
          waitMs = waits.next()!;
          this.log.info({ destination: this.description, code, retryInMs: waitMs }, 'Caption URL not available yet');
        } else {
          // A person has to change a setting, a scope or the config; they can do it while the bridge runs, so keep
          // asking (slowly) instead of needing a restart. Said once per distinct problem, not every minute.
          if (message !== this.problem) this.log.error({ destination: this.description, code, err: message }, 'cannot get the Caption URL');
        }
        this.problem = message;
      }
      // Woken early by meeting.started or close; the wait's timer goes with it.
      const wake = new AbortController();
      this.wakeAcquire = () => wake.abort();
      await pause(waitMs, wake.signal);
    }
  }

  private async install(raw: string): Promise<void> {
    const issuedAt = Date.now();
    const url = parseCaptionUrl(raw, this.stateKey);
    if (this.sender) this.sender.setUrl(url);
    else {
      this.sender = this.newSender(url);
      await this.sender.start();
    }
    this.haveUrl = true;
    this.problem = undefined;
    this.log.info({ destination: url.redacted }, 'Caption URL obtained from the Zoom API');
    for (const waiter of this.urlWaiters.splice(0)) waiter();

    const expiresAt = captionUrlExpiry(raw, issuedAt);
    if (expiresAt !== undefined) {
      const renewIn = Math.max(this.options.minRenewMs ?? 30_000, (expiresAt - issuedAt) * RENEW_AT_LIFETIME_SHARE);
      clearTimeout(this.renewTimer);
      this.renewTimer = setTimeout(() => void this.renew(), renewIn);
      this.renewTimer.unref();
    }
  }

  /** A fresh URL before the old one expires; the old one keeps working until the new one is in. */
  private async renew(): Promise<void> {
    try {
      await this.install(await this.fetchUrl());
    } catch (err) {
      this.log.warn({ destination: this.description, err: errorMessage(err) }, 'Caption URL renewal failed; retrying in 60 s');
      this.renewTimer = setTimeout(() => void this.renew(), 60_000);
      this.renewTimer.unref();
    }
  }

  /** Only called for a URL from the API. */
  private fetchUrl(): Promise<string> {
    return this.fetchFrom!.api.captionUrl(this.fetchFrom!.target);
  }

  private waitForUrl(timeoutMs: number): Promise<boolean> {
    if (this.haveUrl) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter = (): void => {
        clearTimeout(timer);
        resolve(this.haveUrl);
      };
      const timer = setTimeout(() => {
        const index = this.urlWaiters.indexOf(waiter);
        if (index >= 0) this.urlWaiters.splice(index, 1);
        resolve(false);
      }, timeoutMs);
      this.urlWaiters.push(waiter);
    });
  }
}
