import PQueue from 'p-queue';
import { request } from 'undici';
import { setTimeout as sleep } from 'node:timers/promises';
import { BridgeError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { CaptionUrl } from './caption-url.js';
import type { SeqStore } from './seq-store.js';

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
  random?: () => number;
}

export type DeliveryStatus = 'accepted' | 'gave_up' | 'stale';

export interface DeliveryResult {
  status: DeliveryStatus;
  /** Undefined only for a stale caption, which never took a seq. */
  seq?: number;
  text: string;
  attempts: number;
  enqueuedAt: number;
  /** Epoch ms when Zoom's 200 arrived. */
  acceptedAt?: number;
  error?: BridgeError;
}

export interface SenderStats {
  accepted: number;
  gaveUp: number;
  stale: number;
  retries: number;
  lastSeq: number | undefined;
  /** Zoom's clock minus ours, from the lowest-latency recent answer. */
  clockOffsetMs: number | undefined;
}

interface ClockSample {
  offsetMs: number;
  rttMs: number;
}

const CLOCK_SAMPLES_KEPT = 16;

/**
 * Posts captions to one Zoom caption URL following Zoom's rules: one caption in flight, in order; seq +1 per
 * new caption and unchanged (same body) on retries; randomized binary exponential backoff; move on after the
 * give-up budget. The seq is persisted before each first attempt, so a restart never reuses one.
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
  private started: Promise<void> | undefined;
  private closed = false;
  private readonly clockSamples: ClockSample[] = [];
  readonly stats: SenderStats = {
    accepted: 0,
    gaveUp: 0,
    stale: 0,
    retries: 0,
    lastSeq: undefined,
    clockOffsetMs: undefined,
  };

  constructor(private readonly options: ZoomSenderOptions) {
    this.url = options.url;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 2_500;
    this.giveUpAfterMs = options.giveUpAfterMs ?? 5_000;
    this.backoffBaseMs = options.backoffBaseMs ?? 100;
    this.maxQueueDelayMs = options.maxQueueDelayMs ?? 20_000;
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

  /** Queue a caption; resolves once Zoom accepted it or the sender moved on. Never rejects. */
  send(text: string): Promise<DeliveryResult> {
    const enqueuedAt = Date.now();
    if (this.closed) {
      const error = new BridgeError('CLOSED', 'caption sender is closed');
      return Promise.resolve({ status: 'gave_up', text, attempts: 0, enqueuedAt, error });
    }
    return this.queue.add(() => this.deliver(text, enqueuedAt));
  }

  /** Wait until every queued caption is delivered or given up. */
  async drain(): Promise<void> {
    await this.queue.onIdle();
  }

  /** Stop taking captions, finish what is queued. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue.onIdle();
  }

  private async resumeSeq(): Promise<void> {
    const { seqStore, log } = this.options;
    const url = this.url;
    const stored = await seqStore.read(url.stateKey);
    const remote = await this.fetchRemoteSeq();
    this.lastSeq = Math.max(stored ?? 0, remote ?? 0);
    this.stats.lastSeq = this.lastSeq;
    log.info({ destination: url.redacted, storedSeq: stored, zoomSeq: remote, nextSeq: this.lastSeq + 1 }, 'caption seq resumed');
  }

  private async fetchRemoteSeq(): Promise<number | undefined> {
    const { log } = this.options;
    const url = this.url;
    try {
      const response = await request(url.seqUrl(), {
        method: 'GET',
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
      const body = (await response.body.text()).trim();
      if (response.statusCode !== 200) {
        log.info({ destination: url.redacted, status: response.statusCode }, 'Zoom did not answer GET seq; using the state dir');
        return undefined;
      }
      const seq = Number(body);
      return Number.isSafeInteger(seq) && seq >= 0 ? seq : undefined;
    } catch (err) {
      log.info({ destination: url.redacted, err: errorMessage(err) }, 'GET seq failed; using the state dir');
      return undefined;
    }
  }

  private async deliver(text: string, enqueuedAt: number): Promise<DeliveryResult> {
    await this.start();
    const { lang, seqStore, log } = this.options;
    const url = this.url;
    if (Date.now() - enqueuedAt > this.maxQueueDelayMs) {
      this.stats.stale += 1;
      log.warn({ destination: url.redacted, queuedMs: Date.now() - enqueuedAt }, 'caption skipped: stale after a backlog');
      return { status: 'stale', text, attempts: 0, enqueuedAt };
    }

    const seq = (this.lastSeq ?? 0) + 1;
    this.lastSeq = seq;
    this.stats.lastSeq = seq;
    try {
      await seqStore.write(url.stateKey, seq, url.redacted);
    } catch (err) {
      // Captions matter more than the crash-safety of one seq; Zoom's GET seq is the backstop on restart.
      log.error({ err, destination: url.redacted, seq }, 'could not persist seq; posting anyway');
    }

    const postUrl = url.postUrl(seq, lang);
    const firstAttemptAt = Date.now();
    let lastError: BridgeError | undefined;
    for (let attempt = 1; ; attempt++) {
      const remaining = this.giveUpAfterMs - (Date.now() - firstAttemptAt);
      const outcome = await this.postOnce(postUrl, text, Math.max(1, Math.min(this.requestTimeoutMs, remaining)));
      if (outcome.ok) {
        this.stats.accepted += 1;
        return { status: 'accepted', seq, text, attempts: attempt, enqueuedAt, acceptedAt: Date.now() };
      }
      lastError = outcome.error;
      const backoff = this.random() * this.backoffBaseMs * 2 ** (attempt - 1);
      if (Date.now() - firstAttemptAt + backoff >= this.giveUpAfterMs) {
        this.stats.gaveUp += 1;
        log.warn(
          { destination: url.redacted, seq, attempts: attempt, code: lastError.code, err: lastError.message },
          'caption given up after retries',
        );
        const error = new BridgeError('ZOOM_GAVE_UP', `gave up seq ${seq} after ${attempt} attempts: ${lastError.message}`, {
          retryable: true,
          cause: lastError,
        });
        return { status: 'gave_up', seq, text, attempts: attempt, enqueuedAt, error };
      }
      this.stats.retries += 1;
      log.debug({ destination: url.redacted, seq, attempt, code: lastError.code, backoffMs: Math.round(backoff) }, 'caption retry');
      await sleep(backoff);
    }
  }

  private async postOnce(postUrl: string, text: string, timeoutMs: number): Promise<{ ok: true } | { ok: false; error: BridgeError }> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const sentAt = Date.now();
    try {
      const response = await request(postUrl, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: text,
        signal: controller.signal,
      });
      const body = await response.body.text();
      const receivedAt = Date.now();
      if (response.statusCode >= 200 && response.statusCode < 300) {
        this.recordServerTime(body, sentAt, receivedAt);
        return { ok: true };
      }
      return {
        ok: false,
        error: new BridgeError('ZOOM_HTTP_STATUS', `Zoom answered ${response.statusCode}: ${body.slice(0, 200).trim()}`, {
          retryable: true,
        }),
      };
    } catch (err) {
      if (controller.signal.aborted) {
        return { ok: false, error: new BridgeError('ZOOM_TIMEOUT', `no answer within ${timeoutMs} ms`, { retryable: true }) };
      }
      return { ok: false, error: new BridgeError('ZOOM_NETWORK', errorMessage(err), { retryable: true, cause: err }) };
    } finally {
      clearTimeout(timer);
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
