import { request } from 'undici';
import { setTimeout as sleep } from 'node:timers/promises';
import { BridgeError } from '../errors.js';
import type { Logger } from '../log.js';

export interface ZoomApiCredentials {
  accountId: string;
  clientId: string;
  clientSecret: string;
  /** https://zoom.us: where /oauth/token lives. */
  oauthBase: string;
  /** https://api.zoom.us/v2 */
  apiBase: string;
}

export type CaptionTarget = { meetingId: string } | { webinarId: string };

const REQUEST_TIMEOUT_MS = 10_000;
/** Renew the access token this long before Zoom says it expires (clock skew, slow requests). */
const TOKEN_RENEW_MARGIN_MS = 120_000;
/** Longest wait honoured from a 429; a daily limit that resets tomorrow is reported, not slept through. */
const MAX_RATE_LIMIT_WAIT_MS = 60_000;

interface AccessToken {
  value: string;
  expiresAt: number;
}

/**
 * The two Zoom API calls the bridge needs: a server-to-server OAuth access token (account_credentials grant,
 * cached until shortly before it expires) and a meeting's or webinar's caption token (the Caption URL).
 */
export class ZoomApiClient {
  private token: AccessToken | undefined;
  private pendingToken: Promise<AccessToken> | undefined;

  constructor(
    private readonly credentials: ZoomApiCredentials,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Single-flight: concurrent callers share one token request. */
  async accessToken(): Promise<string> {
    if (this.token && this.token.expiresAt - TOKEN_RENEW_MARGIN_MS > this.now()) return this.token.value;
    this.pendingToken ??= this.requestToken().finally(() => (this.pendingToken = undefined));
    this.token = await this.pendingToken;
    return this.token.value;
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
    const body = (await response.body.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; reason?: string };
    if (response.statusCode !== 200 || !body.access_token) {
      throw new BridgeError(
        'ZOOM_API_AUTH',
        `Zoom OAuth refused the app credentials (HTTP ${response.statusCode}${body.reason ? `: ${body.reason}` : ''}); check ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET`,
        { retryable: response.statusCode >= 500 || response.statusCode === 429 },
      );
    }
    this.log.info({ expiresInSeconds: body.expires_in }, 'Zoom API access token obtained');
    return { value: body.access_token, expiresAt: this.now() + (body.expires_in ?? 3600) * 1000 };
  }

  /**
   * GET /accounts/{accountId}/meetings/{id}/token (or webinars). A 401 renews the access token once; a 429 waits
   * as long as Zoom says (Retry-After) when that is reasonable. "Not started" is ZOOM_MEETING_NOT_STARTED.
   */
  async captionUrl(target: CaptionTarget): Promise<string> {
    const [kind, id] = 'meetingId' in target ? ['meetings', target.meetingId] : ['webinars', target.webinarId];
    const path = `/accounts/${encodeURIComponent(this.credentials.accountId)}/${kind}/${encodeURIComponent(id)}/token`;
    let renewed = false;
    for (let rateLimited = 0; ; ) {
      const response = await request(`${this.credentials.apiBase.replace(/\/$/, '')}${path}`, {
        method: 'GET',
        headers: { authorization: `Bearer ${await this.accessToken()}` },
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await response.body.text();
      const body = parseJson(text) as { token?: string; code?: number; message?: string };
      const what = `${kind.slice(0, -1)} ${id}`;
      if (response.statusCode === 200 && typeof body.token === 'string') return body.token;
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
        throw new BridgeError('ZOOM_API_RATE_LIMITED', `Zoom API rate limit reached for ${what}: ${body.message ?? ''}`.trim(), { retryable: true });
      }
      const message = `${body.message ?? text.slice(0, 200)}`.trim();
      if (response.statusCode === 400 && /not started/i.test(message)) {
        throw new BridgeError('ZOOM_MEETING_NOT_STARTED', `${what} has not started`, { retryable: true });
      }
      if (response.statusCode === 404) throw new BridgeError('ZOOM_MEETING_NOT_FOUND', `${what} does not exist: ${message}`);
      if (response.statusCode === 401 || response.statusCode === 403) {
        throw new BridgeError('ZOOM_API_AUTH', `Zoom API refused the caption token for ${what} (HTTP ${response.statusCode}): ${message}; the app needs the meeting:read:token:master or webinar:read:token:master scope`);
      }
      throw new BridgeError('ZOOM_API_ERROR', `Zoom API answered ${response.statusCode} for ${what}: ${message}`, {
        retryable: response.statusCode >= 500,
      });
    }
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
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
