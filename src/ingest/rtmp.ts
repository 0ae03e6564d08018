import { createRequire } from 'node:module';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from '../log.js';
import type { StreamTarget } from './target.js';
import { listen } from '../util/listen.js';
import { FfmpegAudio } from './ffmpeg.js';
import { StreamBuffer } from './stream-buffer.js';
import { FailureThrottle, throttleKey } from '../security/throttle.js';
import { tokensMatch } from '../security/tokens.js';
import type { Routes } from './routes.js';

/**
 * node-media-server's RTMP protocol engine (handshake, chunk streams, AMF commands) and its FLV tag writer, used
 * without its server framework. That framework brings an HTTP API, a JSON store in ./data and process-wide
 * state, and it accepts every stream key; here each TCP connection gets its own protocol instance, and the key
 * check, one publisher per meeting and teardown are the bridge's.
 */
interface NmsAvPacket {
  codec_type: number;
}
interface NmsRtmp {
  onConnectCallback: (req: { app: string; name: string }) => void;
  onPlayCallback: () => void;
  onPushCallback: () => void;
  onPacketCallback: (packet: NmsAvPacket) => void;
  onOutputCallback: (buffer: Buffer) => void;
  parserData(buffer: Buffer): string | null;
  sendStatusMessage(streamId: number, level: string, code: string, description: string): void;
  streamId: number;
  /** The parser's internals that a client's declared sizes reach (see `limitParser`). */
  parserPacket: { header: { length: number } };
  inPackets: Map<number, unknown>;
  packetAlloc(): void;
  packetParse(): void;
}
const require = createRequire(import.meta.url);
const Rtmp = require('node-media-server/src/protocol/rtmp.js') as new () => NmsRtmp;
const Flv = require('node-media-server/src/protocol/flv.js') as { createHeader(audio: boolean, video: boolean): Buffer; createMessage(packet: NmsAvPacket): Buffer };
const nmsLogger = require('node-media-server/src/core/logger.js') as { log: (message: string, level?: string) => void };

const FLV_AUDIO = 8;
/** rtmp://HOST:PORT/live/<streamKey>, as OBS and mixers expect. */
export const RTMP_APP = 'live';
/** A connection that has not started publishing by then is closed (a port scanner, a stuck client). */
const PUBLISH_TIMEOUT_MS = 5_000;
const MAX_CONNECTIONS = 200;
/** Connections not yet publishing, in all and per address: a flood of idle ones must not lock publishers out. */
const MAX_UNAUTHENTICATED = 50;
const MAX_UNAUTHENTICATED_PER_ADDRESS = 8;
/**
 * The parser allocates whatever message length a client declares (up to 16 MiB per chunk stream). Before the key
 * check only small command messages are expected; a publisher's video keyframes can be large, audio never is.
 */
const MAX_MESSAGE_BYTES_BEFORE_PUBLISH = 64 * 1024;
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
const MAX_CHUNK_STREAMS = 16;

/**
 * Bounds what one connection can make the protocol engine allocate: each declared message length and the number
 * of chunk streams. A breach throws inside parserData, which closes the connection.
 */
function limitParser(rtmp: NmsRtmp, published: () => boolean): void {
  const alloc = rtmp.packetAlloc.bind(rtmp);
  rtmp.packetAlloc = () => {
    const limit = published() ? MAX_MESSAGE_BYTES : MAX_MESSAGE_BYTES_BEFORE_PUBLISH;
    if (rtmp.parserPacket.header.length > limit) throw new Error(`message of ${rtmp.parserPacket.header.length} bytes exceeds ${limit}`);
    alloc();
  };
  const parse = rtmp.packetParse.bind(rtmp);
  rtmp.packetParse = () => {
    parse();
    if (rtmp.inPackets.size > MAX_CHUNK_STREAMS) throw new Error(`more than ${MAX_CHUNK_STREAMS} chunk streams`);
  };
}
/** A publisher streams continuously; this long without a byte means its network died without a FIN. */
const IDLE_TIMEOUT_MS = 30_000;

export interface RtmpTarget {
  pipeline: StreamTarget;
  streamKey: string;
}

interface Publisher {
  socket: Socket;
  ffmpeg: FfmpegAudio;
}

/**
 * RTMP push ingest: publishers (OBS, mixers, ffmpeg) send to rtmp://HOST:PORT/live/<streamKey>. A wrong key is
 * refused with NetStream.Publish.BadName and the connection closed. The audio tags go, as FLV, straight into
 * one ffmpeg per publisher (AAC, MP3, anything ffmpeg decodes), which writes 16 kHz PCM for the recognizer; video
 * is never forwarded. A newer publisher for a meeting replaces the current one (as on the WebSocket).
 */
export class RtmpIngest {
  private readonly server: Server;
  private readonly publishers = new Map<string, Publisher>();
  private accepting = true;
  /** Connections not yet publishing, oldest first, with the address each came from. */
  private readonly unauthenticated = new Map<Socket, string>();

  constructor(
    private readonly targets: Routes<RtmpTarget>,
    private readonly log: Logger,
    private readonly throttle: FailureThrottle,
    /** Why a new stream for this meeting is refused now (not ready, the machine overloaded), or undefined: the meetings' admission decision. */
    private readonly refusal: (meetingId: string) => string | undefined,
  ) {
    // The library logs with console.log; stdout may be a caption sink.
    nmsLogger.log = (message, level = 'info') => this.log.debug({ nms: level }, message);
    this.server = createServer((socket) => this.accept(socket));
    this.server.maxConnections = MAX_CONNECTIONS;
  }

  /**
   * When too many connections wait without publishing, the oldest goes, not the newcomer: idle connections renewed
   * every few seconds must not lock out a publisher (Zoom's live-stream push included), which publishes at once.
   */
  private makeRoomFor(address: string): void {
    const waiting = [...this.unauthenticated];
    const fromHere = waiting.filter(([, from]) => from === address);
    const oldest = fromHere.length >= MAX_UNAUTHENTICATED_PER_ADDRESS ? fromHere[0] : waiting.length >= MAX_UNAUTHENTICATED ? waiting[0] : undefined;
    if (!oldest) return;
    this.log.warn({ address: oldest[1], waiting: waiting.length, fromThere: fromHere.length }, 'rtmp: too many connections not publishing; the oldest is closed');
    this.unauthenticated.delete(oldest[0]);
    oldest[0].destroy();
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return listen(this.server, port, host, (err) => this.log.error({ err: err.message }, 'RTMP server error'));
  }

  private accept(socket: Socket): void {
    if (!this.accepting) return void socket.destroy();
    const address = throttleKey(socket.remoteAddress);
    this.makeRoomFor(address);
    this.unauthenticated.set(socket, address);
    const authenticated = (): void => void this.unauthenticated.delete(socket);
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    let log = this.log.child({ publisher: remote, via: 'rtmp' });
    socket.setNoDelay(true);
    socket.setTimeout(IDLE_TIMEOUT_MS, () => {
      log.warn(`rtmp publisher sent nothing for ${IDLE_TIMEOUT_MS / 1000} s; closed`);
      socket.destroy();
    });
    const rtmp = new Rtmp();
    let app = '';
    let key = '';
    let publisher: Publisher | undefined;
    limitParser(rtmp, () => publisher !== undefined);
    const timeout = setTimeout(() => {
      log.warn('rtmp connection did not publish in time; closed');
      socket.destroy();
    }, PUBLISH_TIMEOUT_MS);
    const refuse = (code: string, description: string): void => {
      log.warn({ code }, `rtmp publish refused: ${description}`);
      rtmp.sendStatusMessage(rtmp.streamId, 'error', code, description);
      socket.end();
    };

    rtmp.onOutputCallback = (buffer) => {
      if (!socket.destroyed) socket.write(buffer);
    };
    rtmp.onConnectCallback = (req) => {
      app = req.app;
      key = req.name;
    };
    rtmp.onPlayCallback = () => refuse('NetStream.Play.Failed', 'this server takes published streams only');
    rtmp.onPushCallback = () => {
      if (app !== RTMP_APP) return refuse('NetStream.Publish.BadName', `publish to rtmp://host/${RTMP_APP}/<stream key>`);
      if (this.throttle.blocked(socket.remoteAddress)) return refuse('NetStream.Publish.Failed', 'too many failed attempts; try again in a minute');
      const match = [...this.targets.entries()].find(([, t]) => tokensMatch(key, t.streamKey))?.[1];
      if (!match) {
        this.throttle.fail(socket.remoteAddress);
        return refuse('NetStream.Publish.BadName', 'wrong stream key');
      }
      const { pipeline } = match;
      const refusal = this.refusal(pipeline.id);
      if (refusal) return refuse('NetStream.Publish.Failed', refusal);
      clearTimeout(timeout);
      authenticated();
      log = log.child({ meeting: pipeline.id });
      publisher = this.startStream(pipeline, socket, remote, log);
    };
    rtmp.onPacketCallback = (packet) => {
      if (!publisher || packet.codec_type !== FLV_AUDIO) return;
      // Backpressure: while ffmpeg's input is full, stop reading from the publisher (TCP then slows it down).
      const full = publisher.ffmpeg.write(Flv.createMessage(packet));
      if (full && !socket.isPaused()) {
        socket.pause();
        void full.then(() => socket.resume());
      }
    };

    socket.on('data', (data: Buffer) => {
      let problem: string | null;
      try {
        problem = rtmp.parserData(data);
      } catch (err) {
        problem = (err as Error).message;
      }
      if (problem) {
        log.warn({ reason: String(problem).slice(0, 200) }, 'malformed rtmp data; connection closed');
        socket.destroy();
      }
    });
    socket.on('error', (err) => log.debug({ err: err.message }, 'rtmp socket error'));
    socket.on('close', () => {
      clearTimeout(timeout);
      authenticated();
      // The publisher left: ffmpeg decodes what it has, exits, and the stream ends after its last captions.
      publisher?.ffmpeg.endInput();
    });
  }

  private startStream(pipeline: StreamTarget, socket: Socket, remote: string, log: Logger): Publisher {
    const previous = this.publishers.get(pipeline.id);
    if (previous) {
      log.info('a new publisher replaces the current one');
      previous.socket.destroy();
      previous.ffmpeg.endInput();
    }
    const buffer = new StreamBuffer(pipeline, (reason) => {
      log.warn({ reason }, 'rtmp publisher disconnected');
      socket.destroy();
      ffmpeg.endInput();
    });
    const ffmpeg = new FfmpegAudio({ input: ['-f', 'flv', '-i', 'pipe:0'], onSamples: (samples) => buffer.push(samples), log });
    ffmpeg.write(Flv.createHeader(true, false));
    const publisher = { socket, ffmpeg };
    this.publishers.set(pipeline.id, publisher);
    void ffmpeg.exited.then((code) => {
      if (code !== 0 && !socket.destroyed) {
        log.warn({ code }, 'ffmpeg could not decode this stream; connection closed');
        socket.destroy();
      }
      buffer.audio.end();
    });
    log.info('rtmp publisher connected');
    pipeline
      .runStream(buffer.stream, remote)
      .then(
        (summary) => log.info({ ...summary, droppedSeconds: buffer.droppedSeconds }, 'rtmp stream complete'),
        () => socket.destroy(),
      )
      .finally(() => {
        if (this.publishers.get(pipeline.id) === publisher) this.publishers.delete(pipeline.id);
      });
    return publisher;
  }

  /** End one meeting's stream: the rest is captioned, the publisher disconnected (it may reconnect). */
  endStream(meetingId: string): void {
    const publisher = this.publishers.get(meetingId);
    publisher?.socket.destroy();
    publisher?.ffmpeg.endInput();
  }

  /** Stop listening and end the streams running (their audio so far is still captioned). Safe twice. */
  close(): Promise<void> {
    this.accepting = false;
    for (const id of [...this.publishers.keys()]) this.endStream(id);
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
