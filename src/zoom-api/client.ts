import { request } from 'undici';
import { setTimeout as sleep } from 'node:timers/promises';
import { BridgeError } from '../errors.js';
import type { Logger } from '../log.js';
import { explainApiError, explainOAuthError } from './explain.js';
import { describeTarget, type ZoomKind, type ZoomTarget } from './target.js';

/** Zoom's own hosts; zoomApi.apiBase / oauthBase point elsewhere only for a stand-in or a proxy. */
export const ZOOM_API_BASE = 'https://api.zoom.us/v2';
export const ZOOM_OAUTH_BASE = 'https://zoom.us';

export interface ZoomApiCredentials {
  accountId: string;
  clientId: string;
  clientSecret: string;
  /** https://zoom.us: where /oauth/token lives. */
  oauthBase: string;
  /** https://api.zoom.us/v2 */
  apiBase: string;
  /**
   * Set only for an app of a Zoom *master* account that captions a sub-account's meetings: every call then goes to
   * /accounts/{subAccountId}/... with :master scopes. Unset (almost everyone): the ordinary API, :admin scopes.
   */
  subAccountId?: string;
}


/** What the bridge asks the Zoom API for; each needs its own scope. */
export type ApiFeature =
  | 'meetingCaptionToken'
  | 'webinarCaptionToken'
  | 'meetingDetails'
  | 'webinarDetails'
  | 'accountSettings'
  | 'meetingLivestream'
  | 'webinarLivestream';

/** Granular scope first, then the classic scope that also grants it. */
const SCOPES: Record<ApiEdition, Record<ApiFeature, readonly string[]>> = {
  ordinary: {
    meetingCaptionToken: ['meeting:read:token:admin', 'meeting:read:admin'],
    webinarCaptionToken: ['webinar:read:token:admin', 'webinar:read:admin'],
    meetingDetails: ['meeting:read:meeting:admin', 'meeting:read:admin'],
    webinarDetails: ['webinar:read:webinar:admin', 'webinar:read:admin'],
    accountSettings: ['account:read:settings:admin', 'account:read:admin'],
    // The ordinary edition's names follow the master ones (Zoom's reference lists only those); a missing one is
    // named by Zoom's error, which the bridge shows.
    meetingLivestream: ['meeting:update:livestream:admin', 'meeting:update:livestream_status:admin', 'meeting:write:admin'],
    webinarLivestream: ['webinar:update:livestream:admin', 'webinar:update:livestream_status:admin', 'webinar:write:admin'],
  },
  master: {
    meetingCaptionToken: ['meeting:read:token:master', 'meeting:master'],
    webinarCaptionToken: ['webinar:read:token:master', 'webinar:master'],
    meetingDetails: ['meeting:read:meeting:master', 'meeting:master'],
    webinarDetails: ['webinar:read:webinar:master', 'webinar:master'],
    accountSettings: ['account:read:settings:master', 'account:master'],
    meetingLivestream: ['meeting:update:livestream:master', 'meeting:update:livestream_status:master', 'meeting:master'],
    webinarLivestream: ['webinar:update:livestream:master', 'webinar:update:livestream_status:master', 'webinar:master'],
  },
};

export type ApiEdition = 'ordinary' | 'master';

/** The feature of a meeting's or a webinar's: meetingDetails, webinarCaptionToken, ... */
export function featureOf(kind: ZoomKind, capability: 'CaptionToken' | 'Details' | 'Livestream'): ApiFeature {
  return `${kind}${capability}`;
}

/** "a and b (or the classic c)": the granular scopes a feature needs in an edition, and the classic one that covers them. */
export function describeScopes(feature: ApiFeature, edition: ApiEdition): string {
  const scopes = SCOPES[edition][feature];
  return `${scopes.slice(0, -1).join(' and ')} (or the classic ${scopes.at(-1)!})`;
}

const REQUEST_TIMEOUT_MS = 10_000;
/** Renew the access token this long before Zoom says it expires (clock skew, slow requests). */
const TOKEN_RENEW_MARGIN_MS = 120_000;
/**
 * A token refused for a missing scope is replaced only when it is older than this: a scope added to the app reaches
 * only tokens issued after it, but every call of a misconfigured app must not fetch a token of its own.
 */
const SCOPE_RECHECK_AFTER_MS = 60_000;
/** Longest wait honoured from a 429; a daily limit that resets tomorrow is reported, not slept through. */
const MAX_RATE_LIMIT_WAIT_MS = 60_000;

interface AccessToken {
  value: string;
  issuedAt: number;
  expiresAt: number;
  /** What Zoom says the token may do (the OAuth answer's `scope`); undefined when it did not say. */
  scopes: string[] | undefined;
}

/** What a call is about, for the sentence the user gets when it fails. */
export interface ApiCallContext {
  feature: ApiFeature;
  /** "meeting 123456789" */
  what: string;
  /** A resource of the account itself (see `path`). */
  ofAccount?: boolean;
}

/**
 * The Zoom API as the bridge uses it: a server-to-server OAuth access token (account_credentials grant, cached
 * until shortly before it expires) and GETs with one renewal on 401 and patience on 429. Every refusal becomes a
 * BridgeError whose message says what to change where (./explain.ts).
 */
export class ZoomApiClient {
  private token: AccessToken | undefined;
  private pendingToken: Promise<AccessToken> | undefined;

  constructor(
    private readonly credentials: ZoomApiCredentials,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  get edition(): ApiEdition {
    return this.credentials.subAccountId === undefined ? 'ordinary' : 'master';
  }

  /** The scopes a feature needs in this edition: the granular one, then the classic one that also covers it. */
  scopesFor(feature: ApiFeature): readonly string[] {
    return SCOPES[this.edition][feature];
  }

  /**
   * The path in this edition: `/meetings/1` or `/accounts/{subAccountId}/meetings/1`. Resources of the account
   * itself (`ofAccount`, e.g. /settings) sit under `/accounts/me` in the ordinary edition.
   */
  path(resource: string, ofAccount = false): string {
    const sub = this.credentials.subAccountId;
    if (sub !== undefined) return `/accounts/${encodeURIComponent(sub)}${resource}`;
    return ofAccount ? `/accounts/me${resource}` : resource;
  }

  /** Single-flight: concurrent callers share one token request. */
  async accessToken(): Promise<string> {
    return (await this.currentToken()).value;
  }

  /** The scopes granted to the app's token, when Zoom lists them. */
  async grantedScopes(): Promise<string[] | undefined> {
    return (await this.currentToken()).scopes;
  }

  private async currentToken(): Promise<AccessToken> {
    if (this.token && this.token.expiresAt - TOKEN_RENEW_MARGIN_MS > this.now()) return this.token;
    this.pendingToken ??= this.requestToken().finally(() => (this.pendingToken = undefined));
    this.token = await this.pendingToken;
    return this.token;
  }

  private async requestToken(): Promise<AccessToken> {
    const { accountId, clientId, clientSecret, oauthBase } = this.credentials;
    const url = `${oauthBase.replace(/\/$/, '')}/oauth/token?grant_type=account_credentials&account_id=${encodeURIComponent(accountId)}`;
    const response = await request(url, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const body = (await response.body.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; scope?: string; reason?: string; error?: string };
    if (response.statusCode !== 200 || !body.access_token) throw explainOAuthError(response.statusCode, body);
    this.log.info({ expiresInSeconds: body.expires_in }, 'Zoom API access token obtained');
    const scopes = typeof body.scope === 'string' ? body.scope.split(/\s+/).filter(Boolean) : undefined;
    return { value: body.access_token, issuedAt: this.now(), expiresAt: this.now() + (body.expires_in ?? 3600) * 1000, scopes };
  }

  /**
   * GET an account-relative resource (the edition's prefix is added). A 401 renews the access token once; a 429
   * waits as long as Zoom says (Retry-After) when that is reasonable.
   */
  get<T>(resource: string, context: ApiCallContext): Promise<T> {
    return this.call<T>('GET', resource, undefined, context);
  }

  /** PATCH with a JSON body (Zoom answers 204); the same renewal and rate-limit handling as `get`. */
  async patch(resource: string, body: unknown, context: ApiCallContext): Promise<void> {
    await this.call<unknown>('PATCH', resource, body, context);
  }

  private async call<T>(method: 'GET' | 'PATCH', resource: string, body: unknown, context: ApiCallContext): Promise<T> {
    let renewed = false;
    for (let rateLimited = 0; ; ) {
      const response = await request(`${this.credentials.apiBase.replace(/\/$/, '')}${this.path(resource, context.ofAccount)}`, {
        method,
        headers: { authorization: `Bearer ${await this.accessToken()}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await response.body.text();
      if (response.statusCode === 200 || response.statusCode === 204) return parseJson(text) as T;
      const answer = parseJson(text) as { code?: number; message?: string };
      if (response.statusCode === 401 && !renewed) {
        renewed = true;
        this.token = undefined;
        continue;
      }
      if (response.statusCode === 429) {
        const waitMs = retryAfterMs(response.headers['retry-after'], this.now());
        if (waitMs !== undefined && waitMs <= MAX_RATE_LIMIT_WAIT_MS && rateLimited++ < 3) {
          this.log.warn({ waitMs, category: response.headers['x-ratelimit-category'] }, 'Zoom API rate limit: waiting as asked');
          await sleep(waitMs);
          continue;
        }
      }
      const error = explainApiError(response.statusCode, { code: answer.code, message: answer.message ?? text.slice(0, 200) }, {
        ...context,
        edition: this.edition,
        scopes: this.scopesFor(context.feature),
      });
      // A scope added to the app reaches only tokens issued after it: a token that old is not reused.
      if (error.code === 'ZOOM_API_SCOPE_MISSING' && this.token && this.now() - this.token.issuedAt > SCOPE_RECHECK_AFTER_MS) this.token = undefined;
      throw error;
    }
  }

  /**
   * The meeting (or webinar) id of an instance UUID, as RTMS webhooks name only the instance. Zoom asks for a UUID
   * that starts with "/" or contains "//" to be encoded twice.
   */
  async idOfInstance(uuid: string, kind: ZoomKind): Promise<string> {
    const once = encodeURIComponent(uuid);
    const segment = uuid.startsWith('/') || uuid.includes('//') ? encodeURIComponent(once) : once;
    const feature = featureOf(kind, 'Details');
    const body = await this.get<{ id?: unknown }>(`/${kind}s/${segment}`, { feature, what: `${kind} instance ${uuid}` });
    if (typeof body.id !== 'number' && typeof body.id !== 'string') throw new BridgeError('ZOOM_API_UNAVAILABLE', `Zoom answered the ${kind} lookup for instance ${uuid} without an id`);
    return String(body.id);
  }

  /** Points the target's custom live stream at `url` with `key` (Zoom requires a page URL for it; nobody watches it here). */
  async setLivestream(target: ZoomTarget, stream: { url: string; key: string; pageUrl: string }): Promise<void> {
    await this.patch(this.livestreamResource(target), { stream_url: stream.url, stream_key: stream.key, page_url: stream.pageUrl }, this.livestreamContext(target));
  }

  /** Starts or stops the target's custom live stream. */
  async setLivestreamStatus(target: ZoomTarget, action: 'start' | 'stop'): Promise<void> {
    // Zoom's own captions burnt into the picture would be noise here: the bridge only takes the sound.
    const body = action === 'start' ? { action, settings: { close_caption: 'off', active_speaker_name: false } } : { action };
    await this.patch(`${this.livestreamResource(target)}/status`, body, this.livestreamContext(target));
  }

  private livestreamResource(target: ZoomTarget): string {
    return `/${target.kind}s/${encodeURIComponent(target.id)}/livestream`;
  }

  private livestreamContext(target: ZoomTarget): ApiCallContext {
    return { feature: featureOf(target.kind, 'Livestream'), what: `the live stream of ${describeTarget(target)}` };
  }

  /** What the bridge reads of a meeting or webinar: its topic, agenda, status and host (GET /meetings/{id}). */
  async details(target: ZoomTarget): Promise<{ topic?: string; agenda?: string; status?: string; hostId?: string; hostEmail?: string }> {
    const body = await this.get<{ topic?: unknown; agenda?: unknown; status?: unknown; host_id?: unknown; host_email?: unknown }>(`/${target.kind}s/${encodeURIComponent(target.id)}`, {
      feature: featureOf(target.kind, 'Details'),
      what: describeTarget(target),
    });
    const text = (value: unknown): string | undefined => (typeof value === 'string' && value ? value : undefined);
    return {
      ...(text(body.topic) ? { topic: text(body.topic) } : {}),
      // Zoom allows 2,000 characters; the vocabulary needs no more.
      ...(text(body.agenda) ? { agenda: text(body.agenda)!.slice(0, 2_000) } : {}),
      ...(text(body.status) ? { status: text(body.status) } : {}),
      ...(text(body.host_id) ? { hostId: text(body.host_id) } : {}),
      ...(text(body.host_email) ? { hostEmail: text(body.host_email) } : {}),
    };
  }

  /** The meeting's or webinar's Caption URL (Zoom calls it the closed caption token). */
  async captionUrl(target: ZoomTarget): Promise<string> {
    const feature = featureOf(target.kind, 'CaptionToken');
    const what = describeTarget(target);
    const body = await this.get<{ token?: unknown }>(`/${target.kind}s/${encodeURIComponent(target.id)}/token?type=closed_caption_token`, { feature, what });
    if (typeof body.token !== 'string') throw new BridgeError('ZOOM_API_UNAVAILABLE', `Zoom answered the caption token request for ${what} without a token`);
    return body.token;
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) ?? {};
  } catch {
    return {};
  }
}

/** Retry-After is seconds or an HTTP/ISO date (Zoom's daily limit gives a date). */
export function retryAfterMs(header: string | string[] | undefined, now: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
