import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeMeeting {
  started: boolean;
  /** Returns the Caption URL to hand out (called on every successful token request). */
  captionUrl: () => string;
}

/**
 * Plays Zoom's server-to-server OAuth endpoint and the caption-token endpoints of the Meetings API, with the
 * failures the bridge must handle: expiring access tokens, 401, 429 with Retry-After, 400 not started, 404.
 */
export class FakeZoomApi {
  readonly accountId = 'acct-123';
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
  readonly calls = { token: 0, captionToken: 0 };
  readonly issuedTokens: string[] = [];
  private server: Server | undefined;

  async start(): Promise<{ apiBase: string; oauthBase: string }> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    return { apiBase: `http://127.0.0.1:${port}/v2`, oauthBase: `http://127.0.0.1:${port}` };
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (status: number, body: unknown, headers: Record<string, string> = {}): void =>
      void res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));

    if (req.method === 'POST' && url.pathname === '/oauth/token') {
      this.calls.token += 1;
      const basic = `Basic ${Buffer.from(`${this.clientId}:${this.clientSecret}`).toString('base64')}`;
      if (url.searchParams.get('grant_type') !== 'account_credentials') return send(400, { reason: 'unsupported grant type', error: 'unsupported_grant_type' });
      if (req.headers.authorization !== basic || url.searchParams.get('account_id') !== this.accountId) {
        return send(400, { reason: 'Invalid client_id or client_secret', error: 'invalid_client' });
      }
      const token = `access-${this.issuedTokens.length + 1}-${Math.random().toString(36).slice(2)}`;
      this.issuedTokens.push(token);
      return send(200, { access_token: token, token_type: 'bearer', expires_in: this.tokenLifetimeSeconds, scope: 'meeting:read:token:master' });
    }

    const match = /^\/v2\/accounts\/([^/]+)\/(meetings|webinars)\/([^/]+)\/token$/.exec(url.pathname);
    if (req.method === 'GET' && match) {
      this.calls.captionToken += 1;
      const bearer = req.headers.authorization?.replace(/^Bearer /, '');
      if (this.unauthorizedNext > 0) {
        this.unauthorizedNext -= 1;
        return send(401, { code: 124, message: 'Invalid access token.' });
      }
      if (!bearer || !this.issuedTokens.includes(bearer) || match[1] !== this.accountId) return send(401, { code: 124, message: 'Invalid access token.' });
      if (this.rateLimitNext > 0) {
        this.rateLimitNext -= 1;
        return send(429, { code: 429, message: 'You have reached the maximum per-second rate limit for this API.' }, {
          'retry-after': this.retryAfter,
          'x-ratelimit-category': 'Light',
          'x-ratelimit-type': 'QPS',
        });
      }
      const kind = match[2] === 'meetings' ? 'Meeting' : 'Webinar';
      const meeting = (match[2] === 'meetings' ? this.meetings : this.webinars).get(match[3]!);
      if (!meeting) return send(404, { code: 3001, message: `${kind} does not exist: ${match[3]}.` });
      if (!meeting.started) return send(400, { code: 3000, message: `${kind} ${match[3]} has not started.` });
      return send(200, { token: meeting.captionUrl() });
    }
    send(404, { code: 404, message: 'not found' });
  }
}

export function signWebhook(secret: string, body: string, timestampSeconds = Math.floor(Date.now() / 1000)): Record<string, string> {
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestampSeconds}:${body}`).digest('hex')}`;
  return { 'content-type': 'application/json', 'x-zm-request-timestamp': String(timestampSeconds), 'x-zm-signature': signature };
}
