import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocketIngest } from '../ingest/websocket.js';
import { socketAddress } from '../security/client-address.js';
import { FailureThrottle } from '../security/throttle.js';
import { presentedToken, tokensMatch } from '../security/tokens.js';
import { refuseUpgrade } from '../util/websocket.js';
import type { BridgeMetrics } from '../metrics.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { listen } from '../util/listen.js';
import type { MeetingControl, MeetingView } from '../pipeline/types.js';
import { sendMetrics } from './metrics-listener.js';
import { capacityOf, NO_PROCESS_LOAD, type ProcessLoad } from '../control/capacity.js';
import { OperatorConsole } from './console.js';
import { decodeSegment, json, readBody } from './respond.js';
import { CaptionPages, type ReaderBudget } from './caption-page.js';
import type { AdminRefusal } from './console.js';
import { DEFAULT_MAX_READERS } from '../caption/options.js';
import { PageRelay } from './page-relay.js';
import type { PageElsewhere } from '../control/fleet/fleet.js';
import type { CaptionFeed } from '../caption/caption-feed.js';
import type { Routes } from '../ingest/routes.js';
import type { ZoomWebhookEvent, ZoomWebhookVerifier } from '../zoom-api/webhook.js';
import { CAPTURE_PATH, serveCapture } from './capture-page.js';

const INGEST_PATH = /^\/ingest\/([^/]+)\/?$/;

/**
 * The request target as a URL, or undefined when it is not one. Prefixing the origin (instead of resolving
 * against a base) keeps `//x` a path: resolved, it is a protocol-relative URL with an empty host, and throws.
 */
function requestUrl(req: IncomingMessage): URL | undefined {
  const target = req.url ?? '/';
  if (!target.startsWith('/')) return undefined;
  try {
    return new URL(`http://localhost${target}`);
  } catch {
    return undefined;
  }
}

/** Sockets kept for everything but readers: mixers, webhooks, health checks, consoles, requests under way. */
const CONNECTIONS_BESIDES_READERS = 1_000;

/** Zoom's webhook bodies are small JSON documents. */
const MAX_WEBHOOK_BYTES = 64 * 1024;

/** A fleet as the HTTP endpoints show it (src/control/fleet): why it takes no meetings now, and who owns what. */
export interface FleetStatus {
  /** This process's name in the fleet. */
  readonly process: string;
  problem(): string | undefined;
  view(): unknown;
  /** A meeting's caption page that another process serves: readers reaching this one are relayed there. */
  pageElsewhere(meeting: string): PageElsewhere | undefined;
}

export interface WebhookHandler {
  verifier: ZoomWebhookVerifier;
  /** Called after Zoom has been answered (Zoom wants a 2xx within 3 s). */
  onEvent(event: ZoomWebhookEvent): void;
}

/** Health, readiness and the WebSocket ingest on one port. */
export class HttpServer {
  private readonly server: Server;
  private closing: Promise<void> | undefined;

  private readonly meetings: () => readonly MeetingView[];
  private readonly ingest: WebSocketIngest;
  private readonly log: Logger;
  private readonly webhook: WebhookHandler | undefined;
  private readonly videoSdkWebhook: WebhookHandler | undefined;
  private readonly metrics: BridgeMetrics;
  private readonly adminToken: string | undefined;
  private readonly throttle: FailureThrottle;
  private readonly console: OperatorConsole;
  private readonly clientAddress: (req: IncomingMessage) => string;
  private readonly fleet: FleetStatus | undefined;
  private readonly load: ProcessLoad;
  private readonly pages: CaptionPages | undefined;

  constructor(options: {
    /** A function: the set changes when the config is reloaded. */
    meetings: () => readonly MeetingView[];
    ingest: WebSocketIngest;
    log: Logger;
    metrics: BridgeMetrics;
    webhook?: WebhookHandler;
    /** A Zoom Video SDK app's session events, on /zoom/videosdk/webhook (signed with that app's own secret). */
    videoSdkWebhook?: WebhookHandler;
    /** Guards /meetings and /metrics; without it /meetings is off and /metrics is open. */
    adminToken?: string;
    /** Shared with the ingest, so guessing at either counts against the same address. */
    throttle?: FailureThrottle;
    /** How many readers the whole process takes (http.maxReaders). */
    readerBudget?: ReaderBudget;
    /** The meetings the operator console watches and steers (it needs adminToken). */
    controls?: () => readonly MeetingControl[];
    /** The client's address, seen through trusted proxies (http.trustedProxies); the socket's by default. */
    clientAddress?: (req: IncomingMessage) => string;
    /** The fleet this process belongs to: /readyz needs it joined, /meetings shows every meeting's owner. */
    fleet?: FleetStatus;
    /** The meetings' caption pages and feeds (/captions/<meeting>), by meeting id. */
    captionFeeds?: Routes<CaptionFeed>;
    /** How loaded the process is (capacity.ts): /readyz says overloaded when it is short of CPU. */
    load?: ProcessLoad;
  }) {
    this.fleet = options.fleet;
    this.load = options.load ?? NO_PROCESS_LOAD;
    this.videoSdkWebhook = options.videoSdkWebhook;
    ({ meetings: this.meetings, ingest: this.ingest, log: this.log, webhook: this.webhook, metrics: this.metrics, adminToken: this.adminToken } = options);
    this.throttle = options.throttle ?? new FailureThrottle();
    this.clientAddress = options.clientAddress ?? socketAddress;
    const fleet = options.fleet;
    const elsewhere = fleet && { find: (meeting: string) => fleet.pageElsewhere(meeting), relay: new PageRelay(fleet.process, this.log) };
    // Readers' wrong viewer tokens are counted apart: the audience (often behind the same NAT as the mixer) holds the
    // least trusted token, and guessing at it must never lock the mixer out of ingest or the operator out of admin.
    const budget = options.readerBudget ?? { maxReaders: DEFAULT_MAX_READERS };
    this.pages = options.captionFeeds && new CaptionPages(options.captionFeeds, { throttle: new FailureThrottle(), clientAddress: this.clientAddress, log: this.log, budget }, elsewhere);
    this.console = new OperatorConsole({
      meetings: options.controls ?? (() => []),
      adminRefusal: this.adminToken === undefined ? undefined : (req) => this.adminRefusal(req),
      clientAddress: this.clientAddress,
      log: this.log,
    });
    // A peer's request must never end the process: whatever a handler throws becomes a 500 or a closed socket.
    this.server = createServer((req, res) => {
      try {
        this.route(req, res);
      } catch (err) {
        this.failRequest(req, res, err);
      }
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      try {
        this.upgrade(req, socket, head);
      } catch (err) {
        this.log.error({ path: req.url?.split('?')[0]?.slice(0, 100), err: errorMessage(err) }, 'upgrade handler failed');
        socket.destroy();
      }
    });
    this.server.on('clientError', (_err, socket) => socket.destroy());
    // Slow or idle clients must not pile up: headers within 10 s, a whole request within 30 s. The socket cap is the
    // readers' budget (enforced per reader by the caption pages) plus room that readers can never take: ingest,
    // webhooks, health checks and the console keep theirs however many readers come.
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
    this.server.keepAliveTimeout = 5_000;
    this.server.maxConnections = (this.pages ? budget.maxReaders : 0) + CONNECTIONS_BESIDES_READERS;
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return listen(this.server, port, host, (err) => this.log.error({ err: errorMessage(err) }, 'HTTP server error'));
  }

  get ready(): boolean {
    return this.server.listening && !this.closing && this.meetings().every((m) => m.state === 'ready' || m.state === 'streaming');
  }

  private failRequest(req: IncomingMessage, res: ServerResponse, err: unknown): void {
    // The path only: a query may carry a token (the capture page's ?token=).
    this.log.error({ method: req.method, path: req.url?.split('?')[0]?.slice(0, 100), err: errorMessage(err) }, 'request handler failed');
    if (res.headersSent) return void res.destroy();
    json(res, 500, { error: 'internal error' });
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    const url = requestUrl(req);
    if (!url) return json(res, 400, { error: 'bad request target' });
    const webhook = url.pathname === '/zoom/webhook' ? this.webhook : url.pathname === '/zoom/videosdk/webhook' ? this.videoSdkWebhook : undefined;
    if (webhook) return void this.zoomWebhook(req, res, webhook).catch((err: unknown) => this.failRequest(req, res, err));
    if (url.pathname === '/zoom/webhook' || url.pathname === '/zoom/videosdk/webhook') {
      const setting = url.pathname === '/zoom/webhook' ? 'zoomApi.webhookSecret or rtmsApp.webhookSecret' : 'the videoSdk section';
      return json(res, 404, { error: `Zoom webhooks are off on this bridge: set ${setting} (the app's Secret Token) to take them` });
    }
    if ((url.pathname === '/console' || url.pathname.startsWith('/console/')) && this.console.handle(req, res, url.pathname)) return;
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'method not allowed' });
    switch (url.pathname) {
      case '/healthz':
        return json(res, 200, { status: 'ok' });
      case '/readyz': {
        // A machine whose engines are seconds behind should take no new meetings: a load balancer reading this
        // sends them elsewhere, while the streams already here go on.
        const { behindSeconds: behind, overloaded, reason, loopDelayMs, cpuWaitMs } = capacityOf(this.meetings(), this.load);
        const fleetProblem = this.fleet?.problem();
        const ready = this.ready && !overloaded && fleetProblem === undefined;
        return json(res, ready ? 200 : 503, {
          status: ready ? 'ready' : overloaded ? 'overloaded' : 'not ready',
          ...(reason ? { reason } : {}),
          eventLoopDelayMs: loopDelayMs,
          cpuWaitMsPerSecond: cpuWaitMs,
          ...(fleetProblem ? { fleet: fleetProblem } : {}),
          meetings: Object.fromEntries(this.meetings().map((m) => [m.id, m.state])),
          ...(Object.keys(behind).length > 0 ? { behindSeconds: behind } : {}),
        });
      }
      case '/metrics': {
        const refused = this.adminToken === undefined ? undefined : this.adminRefusal(req);
        if (refused) return json(res, refused.status, { error: refused.error });
        return sendMetrics(res, this.metrics, this.log);
      }
      case '/meetings': {
        if (this.adminToken === undefined) return json(res, 404, { error: 'set http.adminToken to enable /meetings' });
        const refused = this.adminRefusal(req);
        if (refused) return json(res, refused.status, { error: refused.error });
        return json(res, 200, { meetings: this.meetings().map((m) => m.snapshot()), ...(this.fleet ? { fleet: this.fleet.view() } : {}) });
      }
      default: {
        if (INGEST_PATH.test(url.pathname)) return json(res, 426, { error: 'WebSocket upgrade required' });
        if (this.pages?.handle(req, res, url)) return;
        const capture = CAPTURE_PATH.exec(url.pathname);
        const isWebSocketMeeting = (id: string): boolean => this.meetings().some((m) => m.id === id && m.snapshot().source === 'websocket');
        const name = capture ? decodeSegment(capture[1]!) : undefined;
        if (name !== undefined && serveCapture(name, res, isWebSocketMeeting)) return;
        if (capture) return json(res, 404, { error: 'no meeting with a websocket source by that id' });
        return json(res, 404, { error: 'not found' });
      }
    }
  }

  /** Why an admin request is refused (no token, a wrong one, or an address blocked after wrong ones), or undefined. */
  private adminRefusal(req: IncomingMessage): AdminRefusal | undefined {
    const remote = this.clientAddress(req);
    if (this.throttle.blocked(remote)) return { status: 429, error: 'too many failed attempts from this address; try again in a minute' };
    const given = presentedToken(req.headers.authorization);
    if (given !== undefined && this.adminToken !== undefined && tokensMatch(given, this.adminToken)) return undefined;
    if (given !== undefined) this.throttle.fail(remote);
    return { status: 401, error: given === undefined ? 'admin token required' : 'wrong admin token' };
  }

  private async zoomWebhook(req: IncomingMessage, res: ServerResponse, webhook: WebhookHandler): Promise<void> {
    if (req.method !== 'POST') return json(res, 405, { error: 'method not allowed' });
    const body = await readBody(req, MAX_WEBHOOK_BYTES);
    if (!body) return json(res, 413, { error: 'body too large' });
    const verdict = await webhook.verifier.verify(req.headers, body);
    if (!verdict.ok) {
      this.log.warn({ reason: verdict.reason, remote: this.clientAddress(req) }, 'Zoom webhook refused');
      return json(res, verdict.status, { error: verdict.reason });
    }
    const { event, signedWith } = verdict;
    const challenge = webhook.verifier.challengeReply(event, signedWith);
    if (challenge) return json(res, challenge.status, challenge.body);
    json(res, 200, { status: 'received' });
    webhook.onEvent(event);
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', (err) => this.log.debug({ err: err.message }, 'upgrade socket error'));
    const url = requestUrl(req);
    if (!url) return refuseUpgrade(socket, 400);
    // Deepgram's live streaming path: existing Deepgram clients stream here unchanged.
    if (url.pathname === '/v1/listen') return this.ingest.handleUpgrade(req, socket, head, url, undefined);
    if (this.pages?.upgrade(req, socket, head, url)) return;
    const match = INGEST_PATH.exec(url.pathname);
    if (!match) return refuseUpgrade(socket, 404);
    const meetingId = decodeSegment(match[1]!);
    if (meetingId === undefined) return refuseUpgrade(socket, 400);
    this.ingest.handleUpgrade(req, socket, head, url, meetingId);
  }

  /** Stop listening; open sockets end as their streams finish. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => {
      this.console.close();
      this.pages?.close();
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
    return this.closing;
  }
}

