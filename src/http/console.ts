import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { errorMessage, isBridgeError } from '../errors.js';
import { MAX_HOLD_MS } from '../pipeline/desk.js';
import type { Logger } from '../log.js';
import type { ConsoleAction, MeetingControl } from '../pipeline/types.js';
import { decodeSegment, json, PageAssets, pageSecurityHeaders, readBody } from './respond.js';

/** public/ sits two levels above this file both in src/http and in dist/http. */
const ASSETS = new PageAssets(
  fileURLToPath(new URL('../../public/console/', import.meta.url)),
  new Map([
    ['index.html', 'text/html'],
    ['app.js', 'text/javascript'],
    ['console.css', 'text/css'],
  ]),
);
const SECURITY_HEADERS = pageSecurityHeaders("'self'");
/** How often the live view is refreshed: fast enough to see a lag, light enough for a phone on mobile data. */
const PUSH_INTERVAL_MS = 400;
/** Operators, not an audience: a handful of open consoles is plenty; more is a mistake or an attack. */
const MAX_WATCHERS = 20;
const MAX_ACTION_BYTES = 4096;

const actionSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('pause') }),
  z.strictObject({ action: z.literal('resume') }),
  z.strictObject({ action: z.literal('end-stream') }),
  z.strictObject({ action: z.literal('next-engine') }),
  z.strictObject({ action: z.literal('caption'), text: z.string().trim().min(1).max(200) }),
  z.strictObject({ action: z.literal('replacement'), from: z.string().trim().min(1).max(60), to: z.string().trim().min(1).max(60) }),
  z.strictObject({ action: z.literal('hold'), ms: z.number().int().min(0).max(MAX_HOLD_MS) }),
  z.strictObject({ action: z.literal('take-pen') }),
  z.strictObject({ action: z.literal('edit'), id: z.number().int().positive(), text: z.string().trim().min(1).max(300) }),
  z.strictObject({ action: z.literal('drop'), id: z.number().int().positive() }),
  z.strictObject({ action: z.literal('split'), id: z.number().int().positive(), at: z.number().int().min(0).max(2_000) }),
  z.strictObject({ action: z.literal('join'), id: z.number().int().positive() }),
  z.strictObject({ action: z.literal('correct-sent'), seq: z.number().int().positive(), text: z.string().trim().min(1).max(300) }),
  z.strictObject({ action: z.literal('answer-offer'), from: z.string().trim().min(1).max(60), to: z.string().trim().min(1).max(60), accept: z.boolean() }),
]);

/** An admin request refused: 401 for a missing or wrong token, 429 while the address is blocked for wrong ones. */
export interface AdminRefusal {
  status: 401 | 429;
  error: string;
}

export interface ConsoleOptions {
  meetings: () => readonly MeetingControl[];
  /** The admin token check (with the failed-attempt throttle); undefined when no admin token is configured. */
  adminRefusal?: (req: IncomingMessage) => AdminRefusal | undefined;
  /** The client's address, seen through trusted proxies (http.trustedProxies). */
  clientAddress: (req: IncomingMessage) => string;
  log: Logger;
  /** How long a live view may read nothing before it is closed (a frozen tab, a half-open connection). */
  stalledAfterMs?: number;
}

/** Updates a watcher has not read yet, at most: past this, updates are skipped for it (only the newest matters). */
const MAX_UNREAD_BYTES = 256 * 1024;
const STALLED_AFTER_MS = 30_000;

/**
 * The operator console: GET /console (page, script, style), GET /console/api/events (every meeting as the
 * audience sees it, pushed as server-sent events), POST /console/api/meetings/<id>/actions. Every API request needs
 * the admin token in the Authorization header (never a URL); actions also need the X-Console-Action header, which
 * a page on another site cannot send without a CORS preflight this server never grants, and a same-origin Origin.
 */
export class OperatorConsole {
  private readonly watchers = new Set<ServerResponse>();

  constructor(private readonly options: ConsoleOptions) {}

  /** Answers true when the path is the console's. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    if (!path.startsWith('/console/api/') && req.method !== 'GET' && req.method !== 'HEAD') return false;
    const name = path === '/console' || path === '/console/' ? 'index.html' : /^\/console\/([^/]+)$/.exec(path)?.[1];
    const file = name === undefined ? undefined : ASSETS.get(name);
    if (file) {
      res.writeHead(200, { 'content-type': `${file.type}; charset=utf-8`, ...SECURITY_HEADERS }).end(file.text);
      return true;
    }
    if (!path.startsWith('/console/api/')) return false;
    const { adminRefusal } = this.options;
    if (!adminRefusal) return json(res, 404, { error: 'The console is off on this bridge: set http.adminToken in its config (a long random value) and restart it' }), true;
    const refused = adminRefusal(req);
    if (refused) return json(res, refused.status, { error: refused.error }), true;
    if (path === '/console/api/events' && req.method === 'GET') return this.events(req, res), true;
    const action = /^\/console\/api\/meetings\/([^/]+)\/actions$/.exec(path);
    const meetingId = action ? decodeSegment(action[1]!) : undefined;
    if (action && meetingId === undefined) return json(res, 400, { error: 'the meeting id in the path is not valid percent-encoding' }), true;
    if (meetingId !== undefined && req.method === 'POST') {
      this.act(req, res, meetingId).catch((err: unknown) => {
        this.options.log.warn({ err: errorMessage(err) }, 'console action failed');
        if (res.headersSent) res.destroy();
        else json(res, 500, { error: 'internal error' });
      });
      return true;
    }
    json(res, 404, { error: 'not found' });
    return true;
  }

  private state(): unknown {
    return { at: Date.now(), meetings: this.options.meetings().map((m) => m.consoleView()) };
  }

  private events(req: IncomingMessage, res: ServerResponse): void {
    if (this.watchers.size >= MAX_WATCHERS) return json(res, 503, { error: 'too many consoles open' });
    this.watchers.add(res);
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    let readAt = Date.now();
    const push = (): void => {
      // A watcher that reads nothing must not make the server buffer every update for it: skip it while it is
      // behind, close it once it has read nothing for a while; the page reconnects when it wakes.
      if (res.writableLength > MAX_UNREAD_BYTES) {
        if (Date.now() - readAt > (this.options.stalledAfterMs ?? STALLED_AFTER_MS)) {
          this.options.log.info({ unreadBytes: res.writableLength }, 'console live view closed: it read nothing for too long');
          res.destroy();
        }
        return;
      }
      readAt = Date.now();
      try {
        res.write(`event: state\ndata: ${JSON.stringify(this.state())}\n\n`);
      } catch (err) {
        this.options.log.warn({ err: errorMessage(err) }, 'console update failed');
      }
    };
    push();
    const timer = setInterval(push, PUSH_INTERVAL_MS);
    // The request timeout that protects the server from slow clients does not apply to a stream the server writes.
    req.socket.setTimeout(0);
    res.on('close', () => {
      clearInterval(timer);
      this.watchers.delete(res);
    });
  }

  /** Ends every open live view (the server is shutting down; the pages reconnect to the next one). */
  close(): void {
    for (const res of this.watchers) res.end();
  }

  private async act(req: IncomingMessage, res: ServerResponse, meetingId: string): Promise<void> {
    if (req.headers['x-console-action'] !== '1') return json(res, 403, { error: 'actions need the X-Console-Action header (sent by the console page)' });
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host}` && origin !== `https://${req.headers.host}`) return json(res, 403, { error: 'cross-origin action refused' });
    const raw = await readBody(req, MAX_ACTION_BYTES);
    if (!raw) return json(res, 413, { error: 'body too large' });
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return json(res, 400, { error: 'the body must be JSON' });
    }
    const parsed = actionSchema.safeParse(body);
    if (!parsed.success) return json(res, 400, { error: `not an action: ${parsed.error.issues[0]?.message ?? 'invalid'}` });
    const meeting = this.options.meetings().find((m) => m.id === meetingId);
    if (!meeting) return json(res, 404, { error: `no meeting ${meetingId}` });
    const operator = String(req.headers['x-console-operator'] ?? '').replace(/[^\p{L}\p{N} ._@-]/gu, '').slice(0, 40) || 'unnamed operator';
    const who = `${operator} (${this.options.clientAddress(req) || 'unknown address'})`;
    try {
      const message = await meeting.act(parsed.data as ConsoleAction, who);
      json(res, 200, { ok: true, message });
    } catch (err) {
      json(res, isBridgeError(err) ? 409 : 500, { error: errorMessage(err) });
    }
  }
}
