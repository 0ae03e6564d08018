import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ZoomKind, ZoomTarget } from './target.js';

export interface ZoomWebhookEvent {
  event: string;
  event_ts?: number;
  payload?: {
    plainToken?: string;
    object?: { id?: string | number; uuid?: string; topic?: string; session_id?: unknown; session_name?: unknown; session_key?: unknown };
    /** RTMS events carry their fields flat in the payload. */
    meeting_uuid?: unknown;
    webinar_uuid?: unknown;
    /** Since May 2026 rtms_started names the meeting (or webinar) too. */
    meeting_id?: unknown;
    webinar_id?: unknown;
    rtms_stream_id?: unknown;
    server_urls?: unknown;
    /** Video SDK session events (session.rtms_started ...) name the session instead of a meeting. */
    session_id?: unknown;
    session_key?: unknown;
    session_name?: unknown;
    stop_reason?: unknown;
  };
}

/** `signedWith`: which of the verifier's secrets (apps) signed the request; its answer to a challenge uses the same. */
export type WebhookVerdict = { ok: true; event: ZoomWebhookEvent; signedWith: number } | { ok: false; status: number; reason: string };

/** Zoom's own window is not published; five minutes covers its retries and ordinary clock skew. */
export const WEBHOOK_WINDOW_MS = 5 * 60_000;

/**
 * Signatures already accepted, kept beyond this process: in the state dir (a restart), in etcd (a fleet, where a
 * replay may reach another process). `firstTime` records a signature and says whether it was new; a store that
 * cannot answer (etcd away) says undefined, and the others decide (seenEverywhere).
 */
export interface SeenSignatures {
  firstTime(signature: string, sentAt: number): Promise<boolean | undefined>;
}

/**
 * Signatures (or their keys) accepted within the window, in memory: the verifier's own record, and what a store that
 * keeps them beyond the process (the state dir) holds while it runs. Checked and recorded in one synchronous step, so
 * a second delivery of the same request, arriving meanwhile, is caught.
 */
export class SeenInWindow implements SeenSignatures {
  private readonly seen = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Records `key`; false when it was recorded already within the window. */
  add(key: string, sentAt: number): boolean {
    this.forgetOld();
    if (this.seen.has(key)) return false;
    this.seen.set(key, sentAt);
    return true;
  }

  /** What is within the window now. */
  entries(): [string, number][] {
    this.forgetOld();
    return [...this.seen];
  }

  get size(): number {
    return this.seen.size;
  }

  async firstTime(signature: string, sentAt: number): Promise<boolean> {
    return this.add(signature, sentAt);
  }

  /** A signature older than the window would be refused as stale anyway. */
  private forgetOld(): void {
    const cutoff = this.now() - WEBHOOK_WINDOW_MS;
    for (const [key, sentAt] of this.seen) if (sentAt < cutoff) this.seen.delete(key);
  }
}

/**
 * Checks Zoom's webhook signature: x-zm-signature = "v0=" + hex HMAC-SHA256(secret, "v0:{timestamp}:{raw body}").
 * Stale timestamps and signatures already seen (here, before a restart, or by another process of a fleet) are
 * refused. The URL-validation challenge is answered only for a signed request: answering unsigned ones would hand
 * anyone an HMAC of their choosing, that is, a valid signature for any body. Zoom issues RTMS to a General app and
 * account-level API access to a Server-to-Server app, each with its own Secret Token, and both may send their events
 * to the one endpoint: a request is taken when any of the secrets signed it.
 */
export class ZoomWebhookVerifier {
  private readonly secrets: readonly string[];

  constructor(
    secrets: string | readonly string[],
    private readonly now: () => number = Date.now,
    /** Where accepted signatures are recorded: this process's memory by default; the state dir and etcd in the daemon. */
    private readonly seen: SeenSignatures = new SeenInWindow(now),
  ) {
    this.secrets = typeof secrets === 'string' ? [secrets] : secrets;
  }

  async verify(headers: Record<string, string | string[] | undefined>, rawBody: Buffer): Promise<WebhookVerdict> {
    const signature = header(headers, 'x-zm-signature');
    const timestamp = header(headers, 'x-zm-request-timestamp');
    if (!signature || !timestamp) return { ok: false, status: 401, reason: 'unsigned request' };
    const signed = `v0:${timestamp}:${rawBody.toString('utf8')}`;
    const signedWith = this.secrets.findIndex((_, i) => safeEqual(signature, `v0=${this.hmac(signed, i)}`));
    if (signedWith < 0) return { ok: false, status: 401, reason: 'bad signature' };
    // Zoom sends seconds; accept milliseconds too rather than refuse a well-signed request.
    const sentAt = Number(timestamp) < 1e11 ? Number(timestamp) * 1000 : Number(timestamp);
    if (!Number.isFinite(sentAt) || Math.abs(this.now() - sentAt) > WEBHOOK_WINDOW_MS) {
      return { ok: false, status: 401, reason: 'stale timestamp' };
    }
    if ((await this.seen.firstTime(signature, sentAt)) === false) return { ok: false, status: 409, reason: 'replayed request' };
    let event: ZoomWebhookEvent;
    try {
      event = JSON.parse(rawBody.toString('utf8')) as ZoomWebhookEvent;
    } catch {
      return { ok: false, status: 400, reason: 'body is not JSON' };
    }
    if (typeof event?.event !== 'string') return { ok: false, status: 400, reason: 'no event name' };
    return { ok: true, event, signedWith };
  }

  /** The answer to endpoint.url_validation, with the secret of the app that asked. */
  validationResponse(plainToken: string, signedWith = 0): { plainToken: string; encryptedToken: string } {
    return { plainToken, encryptedToken: this.hmac(plainToken, signedWith) };
  }

  /** Zoom checking the endpoint (endpoint.url_validation): the reply it expects. Undefined for any other event. */
  challengeReply(event: ZoomWebhookEvent, signedWith = 0): { status: number; body: object } | undefined {
    if (event.event !== 'endpoint.url_validation') return undefined;
    const plainToken = event.payload?.plainToken;
    if (typeof plainToken !== 'string') return { status: 400, body: { error: 'no plainToken' } };
    return { status: 200, body: this.validationResponse(plainToken, signedWith) };
  }

  private hmac(message: string, secret: number): string {
    return createHmac('sha256', this.secrets[secret]!).update(message).digest('hex');
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

/** What a verified Zoom event means to the bridge; events it does not act on are `other`. */
export type ZoomNotice =
  | { type: 'lifecycle'; target: ZoomTarget; what: 'started' | 'ended'; instanceUuid?: string }
  | { type: 'rtms'; kind: ZoomKind; what: 'started' | 'stopped' | 'interrupted'; instanceUuid: string; streamId: string; zoomId?: string; serverUrls?: string; stop?: RtmsStop }
  | { type: 'other'; event: string; problem?: string; zoomId?: string; instanceUuid?: string };

/** What a verified event of a Zoom Video SDK app says of one of its sessions (/zoom/videosdk/webhook). */
export type SessionNotice =
  | { type: 'session'; what: 'started' | 'ended'; session: SessionNames }
  | { type: 'session-rtms'; what: 'started' | 'stopped' | 'interrupted'; session: SessionNames; streamId: string; serverUrls?: string; stop?: RtmsStop }
  | { type: 'other'; event: string; problem?: string };

/** How Zoom names a Video SDK session in its events: its id always, its name and the app's key when it says them. */
export interface SessionNames {
  id: string;
  name?: string;
  key?: string;
}

export interface RtmsStop {
  reason: unknown;
  /** Zoom's failover page: these reasons are a full RTMS restart, and a new rtms_started follows. */
  restarts: boolean;
}

/** The scope that lets the app with RTMS take a meeting's (webinar's) audio. */
export const rtmsAudioScope = (kind: ZoomKind): string => `${kind}:read:${kind}_audio`;

/** The event subscriptions each way of getting a meeting's audio needs (for --check and the docs). */
export const EVENT_SUBSCRIPTIONS = {
  /** The stream's own events, sent by the app that has RTMS (with two apps, the General app: rtmsApp). */
  rtmsStream: (kind: ZoomKind): string[] => [`${kind}.rtms_started`, `${kind}.rtms_stopped`, `${kind}.rtms_interrupted`],
  /** The meeting's start (it names the meeting before its stream does) and end; for RTMS, from the same app as the stream's. */
  meetingLife: (kind: ZoomKind): string[] => [`${kind}.started`, `${kind}.ended`],
  livestream: (kind: ZoomKind): string[] => EVENT_SUBSCRIPTIONS.meetingLife(kind),
  /** A Video SDK app's sessions: the stream's events, the session's end, and its start when the bridge starts RTMS. */
  videoSdk: (startsRtms: boolean): string[] => ['session.rtms_started', 'session.rtms_stopped', 'session.rtms_interrupted', ...(startsRtms ? ['session.started'] : []), 'session.ended'],
};

/** Zoom's failover page: these stop reasons are a full RTMS restart, and a new rtms_started follows. */
function rtmsStopOf(what: string, reason: unknown): { stop: RtmsStop } | Record<string, never> {
  return what === 'stopped' ? { stop: { reason, restarts: typeof reason === 'number' && ((reason >= 10 && reason <= 19) || reason === 24) } } : {};
}

/** Reads a verified event of a Video SDK app: which session it concerns and what happened. */
export function readSessionEvent(event: ZoomWebhookEvent): SessionNotice {
  const payload = event.payload ?? {};
  const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
  const rtms = /^session\.rtms_(started|stopped|interrupted)$/.exec(event.event);
  if (rtms) {
    const what = rtms[1] as 'started' | 'stopped' | 'interrupted';
    const id = text(payload.session_id);
    const streamId = text(payload.rtms_stream_id);
    if (!id || !streamId) return { type: 'other', event: event.event, problem: 'session RTMS event without a session id or stream id' };
    const session: SessionNames = { id, ...optional('name', text(payload.session_name)), ...optional('key', text(payload.session_key)) };
    return { type: 'session-rtms', what, session, streamId, ...optional('serverUrls', text(payload.server_urls)), ...rtmsStopOf(what, payload.stop_reason) };
  }
  const lifecycle = /^session\.(started|ended)$/.exec(event.event);
  const object = payload.object ?? {};
  const id = text(object.session_id) ?? text(object.id);
  if (lifecycle && id) {
    return { type: 'session', what: lifecycle[1] as 'started' | 'ended', session: { id, ...optional('name', text(object.session_name)), ...optional('key', text(object.session_key)) } };
  }
  return { type: 'other', event: event.event };
}

const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } => (value === undefined ? {} : ({ [key]: value } as { [P in K]: V }));

/** Reads a verified event: which meeting or webinar it concerns and what happened, in the bridge's terms. */
export function readZoomEvent(event: ZoomWebhookEvent): ZoomNotice {
  const payload = event.payload ?? {};
  const rtms = /^(meeting|webinar)\.rtms_(started|stopped|interrupted)$/.exec(event.event);
  if (rtms) {
    const kind = rtms[1] as ZoomKind;
    const what = rtms[2] as 'started' | 'stopped' | 'interrupted';
    const uuid = kind === 'meeting' ? payload.meeting_uuid : payload.webinar_uuid;
    const streamId = payload.rtms_stream_id;
    if (typeof uuid !== 'string' || typeof streamId !== 'string') return { type: 'other', event: event.event, problem: 'RTMS event without an instance uuid or stream id' };
    // Since May 2026 Zoom names the meeting in the event; older events need the instance looked up.
    const named = kind === 'meeting' ? payload.meeting_id : payload.webinar_id;
    const zoomId = typeof named === 'number' || typeof named === 'string' ? String(named) : undefined;
    const reason = payload.stop_reason;
    return {
      type: 'rtms',
      kind,
      what,
      instanceUuid: uuid,
      streamId,
      ...(zoomId === undefined ? {} : { zoomId }),
      ...(typeof payload.server_urls === 'string' ? { serverUrls: payload.server_urls } : {}),
      ...rtmsStopOf(what, reason),
    };
  }
  const id = payload.object?.id === undefined ? undefined : String(payload.object.id);
  const instanceUuid = typeof payload.object?.uuid === 'string' ? payload.object.uuid : undefined;
  const lifecycle = /^(meeting|webinar)\.(started|ended)$/.exec(event.event);
  if (lifecycle && id !== undefined) {
    return { type: 'lifecycle', target: { kind: lifecycle[1] as ZoomKind, id }, what: lifecycle[2] as 'started' | 'ended', ...(instanceUuid ? { instanceUuid } : {}) };
  }
  return { type: 'other', event: event.event, ...(id === undefined ? {} : { zoomId: id }), ...(instanceUuid ? { instanceUuid } : {}) };
}
