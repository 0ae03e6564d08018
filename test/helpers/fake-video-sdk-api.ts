import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { jwtVerify } from 'jose';

/** What a Video SDK session is to the stand-in: whether it runs, whether RTMS is on for the account, the app's state. */
export interface StandInSession {
  started: boolean;
  rtmsEnabled: boolean;
  appRunning: boolean;
}

/**
 * The Video SDK API's RTMS app control as the bridge uses it: PATCH /videosdk/sessions/{sessionId}/rtms_app/status
 * with {"action": "start"|"stop"|"pause"|"resume"}, authorised by a JWT (HS256) signed with the SDK secret whose iss
 * is the SDK key. It verifies the token and answers the refusals Zoom documents: a session not in progress, RTMS not
 * enabled for the account, the app not started; 204 otherwise. `onStart` plays Zoom's part after a start.
 */
export class FakeVideoSdkApi {
  readonly sessions = new Map<string, StandInSession>();
  readonly calls: { sessionId: string; action: string; issuer?: string; status: number }[] = [];
  onStart: (sessionId: string) => void = () => undefined;
  private server: Server | undefined;

  constructor(readonly credentials: { key: string; secret: string }) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        void this.answer(req.method ?? '', req.url ?? '', req.headers.authorization, body).then(({ status, json }) => {
          res.writeHead(status, json === undefined ? {} : { 'content-type': 'application/json' }).end(json === undefined ? undefined : JSON.stringify(json));
        });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v2`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async answer(method: string, url: string, authorization: string | undefined, body: string): Promise<{ status: number; json?: unknown }> {
    const match = /^\/v2\/videosdk\/sessions\/([^/]+)\/rtms_app\/status$/.exec(url);
    if (!match || method !== 'PATCH') return { status: 404, json: { code: 404, message: 'Not found' } };
    const sessionId = decodeURIComponent(match[1]!);
    const record = (status: number, action: string, issuer?: string): void => void this.calls.push({ sessionId, action, status, ...(issuer ? { issuer } : {}) });
    let issuer: string | undefined;
    try {
      const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1] ?? '';
      const { payload } = await jwtVerify(token, new TextEncoder().encode(this.credentials.secret), { algorithms: ['HS256'], issuer: this.credentials.key });
      issuer = payload.iss;
    } catch {
      record(401, 'unknown');
      return { status: 401, json: { code: 124, message: 'Invalid access token.' } };
    }
    let action: unknown;
    try {
      action = (JSON.parse(body) as { action?: unknown }).action;
    } catch {
      action = undefined;
    }
    if (action !== 'start' && action !== 'stop' && action !== 'pause' && action !== 'resume') {
      record(400, String(action), issuer);
      return { status: 400, json: { code: 300, message: 'Invalid action.' } };
    }
    const session = this.sessions.get(sessionId);
    if (!session?.started) {
      record(404, action, issuer);
      return { status: 404, json: { code: 2001, message: 'Session does not exist or has not started.' } };
    }
    if (!session.rtmsEnabled) {
      record(400, action, issuer);
      return { status: 400, json: { code: 2101, message: 'RTMS is not enabled for this account.' } };
    }
    if (action !== 'start' && !session.appRunning) {
      record(400, action, issuer);
      return { status: 400, json: { code: 2102, message: 'The RTMS app has not been started in this session.' } };
    }
    session.appRunning = action === 'start' || action === 'resume';
    record(204, action, issuer);
    if (action === 'start') setImmediate(() => this.onStart(sessionId));
    return { status: 204 };
  }
}
