import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';
import type { CaptionFeed, FeedCaption, FeedReader } from '../caption/caption-feed.js';
import type { Routes } from '../ingest/routes.js';
import type { Logger } from '../log.js';
import { throttleKey, type FailureThrottle } from '../security/throttle.js';
import { presentedToken, tokensMatch } from '../security/tokens.js';
import { closeSocket, refuseUpgrade, sendIfOpen } from '../util/websocket.js';
import type { PageElsewhere } from '../control/fleet/fleet.js';
import { RELAY_HEADER, type PageRelay } from './page-relay.js';
import { decodeSegment, escapeHtml, json, PageAssets, pageSecurityHeaders } from './respond.js';

/** public/ sits two levels above this file both in src/http and in dist/http. */
const ASSETS = new PageAssets(
  fileURLToPath(new URL('../../public/captions/', import.meta.url)),
  new Map([
    ['index.html', 'text/html'],
    ['app.js', 'text/javascript'],
    ['page.css', 'text/css'],
  ]),
);
/** /captions/<meeting>, its feed (/events: server-sent events; /feed: WebSocket), and the page's files. */
const PAGE_PATH = /^\/captions\/([^/]+)(?:\/(events|feed))?\/?$/;
/** A reader this far behind (a frozen tab, a phone out of signal) is dropped rather than buffered for. */
const MAX_BEHIND_BYTES = 64 * 1024;
/** Proxies and phones close a stream that says nothing for long; a comment line keeps it open. */
const KEEPALIVE_MS = 15_000;
/** What a page waits before reconnecting on its own (server-sent events' retry). */
const RETRY_MS = 2_000;

const SECURITY_HEADERS = pageSecurityHeaders("'self'");

/** Readers the whole process serves at once (http.maxReaders), every page and feed together, relayed ones too. */
export interface ReaderBudget {
  maxReaders: number;
}

/** Where a meeting's readers are served, and the viewer token they must present (undefined: a public page). */
type PageLocation = { feed: CaptionFeed; token: string | undefined } | { remote: PageElsewhere; token: string | undefined };

/**
 * The caption page for people reading along (a phone, a laptop, the room's TV, an OBS browser source) and the feed
 * for programs: the same captions, as server-sent events or over WebSocket. Readers present the meeting's viewer
 * token (never the ingest or admin token), unless its page is public.
 */
export class CaptionPages {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 1024 });
  private readonly streams = new Set<ServerResponse>();
  private readonly keepalive: NodeJS.Timeout;
  /** Readers served now, here or relayed: they never take more than their budget of the process's connections. */
  private active = 0;

  constructor(
    private readonly feeds: Routes<CaptionFeed>,
    private readonly guard: { throttle: FailureThrottle; clientAddress: (req: IncomingMessage) => string; log: Logger; budget?: ReaderBudget | undefined },
    /** In a fleet: meetings whose page another process serves, and the relay to it. */
    private readonly elsewhere?: { find: (meeting: string) => PageElsewhere | undefined; relay: PageRelay },
  ) {
    this.keepalive = setInterval(() => {
      for (const res of this.streams) if (res.writableLength < MAX_BEHIND_BYTES) res.write(': keep-alive\n\n');
    }, KEEPALIVE_MS);
    this.keepalive.unref();
  }

  /** Answers GET requests for the page, its files and its event stream; false for paths that are not the page's. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    const match = PAGE_PATH.exec(url.pathname);
    if (!match) return false;
    const name = decodeSegment(match[1]!);
    const asset = match[2] === undefined && name !== undefined && name !== 'index.html' ? ASSETS.get(name) : undefined;
    if (asset) {
      res.writeHead(200, { 'content-type': `${asset.type}; charset=utf-8`, ...SECURITY_HEADERS }).end(asset.text);
      return true;
    }
    const where = name === undefined ? undefined : this.locate(req, name);
    if (!where || name === undefined) {
      json(res, 404, { error: 'no caption page for that meeting here' });
      return true;
    }
    if (match[2] === 'feed') {
      json(res, 426, { error: 'WebSocket upgrade required' });
      return true;
    }
    if (match[2] === undefined) {
      const page = ASSETS.get('index.html')!.text.replaceAll('{{MEETING}}', escapeHtml(name)).replaceAll('{{PUBLIC}}', where.token === undefined ? 'true' : 'false');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...SECURITY_HEADERS }).end(page);
      return true;
    }
    const address = this.addressOf(req);
    const refusal = this.refusal(req, url, where, address);
    if (refusal) {
      json(res, refusal.status, { error: refusal.reason });
      return true;
    }
    this.holdUntilClosed(res);
    if ('feed' in where) this.stream(req, res, where.feed, afterSeq(req.headers['last-event-id'] ?? url.searchParams.get('after')), address);
    else this.elsewhere!.relay.events(req, res, url.pathname, url.searchParams.get('after') ?? undefined, where.remote);
    return true;
  }

  /**
   * Where a reader of the meeting is served, with the page's viewer token: this process's feed, or (in a fleet) the
   * owner's page at another process; never elsewhere for a request another process relayed here already.
   */
  private locate(req: IncomingMessage, name: string): PageLocation | undefined {
    const feed = this.feeds.get(name);
    if (feed) return { feed, token: feed.options.token };
    const remote = req.headers[RELAY_HEADER] === undefined ? this.elsewhere?.find(name) : undefined;
    return remote && { remote, token: remote.token };
  }

  /** Takes WebSocket upgrades to /captions/<meeting>/feed; false for other paths. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): boolean {
    const match = PAGE_PATH.exec(url.pathname);
    if (!match || match[2] !== 'feed') return false;
    const name = decodeSegment(match[1]!);
    const where = name === undefined ? undefined : this.locate(req, name);
    if (!where) {
      refuseUpgrade(socket, 404, 'no caption page for that meeting here');
      return true;
    }
    const address = this.addressOf(req);
    const refusal = this.refusal(req, url, where, address);
    if (refusal) {
      refuseUpgrade(socket, refusal.status, refusal.reason);
      return true;
    }
    this.holdUntilClosed(socket);
    if ('feed' in where) this.wss.handleUpgrade(req, socket, head, (ws) => this.socket(ws, where.feed, afterSeq(url.searchParams.get('after')), address));
    else this.elsewhere!.relay.feed(req, socket, head, url.pathname, url.searchParams.get('after') ?? undefined, where.remote, this.wss);
    return true;
  }

  close(): void {
    clearInterval(this.keepalive);
    for (const res of this.streams) res.end();
    for (const ws of this.wss.clients) closeSocket(ws, 1001, 'server shutting down');
  }

  /** Counts one more reader served until its connection closes. */
  private holdUntilClosed(connection: { once(event: 'close', listener: () => void): unknown }): void {
    this.active += 1;
    connection.once('close', () => (this.active -= 1));
  }

  /** The key a reader's address is counted under for its page's per-address share (an IPv6 /64 is one client). */
  private addressOf(req: IncomingMessage): string {
    return throttleKey(this.guard.clientAddress(req));
  }

  /**
   * Why a reader is refused: a wrong or missing viewer token (throttled per client, apart from ingest and admin), the
   * process's reader budget spent, or a full page or the address's share of it (here only).
   */
  private refusal(req: IncomingMessage, url: URL, where: PageLocation, address: string): { status: number; reason: string } | undefined {
    const expected = where.token;
    if (expected !== undefined) {
      // `address` is already the throttle's key (an IPv6 /64 is one client): the lockout and the share count alike.
      if (this.guard.throttle.blocked(address)) return { status: 429, reason: 'too many failed attempts; try again in a minute' };
      const given = presentedToken(req.headers.authorization) ?? url.searchParams.get('token') ?? undefined;
      if (given === undefined || !tokensMatch(given, expected)) {
        this.guard.throttle.fail(address);
        return { status: 401, reason: given === undefined ? 'this caption page needs its viewer token' : 'wrong viewer token' };
      }
    }
    const budget = this.guard.budget?.maxReaders;
    if (budget !== undefined && this.active >= budget) return { status: 503, reason: `this bridge serves ${budget} readers, the most it takes: try again later` };
    const full = 'feed' in where ? where.feed.refusal(address) : undefined;
    return full ? { status: 503, reason: full } : undefined;
  }

  /** Server-sent events: `caption` events (id = seq, so a reconnecting page resumes where it was), then `end`. */
  private stream(req: IncomingMessage, res: ServerResponse, feed: CaptionFeed, after: number, address: string): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      // Programs (an OBS overlay, an app) read the feed from their own origin; the token, not a cookie, guards it.
      'access-control-allow-origin': '*',
    });
    res.write(`retry: ${RETRY_MS}\n\n`);
    let open = true;
    const reader: FeedReader = {
      send: (caption) => {
        if (!open) return true;
        if (res.writableLength > MAX_BEHIND_BYTES) return false;
        res.write(`id: ${caption.seq}\nevent: caption\ndata: ${JSON.stringify(caption)}\n\n`);
        return true;
      },
      end: (reason) => {
        if (!open) return;
        open = false;
        this.streams.delete(res);
        res.end(`event: end\ndata: ${JSON.stringify({ reason })}\n\n`);
      },
    };
    const joined = feed.join(reader, after, address);
    if ('refused' in joined) {
      res.end(`event: refused\ndata: ${JSON.stringify({ reason: joined.refused })}\n\n`);
      return;
    }
    this.streams.add(res);
    req.on('close', () => {
      open = false;
      this.streams.delete(res);
      feed.leave(reader);
    });
  }

  /** The same captions over WebSocket: {type: "caption", ...} messages, then {type: "end", reason} and a close. */
  private socket(ws: WebSocket, feed: CaptionFeed, after: number, address: string): void {
    const message = (caption: FeedCaption): string => JSON.stringify({ type: 'caption', ...caption });
    const reader: FeedReader = {
      send: (caption) => {
        if (ws.bufferedAmount > MAX_BEHIND_BYTES) return false;
        sendIfOpen(ws, message(caption));
        return true;
      },
      end: (reason) => {
        sendIfOpen(ws, JSON.stringify({ type: 'end', reason }));
        closeSocket(ws, 1001, reason);
      },
    };
    // Readers only read: whatever a reader sends is ignored (pings are answered by ws itself).
    ws.on('error', () => undefined);
    ws.on('close', () => feed.leave(reader));
    const joined = feed.join(reader, after, address);
    if ('refused' in joined) closeSocket(ws, 1013, joined.refused);
  }
}

/** The seq a reader last had (Last-Event-ID, or ?after=), 0 for none or nonsense. */
function afterSeq(value: string | string[] | null | undefined): number {
  const seq = Number(Array.isArray(value) ? value[0] : value);
  return Number.isSafeInteger(seq) && seq > 0 ? seq : 0;
}
