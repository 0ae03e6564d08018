import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import WebSocket, { type WebSocketServer } from 'ws';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { bytesOf, closeSocket, refuseUpgrade, sendIfOpen } from '../util/websocket.js';
import { socketAddress } from '../security/client-address.js';
import { json } from './respond.js';
import { httpOrigin } from '../util/origin.js';
import type { PageElsewhere } from '../control/fleet/fleet.js';

/**
 * Marks a request one process relays to another. The owner answers it only from its own meetings: a process that
 * believes (from an old view) that the meeting runs elsewhere does not relay it again, so two processes never bounce
 * a reader between them.
 */
export const RELAY_HEADER = 'x-caption-bridge-relay';
/** How long the owner may take to answer before the reader is told to try again. */
const CONNECT_TIMEOUT_MS = 5_000;
/** What the owner's answer to a relayed event stream may carry on to the reader. */
const PASSED_HEADERS = ['content-type', 'cache-control', 'x-accel-buffering', 'access-control-allow-origin'];
const UNREACHABLE = 'the process that runs this meeting cannot be reached now; try again';
/** The refusals a caption feed gives (wrong token, no such page, throttled, full), passed on as they are. */
const RELAYED_REFUSALS = new Set([401, 404, 429, 503]);

/**
 * Readers reach any process of a fleet (one Service in front of them all), but a meeting's captions are only at its
 * owner. The reader's token was checked (and its failures throttled) here already, so the owner only ever sees
 * right tokens from a relay and its lockout cannot be turned against relayed readers; X-Forwarded-For names the
 * reader for an owner that trusts the fleet's addresses (http.trustedProxies).
 */
export class PageRelay {
  constructor(
    private readonly processName: string,
    private readonly log: Logger,
  ) {}

  /** Server-sent events from the owner, streamed on as they come; the reader going away ends the owner's stream. */
  events(req: IncomingMessage, res: ServerResponse, path: string, after: string | undefined, target: PageElsewhere): void {
    const url = ownerAddress(target, path, after);
    if (!url) return this.refuseOwner(target, () => json(res, 502, { error: UNREACHABLE }));
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const upstream = send(url, { method: 'GET', headers: this.headers(req, target), timeout: CONNECT_TIMEOUT_MS });
    upstream.on('response', (answer) => {
      upstream.setTimeout(0);
      // Only what a caption feed answers goes on to the reader, from the bridge's own origin: its event stream, or
      // its JSON refusals. Anything else (an HTML page, a redirect) is not the owner's feed.
      const status = answer.statusCode ?? 502;
      const type = String(answer.headers['content-type'] ?? '');
      const expected = status === 200 ? /^text\/event-stream(;|$)/i.test(type) : RELAYED_REFUSALS.has(status) && /^application\/json(;|$)/i.test(type);
      if (!expected) {
        answer.resume();
        this.log.warn({ owner: target.ownerUrl, status, contentType: type.slice(0, 60) }, 'caption page relay: the owner answered something that is not a caption feed');
        return json(res, 502, { error: UNREACHABLE });
      }
      const headers = Object.fromEntries(PASSED_HEADERS.flatMap((name) => (answer.headers[name] === undefined ? [] : [[name, answer.headers[name]!]])));
      res.writeHead(status, headers);
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    });
    upstream.on('timeout', () => upstream.destroy(new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`)));
    upstream.on('error', (err) => {
      this.log.warn({ owner: target.ownerUrl, err: errorMessage(err) }, 'caption page relay: the owner did not answer');
      if (!res.headersSent) json(res, 502, { error: UNREACHABLE });
      else res.destroy();
    });
    res.on('close', () => upstream.destroy());
    upstream.end();
  }

  /** The WebSocket feed: one socket to the owner per reader, messages passed on both ways, closes passed on. */
  feed(req: IncomingMessage, socket: Duplex, head: Buffer, path: string, after: string | undefined, target: PageElsewhere, wss: WebSocketServer): void {
    const url = ownerAddress(target, path, after);
    if (!url) return this.refuseOwner(target, () => refuseUpgrade(socket, 502, UNREACHABLE));
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const upstream = new WebSocket(url, { headers: this.headers(req, target), handshakeTimeout: CONNECT_TIMEOUT_MS, maxPayload: 1024 * 1024 });
    let answered = false;
    // A reader gone before the owner answered leaves no socket to the owner behind.
    socket.once('close', () => upstream.terminate());
    upstream.on('unexpected-response', (_request, answer) => {
      answered = true;
      const status = answer.statusCode ?? 502;
      refuseUpgrade(socket, RELAYED_REFUSALS.has(status) ? status : 502, 'the process that runs this meeting refused the reader');
      upstream.terminate();
    });
    upstream.on('error', (err) => {
      if (answered) return;
      answered = true;
      this.log.warn({ owner: target.ownerUrl, err: errorMessage(err) }, 'caption feed relay: the owner did not answer');
      refuseUpgrade(socket, 502, UNREACHABLE);
    });
    upstream.on('open', () => {
      answered = true;
      wss.handleUpgrade(req, socket, head, (reader) => {
        // Readers only read (the owner ignores what they send); the owner's captions and its close are passed on.
        reader.on('error', () => undefined);
        upstream.on('message', (data, binary) => sendIfOpen(reader, binary ? bytesOf(data) : bytesOf(data).toString('utf8')));
        upstream.on('close', (code, reason) => closeSocket(reader, code === 1005 || code === 1006 ? 1011 : code, reason.toString()));
        reader.on('close', () => closeSocket(upstream, 1000));
      });
    });
  }

  private refuseOwner(target: PageElsewhere, refuse: () => void): void {
    this.log.warn({ owner: target.ownerUrl.slice(0, 100) }, 'caption page relay: the owner\'s address is not an http(s) origin: not relayed');
    refuse();
  }

  private headers(req: IncomingMessage, target: PageElsewhere): Record<string, string> {
    const forwarded = req.headers['x-forwarded-for'];
    const chain = [...(Array.isArray(forwarded) ? forwarded : forwarded ? [forwarded] : []), socketAddress(req)].join(', ');
    const lastEventId = req.headers['last-event-id'];
    return {
      [RELAY_HEADER]: this.processName,
      'x-forwarded-for': chain,
      ...(target.token === undefined ? {} : { authorization: `Bearer ${target.token}` }),
      ...(typeof lastEventId === 'string' ? { 'last-event-id': lastEventId } : {}),
    };
  }
}

/**
 * `path` at the owner, resuming after the reader's last caption, built with the URL API from the owner's origin only
 * (a member record was checked to be a bare origin when written and read; checked again here, where it is used).
 */
function ownerAddress(target: PageElsewhere, path: string, after: string | undefined): URL | undefined {
  const origin = httpOrigin(target.ownerUrl);
  if (origin === undefined) return undefined;
  const url = new URL(origin);
  url.pathname = path;
  if (after !== undefined) url.searchParams.set('after', after);
  return url;
}
