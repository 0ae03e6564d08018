import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { refuseOthers, type OnlyFrom } from './only-from.js';

export interface FakeMeeting {
  started: boolean;
  /** The running instance's UUID: GET /meetings/{uuid} finds the meeting by it (RTMS webhooks name only this). */
  uuid?: string;
  /** Returns the Caption URL to hand out (called on every successful token request). */
  captionUrl: () => string;
  /** What GET /meetings/{id} says of it (defaults: "Weekly all-hands", host host@example.org, id host-1). */
  topic?: string;
  agenda?: string;
  hostEmail?: string;
}

/**
 * Plays Zoom's server-to-server OAuth endpoint and the Meetings API calls the bridge makes, in one edition: an
 * ordinary account (/meetings/{id}/token?type=closed_caption_token, :admin scopes) or a master account acting on a
 * sub-account (/accounts/{subAccountId}/meetings/{id}/token, :master scopes). It refuses the other edition's paths
 * as Zoom would, and gives the failures the bridge must explain: expiring tokens, 401, 429 with Retry-After, not
 * started, does not exist, a missing scope, the caption API setting off, a deleted app.
 */
export class FakeZoomApi implements OnlyFrom {
  readonly accountId = 'acct-123';
  readonly subAccountId = 'sub-456';
  readonly clientId = 'client-abc';
  readonly clientSecret = 'client-secret-XYZ';
  readonly meetings = new Map<string, FakeMeeting>();
  readonly webinars = new Map<string, FakeMeeting>();
  tokenLifetimeSeconds = 3599;
  /** Answer the next N caption-token requests with 429 and this Retry-After. */
  rateLimitNext = 0;
  retryAfter = '1';
  /** Answer the next N caption-token requests with 401 (as for a revoked access token). */
  unauthorizedNext = 0;
  /** Scopes granted to tokens issued from now on. */
  scopes: string[];
  /** Account settings: "Closed captioning" and "Allow use of caption API Token ...". */
  captionApiEnabled = true;
  /** The app was deleted in the Marketplace: OAuth refuses its credentials. */
  appDeleted = false;
  readonly calls = { token: 0, captionToken: 0, livestream: 0 };
  /** Each meeting's custom live stream settings, as PATCH .../livestream left them. */
  readonly livestreams = new Map<string, { stream_url: string; stream_key: string; page_url: string }>();
  /** Called when a live stream starts: the test plays Zoom's cloud and pushes the meeting to the URL with ffmpeg. */
  onLivestreamStart: ((meetingId: string, url: string, key: string) => void) | undefined;
  onLivestreamStop: ((meetingId: string) => void) | undefined;
  /** Answer the live stream status start with this refusal (E2EE meeting, feature off, ...). */
  livestreamRefusal: { status: number; code: number; message: string } | undefined;
  readonly issuedTokens = new Map<string, string[]>();
  private server: Server | undefined;
  /** Only connections from this address are taken (a proxy's outbound address): the others are dropped at once. */
  onlyFrom: string | undefined;
  /** Connections dropped for coming from elsewhere (see onlyFrom). */
  refusedDirect = 0;

  constructor(readonly edition: 'ordinary' | 'master' = 'ordinary') {
    this.scopes =
      edition === 'ordinary'
        ? ['meeting:read:token:admin', 'webinar:read:token:admin', 'meeting:read:meeting:admin', 'account:read:settings:admin']
        : ['meeting:read:token:master', 'webinar:read:token:master', 'meeting:read:meeting:master', 'account:read:settings:master'];
  }

  async start(): Promise<{ apiBase: string; oauthBase: string }> {
    this.server = createServer((req, res) => this.handle(req, res));
    refuseOthers(this.server, this);
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    return { apiBase: `http://127.0.0.1:${port}/v2`, oauthBase: `http://127.0.0.1:${port}` };
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(`http://localhost${req.url ?? '/'}`);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void =>
      void res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

    if (req.method === 'POST' && url.pathname === '/oauth/token') {
      this.calls.token += 1;
      const basic = `Basic ${Buffer.from(`${this.clientId}:${this.clientSecret}`).toString('base64')}`;
      if (url.searchParams.get('grant_type') !== 'account_credentials') return send(400, { reason: 'unsupported grant type', error: 'unsupported_grant_type' });
      if (this.appDeleted || req.headers.authorization !== basic) return send(400, { reason: 'Invalid client_id or client_secret', error: 'invalid_client' });
      if (url.searchParams.get('account_id') !== this.accountId) return send(400, { reason: 'Invalid account_id', error: 'invalid_request' });
      const token = `access-${this.issuedTokens.size + 1}-${Math.random().toString(36).slice(2)}`;
      this.issuedTokens.set(token, [...this.scopes]);
      return send(200, { access_token: token, token_type: 'bearer', expires_in: this.tokenLifetimeSeconds, scope: this.scopes.join(' ') });
    }

    const livestream = /^\/v2(\/accounts\/([^/]+))?\/(meetings|webinars)\/(\d+)\/livestream(\/status)?$/.exec(url.pathname);
    if (req.method === 'PATCH' && livestream) return void this.handleLivestream(req, livestream, send);

    // /v2/<edition prefix>/meetings/{id}[/token], /v2/accounts/me/settings
    const match = /^\/v2(\/accounts\/([^/]+))?\/(meetings|webinars)\/([^/]+)(\/token)?$|^\/v2\/accounts\/([^/]+)\/settings$/.exec(url.pathname);
    if (req.method !== 'GET' || !match) return send(404, { code: 404, message: 'not found' });
    const bearer = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
    if (match[5]) this.calls.captionToken += 1;
    if (this.unauthorizedNext > 0) {
      this.unauthorizedNext -= 1;
      return send(401, { code: 124, message: 'Invalid access token.' });
    }
    const granted = this.issuedTokens.get(bearer);
    if (!granted) return send(401, { code: 124, message: 'Invalid access token.' });
    if (this.rateLimitNext > 0) {
      this.rateLimitNext -= 1;
      return send(429, { code: 429, message: 'You have reached the maximum per-second rate limit for this API.' }, {
        'retry-after': this.retryAfter,
        'x-ratelimit-category': 'Light',
        'x-ratelimit-type': 'QPS',
      });
    }
    const suffix = this.edition === 'ordinary' ? 'admin' : 'master';
    const needScope = (granular: string, classic: string): boolean => {
      if (granted.includes(`${granular}:${suffix}`) || granted.includes(classic)) return true;
      send(400, { code: 4711, message: `Invalid access token, does not contain scopes:[${granular}:${suffix}].` });
      return false;
    };

    // Account settings: `me` for an ordinary account, the sub-account's id for a master account.
    if (match[6] !== undefined) {
      const expected = this.edition === 'ordinary' ? 'me' : this.subAccountId;
      if (match[6] !== expected) return send(400, { code: 200, message: 'No permission.' });
      if (!needScope('account:read:settings', `account:read:${suffix}`)) return;
      return send(200, { in_meeting: { closed_caption: this.captionApiEnabled, closed_captioning: { enable: this.captionApiEnabled, third_party_captioning_service: this.captionApiEnabled } } });
    }

    // An ordinary account may not use the master edition's /accounts/{id}/ paths; a master account's sub-account
    // meetings are not found on its own (unprefixed) paths.
    const subAccount = match[2];
    if (this.edition === 'ordinary' && subAccount !== undefined) return send(400, { code: 200, message: 'No permission.' });
    if (this.edition === 'master' && subAccount !== this.subAccountId) return send(404, { code: 3001, message: `Meeting does not exist: ${match[4]}.` });

    const isMeeting = match[3] === 'meetings';
    const kind = isMeeting ? 'Meeting' : 'Webinar';
    // A UUID is encoded once, or twice when it starts with "/" or contains "//" (Zoom's rule).
    let segment = decodeURIComponent(match[4]!);
    if (/%2F/i.test(segment)) segment = decodeURIComponent(segment);
    const table = isMeeting ? this.meetings : this.webinars;
    const byUuid = [...table.entries()].find(([, m]) => m.uuid !== undefined && m.uuid === segment);
    const id = byUuid?.[0] ?? segment;
    const meeting = table.get(id);
    if (match[5]) {
      if (!needScope(isMeeting ? 'meeting:read:token' : 'webinar:read:token', isMeeting ? `meeting:read:${suffix}` : `webinar:read:${suffix}`)) return;
      if (url.searchParams.get('type') !== 'closed_caption_token') return send(400, { code: 300, message: 'Invalid token type.' });
      if (!meeting) return send(404, { code: 3001, message: `${kind} does not exist: ${id}.` });
      if (!this.captionApiEnabled) {
        return send(400, {
          code: 3000,
          message: 'Closed captioning disabled. To enable this feature, enable the "Closed captioning" and "Allow use of caption API Token to integrate with 3rd-party Closed Captioning services" settings.',
        });
      }
      if (!meeting.started) return send(400, { code: 3000, message: `${kind} ${id} has not started.` });
      return send(200, { token: meeting.captionUrl() });
    }
    if (!needScope(isMeeting ? 'meeting:read:meeting' : 'webinar:read:webinar', isMeeting ? `meeting:read:${suffix}` : `webinar:read:${suffix}`)) return;
    if (!meeting) return send(404, { code: 3001, message: `${kind} does not exist: ${id}.` });
    return send(200, {
      id: Number(id),
      topic: meeting.topic ?? 'Weekly all-hands',
      ...(meeting.agenda ? { agenda: meeting.agenda } : {}),
      status: meeting.started ? 'started' : 'waiting',
      host_id: 'host-1',
      host_email: meeting.hostEmail ?? 'host@example.org',
    });
  }

  /** PATCH .../livestream (settings) and .../livestream/status (start, stop), with the scope checks and refusals. */
  private handleLivestream(req: IncomingMessage, match: RegExpExecArray, send: (status: number, body: unknown) => void): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      this.calls.livestream += 1;
      const granted = this.issuedTokens.get(req.headers.authorization?.replace(/^Bearer /, '') ?? '');
      if (!granted) return send(401, { code: 124, message: 'Invalid access token.' });
      const suffix = this.edition === 'ordinary' ? 'admin' : 'master';
      if ((this.edition === 'ordinary') !== (match[2] === undefined)) return send(400, { code: 200, message: 'No permission.' });
      const kind = match[3] === 'meetings' ? 'meeting' : 'webinar';
      const scope = `${kind}:update:${match[5] ? 'livestream_status' : 'livestream'}:${suffix}`;
      if (!granted.includes(scope) && !granted.includes(`${kind}:write:${suffix}`)) return send(400, { code: 4711, message: `Invalid access token, does not contain scopes:[${scope}].` });
      const id = match[4]!;
      const meeting = (kind === 'meeting' ? this.meetings : this.webinars).get(id);
      if (!meeting) return send(404, { code: 3001, message: `Meeting does not exist: ${id}.` });
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        return send(400, { code: 300, message: 'Invalid request body.' });
      }
      if (!match[5]) {
        if (typeof body.stream_url !== 'string' || typeof body.stream_key !== 'string' || typeof body.page_url !== 'string') return send(400, { code: 300, message: 'stream_url, stream_key and page_url are required.' });
        this.livestreams.set(id, { stream_url: body.stream_url, stream_key: body.stream_key, page_url: body.page_url });
        return send(204, undefined);
      }
      if (body.action === 'start') {
        if (this.livestreamRefusal) return send(this.livestreamRefusal.status, { code: this.livestreamRefusal.code, message: this.livestreamRefusal.message });
        if (!meeting.started) return send(400, { code: 4927, message: `Meeting ${id} has not started.` });
        const settings = this.livestreams.get(id);
        if (!settings) return send(400, { code: 3000, message: 'The current meeting is not configured with a custom streaming service.' });
        this.onLivestreamStart?.(id, settings.stream_url, settings.stream_key);
        return send(204, undefined);
      }
      if (body.action === 'stop') {
        this.onLivestreamStop?.(id);
        return send(204, undefined);
      }
      return send(400, { code: 300, message: 'Invalid action.' });
    });
  }
}

/** Posts a Zoom webhook event, signed as Zoom signs it, to the bridge listening on `port`. */
/** A signed Zoom webhook to the bridge; `path` /zoom/videosdk/webhook for a Video SDK app's events. */
export function sendWebhook(port: number, secret: string, event: string, payload: Record<string, unknown>, path = '/zoom/webhook'): Promise<Response> {
  const body = JSON.stringify({ event, event_ts: Date.now(), payload });
  return fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', headers: signWebhook(secret, body), body });
}

export function signWebhook(secret: string, body: string, timestampSeconds = Math.floor(Date.now() / 1000)): Record<string, string> {
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestampSeconds}:${body}`).digest('hex')}`;
  return { 'content-type': 'application/json', 'x-zm-request-timestamp': String(timestampSeconds), 'x-zm-signature': signature };
}
