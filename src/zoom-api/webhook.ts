import { createHmac, timingSafeEqual } from 'node:crypto';

export interface ZoomWebhookEvent {
  event: string;
  event_ts?: number;
  payload?: {
    plainToken?: string;
    object?: { id?: string | number; uuid?: string; topic?: string };
    /** RTMS events carry their fields flat in the payload. */
    meeting_uuid?: unknown;
    webinar_uuid?: unknown;
    /** Since May 2026 rtms_started names the meeting (or webinar) too. */
    meeting_id?: unknown;
    webinar_id?: unknown;
    rtms_stream_id?: unknown;
    server_urls?: unknown;
    stop_reason?: unknown;
  };
}

export type WebhookVerdict = { ok: true; event: ZoomWebhookEvent } | { ok: false; status: number; reason: string };

/** Zoom's own window is not published; five minutes covers its retries and ordinary clock skew. */
const MAX_SKEW_MS = 5 * 60_000;

/**
 * Checks Zoom's webhook signature: x-zm-signature = "v0=" + hex HMAC-SHA256(secret, "v0:{timestamp}:{raw body}").
 * Stale timestamps and signatures already seen are refused. The URL-validation challenge is answered only for a
 * signed request: answering unsigned ones would hand anyone an HMAC of their choosing, that is, a valid
 * signature for any body.
 */
export class ZoomWebhookVerifier {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly secret: string,
    private readonly now: () => number = Date.now,
  ) {}

  verify(headers: Record<string, string | string[] | undefined>, rawBody: Buffer): WebhookVerdict {
    const signature = header(headers, 'x-zm-signature');
    const timestamp = header(headers, 'x-zm-request-timestamp');
    if (!signature || !timestamp) return { ok: false, status: 401, reason: 'unsigned request' };
    const expected = `v0=${this.hmac(`v0:${timestamp}:${rawBody.toString('utf8')}`)}`;
    if (!safeEqual(signature, expected)) return { ok: false, status: 401, reason: 'bad signature' };
    // Zoom sends seconds; accept milliseconds too rather than refuse a well-signed request.
    const sentAt = Number(timestamp) < 1e11 ? Number(timestamp) * 1000 : Number(timestamp);
    if (!Number.isFinite(sentAt) || Math.abs(this.now() - sentAt) > MAX_SKEW_MS) {
      return { ok: false, status: 401, reason: 'stale timestamp' };
    }
    this.forgetOld();
    if (this.seen.has(signature)) return { ok: false, status: 409, reason: 'replayed request' };
    this.seen.set(signature, sentAt);
    let event: ZoomWebhookEvent;
    try {
      event = JSON.parse(rawBody.toString('utf8')) as ZoomWebhookEvent;
    } catch {
      return { ok: false, status: 400, reason: 'body is not JSON' };
    }
    if (typeof event?.event !== 'string') return { ok: false, status: 400, reason: 'no event name' };
    return { ok: true, event };
  }

  /** The answer to endpoint.url_validation. */
  validationResponse(plainToken: string): { plainToken: string; encryptedToken: string } {
    return { plainToken, encryptedToken: this.hmac(plainToken) };
  }

  private hmac(message: string): string {
    return createHmac('sha256', this.secret).update(message).digest('hex');
  }

  /** A signature older than the window would be refused as stale anyway. */
  private forgetOld(): void {
    const cutoff = this.now() - MAX_SKEW_MS;
    for (const [signature, sentAt] of this.seen) if (sentAt < cutoff) this.seen.delete(signature);
  }
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
