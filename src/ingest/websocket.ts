import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { BridgeError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { socketAddress } from '../security/client-address.js';
import { FailureThrottle } from '../security/throttle.js';
import { presentedToken, tokensMatch } from '../security/tokens.js';
import type { StreamTarget } from './target.js';
import type { AsyncQueue } from '../util/async-queue.js';
import { FINALIZE, PCM_SAMPLE_RATE, type AudioItem } from '../audio.js';
import { createDecoder, ENCODINGS, type Encoding } from './decoders.js';
import { MAX_CHANNELS, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE } from './pcm-converter.js';
import { DeepgramReplies } from './deepgram-replies.js';
import { StreamBuffer } from './stream-buffer.js';
import { bytesOf, closeReason, closeSocket, refuseUpgrade, sendIfOpen } from '../util/websocket.js';
import type { Routes } from './routes.js';
/** 1 MiB is ~33 s of 16 kHz audio in one frame: anything larger is not a live stream. */
const MAX_FRAME_BYTES = 1 << 20;
const HEARTBEAT_MS = 15_000;

/** WebSocket close codes: 1000 normal, 1003 unsupported data, 1007 invalid payload, 1008 policy, 4000+ ours. */
export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  unsupported: 1003,
  invalidPayload: 1007,
  policy: 1008,
  internalError: 1011,
  tryAgain: 1013,
  idle: 4008,
  replaced: 4009,
} as const;

export interface IngestTarget {
  pipeline: StreamTarget;
  token: string;
  idleTimeoutMs: number;
}

export interface IngestGuard {
  throttle: FailureThrottle;
  allowedOrigins: readonly string[];
  /** Why a new stream for this meeting is refused now (not ready, the machine overloaded), or undefined: the meetings' admission decision. */
  refusal: (meetingId: string) => string | undefined;
  /** The client's address, seen through trusted proxies (http.trustedProxies); the socket's by default. */
  clientAddress?: (req: IncomingMessage) => string;
}

/** Bearer (or Deepgram-style "Token") from the Authorization header, else ?token= for browsers. */
function ingestToken(req: IncomingMessage, url: URL): string | undefined {
  return presentedToken(req.headers.authorization, ['Bearer', 'Token']) ?? url.searchParams.get('token') ?? undefined;
}


/** The stream's declared format, or what is wrong with it. Deepgram's query names. */
function streamFormat(url: URL): { encoding: Encoding; sampleRate: number; channels: number } | { problem: string } {
  const encoding = (url.searchParams.get('encoding') ?? 'linear16') as Encoding;
  const sampleRate = Number(url.searchParams.get('sample_rate') ?? PCM_SAMPLE_RATE);
  const channels = Number(url.searchParams.get('channels') ?? 1);
  if (!ENCODINGS.includes(encoding)) return { problem: `encoding "${encoding.slice(0, 40)}" is not supported (use ${ENCODINGS.join(', ')})` };
  if (!Number.isInteger(sampleRate) || sampleRate < MIN_SAMPLE_RATE || sampleRate > MAX_SAMPLE_RATE) {
    return { problem: `sample_rate must be a whole number from ${MIN_SAMPLE_RATE} to ${MAX_SAMPLE_RATE}` };
  }
  if (!Number.isInteger(channels) || channels < 1 || channels > MAX_CHANNELS) return { problem: `channels must be 1 or ${MAX_CHANNELS}` };
  return { encoding, sampleRate, channels };
}

/**
 * WebSocket audio ingest: GET /ingest/<meetingId>, upgraded after the token and format are checked. Binary
 * frames are s16le samples; text frames are JSON control messages (KeepAlive, Finalize, CloseStream).
 * A newer authenticated publisher replaces the current one, so a mixer that reconnects after a network
 * blip never waits for a half-dead connection to time out.
 */
export class WebSocketIngest {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  private readonly publishers = new Map<string, { ws: WebSocket; audio: AsyncQueue<AudioItem> }>();
  private readonly heartbeat: NodeJS.Timeout;
  /** Sockets that answered the last ping; one that misses a whole interval is dead and is terminated. */
  private readonly alive = new WeakSet<WebSocket>();
  private accepting = true;

  constructor(
    private readonly targets: Routes<IngestTarget>,
    private readonly log: Logger,
    private readonly guard: IngestGuard,
  ) {
    this.heartbeat = setInterval(() => {
      for (const ws of this.wss.clients) {
        if (!this.alive.has(ws)) ws.terminate();
        else {
          this.alive.delete(ws);
          ws.ping();
        }
      }
    }, HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /**
   * `meetingId` comes from the path (/ingest/<id>). Deepgram-style clients (/v1/listen) name it with ?meeting=,
   * or not at all: then the meeting is the one whose token they present.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL, meetingId: string | undefined): void {
    if (!this.accepting) return refuseUpgrade(socket, 503, 'shutting down');
    // A web page in a participant's browser must not publish into a meeting: browsers send Origin, mixers do not.
    const origin = req.headers.origin;
    if (origin !== undefined && !this.originAllowed(origin, req.headers.host)) {
      this.log.warn({ origin: origin.slice(0, 100), remote: this.clientAddress(req) }, 'ingest refused: origin not allowed');
      return refuseUpgrade(socket, 403, 'origin not allowed (http.allowedOrigins)');
    }
    const remote = this.clientAddress(req);
    if (this.guard.throttle.blocked(remote)) return refuseUpgrade(socket, 429, 'too many failed attempts; try again in a minute');
    const token = ingestToken(req, url);
    const id = meetingId ?? url.searchParams.get('meeting') ?? [...this.targets.entries()].find(([, t]) => token && tokensMatch(token, t.token))?.[0];
    if (id === undefined) {
      if (token) this.guard.throttle.fail(remote);
      return refuseUpgrade(socket, token ? 401 : 400, token ? 'missing or wrong token' : 'name the meeting (?meeting=) or present its token');
    }
    const target = this.targets.get(id);
    if (!target) return refuseUpgrade(socket, 404, `unknown meeting "${id.slice(0, 64)}"`);
    if (!token || !tokensMatch(token, target.token)) {
      this.guard.throttle.fail(remote);
      this.log.warn({ meeting: id, remote }, 'ingest refused: bad or missing token');
      return refuseUpgrade(socket, 401, 'missing or wrong token');
    }
    const format = streamFormat(url);
    if ('problem' in format) return refuseUpgrade(socket, 400, format.problem);
    const refusal = this.guard.refusal(id);
    if (refusal) {
      this.log.warn({ meeting: id, remote }, `ingest refused: ${refusal}`);
      return refuseUpgrade(socket, 503, refusal);
    }
    // Clients of the Deepgram-compatible path get Deepgram's replies (Results...); /ingest clients only Metadata.
    const deepgram = meetingId === undefined;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, target, req, format, deepgram ? url.searchParams : undefined));
  }

  private clientAddress(req: IncomingMessage): string {
    return (this.guard.clientAddress ?? socketAddress)(req);
  }

  /** The bridge's own pages (the capture page) and the configured origins. */
  private originAllowed(origin: string, host: string | undefined): boolean {
    if (host !== undefined && (origin === `http://${host}` || origin === `https://${host}`)) return true;
    return this.guard.allowedOrigins.includes(origin);
  }

  private accept(
    ws: WebSocket,
    target: IngestTarget,
    req: IncomingMessage,
    format: { encoding: Encoding; sampleRate: number; channels: number },
    deepgramQuery: URLSearchParams | undefined,
  ): void {
    const { pipeline } = target;
    const replies = deepgramQuery
      ? new DeepgramReplies(deepgramQuery, (message) => sendIfOpen(ws, message))
      : undefined;
    const publisher = `${this.clientAddress(req)}:${req.socket.remotePort}`;
    // With noServer, ws emits no 'connection' event: liveness tracking starts here.
    this.alive.add(ws);
    ws.on('pong', () => this.alive.add(ws));
    const log = this.log.child({ meeting: pipeline.id, publisher });
    const buffer = new StreamBuffer(pipeline, (reason) => closeWith(CLOSE.policy, reason));
    const audio = buffer.audio;
    const previous = this.publishers.get(pipeline.id);
    if (previous) {
      log.info('a new publisher replaces the current one');
      // End its audio now: a dead peer would hold the close handshake (and the meeting) for 30 s.
      previous.audio.end();
      closeSocket(previous.ws, CLOSE.replaced, 'replaced by a newer publisher');
    }
    this.publishers.set(pipeline.id, { ws, audio });

    const closeWith = (code: number, reason: string): void => {
      log.warn({ code, reason: closeReason(reason) }, 'closing ingest stream');
      audio.end(); // what was heard so far is still transcribed and captioned
      closeSocket(ws, code, reason);
    };
    const decoder = createDecoder(
      format,
      (samples) => buffer.push(samples),
      (reason) => closeWith(CLOSE.invalidPayload, reason),
    );
    // The end of the input, however it comes: what the decoder still holds is audio too.
    const endInput = (): void => {
      // The client now waits for the last captions; its silence is not idleness.
      clearTimeout(idle);
      void decoder.end().then(
        () => audio.end(),
        (err: unknown) => {
          log.warn({ err: errorMessage(err) }, 'the audio decoder failed at the end of the stream');
          audio.end();
        },
      );
    };

    // Ping/pong finds dead peers; this finds live ones that stopped sending (a stalled or trickling client).
    let idle: NodeJS.Timeout | undefined;
    const stillSending = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => closeWith(CLOSE.idle, `idle: nothing received for ${target.idleTimeoutMs / 1000} s (send audio or KeepAlive)`), target.idleTimeoutMs);
    };
    stillSending();
    ws.on('close', () => clearTimeout(idle));
    const onMessage = (data: RawData, isBinary: boolean): void => {
      stillSending();
      const bytes = bytesOf(data);
      if (isBinary) {
        if (audio.isEnded) return;
        decoder.write(bytes);
        return;
      }
      let message: { type?: unknown };
      try {
        message = JSON.parse(bytes.toString('utf8')) as { type?: unknown };
      } catch {
        return closeWith(CLOSE.invalidPayload, 'text frames must be JSON control messages');
      }
      switch (message?.type) {
        case 'KeepAlive':
          return;
        case 'Finalize':
          return audio.push(FINALIZE);
        case 'CloseStream':
          return endInput();
        default:
          return closeWith(CLOSE.unsupported, `unknown control message type ${JSON.stringify(message?.type ?? null)}`);
      }
    };
    ws.on('message', (data: RawData, isBinary: boolean) => {
      // A peer's frame must never end the process: whatever handling it throws closes this stream only.
      try {
        onMessage(data, isBinary);
      } catch (err) {
        log.error({ err: errorMessage(err) }, 'ingest frame handling failed (a bug): closing this stream');
        closeWith(CLOSE.internalError, 'internal error');
      }
    });
    ws.on('close', endInput);
    ws.on('error', (err) => {
      log.warn({ err: err.message }, 'ingest socket error');
      endInput();
    });

    pipeline
      .runStream(buffer.stream, publisher, replies && ((event) => replies.event(event)))
      .then(
        (summary) => {
          if (buffer.droppedSeconds > 0) log.warn({ droppedSeconds: buffer.droppedSeconds }, 'audio dropped: the recognizer fell behind');
          if (ws.readyState === ws.OPEN) {
            const counts = { captions: summary.captions, words: summary.words, dropped_seconds: buffer.droppedSeconds };
            sendIfOpen(ws, replies ? replies.metadata(buffer.receivedSeconds, counts) : JSON.stringify({ type: 'Metadata', ...counts }));
            closeSocket(ws, CLOSE.normal, 'stream complete');
          }
        },
        (err: unknown) => {
          if (ws.readyState !== ws.OPEN) return;
          // A stream that never reached its meeting (a fleet could not bring it here) says why; an engine failure does not leak details.
          if (err instanceof BridgeError && err.code === 'STREAM_REPLACED') closeSocket(ws, CLOSE.replaced, err.message);
          else if (err instanceof BridgeError && !err.engineFailure && err.retryable) closeSocket(ws, CLOSE.tryAgain, err.message);
          else closeSocket(ws, CLOSE.internalError, 'speech engine failed');
        },
      )
      .finally(() => {
        if (this.publishers.get(pipeline.id)?.ws === ws) this.publishers.delete(pipeline.id);
      });
  }

  /**
   * End one meeting's stream as if its publisher had sent CloseStream: the rest is captioned, then it closes. With
   * `replacedBy`, a newer publisher took the meeting elsewhere: the publisher is told so at once (4009), as when it
   * is replaced here, so it does not reconnect.
   */
  endStream(meetingId: string, replacedBy?: string): void {
    const publisher = this.publishers.get(meetingId);
    publisher?.audio.end();
    if (publisher && replacedBy) closeSocket(publisher.ws, CLOSE.replaced, replacedBy);
  }

  /** Stop taking streams and end the ones running (their audio so far is still captioned). Safe twice. */
  close(): void {
    this.accepting = false;
    clearInterval(this.heartbeat);
    for (const { ws, audio } of this.publishers.values()) {
      audio.end();
      closeSocket(ws, CLOSE.goingAway, 'server shutting down');
    }
  }
}

