import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';

/**
 * A protocol-exact stand-in for Zoom's RTMS servers (../shared/reference/zoom-rtms-protocol.txt, section 14): one
 * port, /signaling and /media. It checks the handshake signature, refuses a second signaling socket for the
 * stream (status 8), pings both sockets and closes a socket that misses 3 pings, answers CLIENT_READY_ACK with
 * stream state ACTIVE, and then streams the given speech as 20 ms base64 L16 frames at real-time pace (mixed
 * audio, user_id 0). Failures on demand: drop the audio socket (with event 7 on signaling), drop signaling,
 * end the stream (session STOPPED, stream TERMINATED reason 6).
 */
/** Zoom holds up to 60 s of an interruption's audio (20 ms frames). */
const MAX_HELD_FRAMES = 3_000;

/**
 * A sentence of Zoom's transcript as the stand-in sends it: who said it and when (ms from the start of the speech).
 * Zoom's timing is not known here (no real Zoom): the stand-in opens a sentence once its first word is said, revises
 * it as each word is said (`attribute` 1 then 2; word times spread evenly over the line), and sends it complete
 * `completeAfterMs` after its last word; with
 * `whole`, each sentence comes once, complete (attribute 0), as older servers send it.
 */
export interface TranscriptLine {
  userId: number;
  userName: string;
  text: string;
  startMs: number;
  endMs: number;
  /** First hearings, by word index: a word is sent so while it is the newest, and corrected once the next one is said. */
  misheard?: Record<number, string>;
}

export class FakeRtms {
  get meetingUuid(): string {
    return this.options.meetingUuid ?? 'Pc3o/7lMTBaZ//vG0bIxdQ==';
  }

  get streamId(): string {
    return this.options.streamId ?? '609340fb2a7946909659956c8aa9250c';
  }
  /** `closedForMissedPings`: sockets closed after three unanswered pings in a row (Zoom's rule). */
  readonly counts = { signaling: 0, media: 0, readyAcks: 0, pongs: 0, closedForMissedPings: 0, framesSent: 0 };
  /** Status codes the fake answered handshakes with (0 = accepted). */
  readonly handshakes: { socket: 'signaling' | 'media'; status: number }[] = [];
  /** When each audio handshake was accepted (ms). */
  readonly mediaAcceptedAt: number[] = [];
  subscribedEvents: number[] = [];
  private server: Server | undefined;
  private readonly wss = new WebSocketServer({ noServer: true });
  private signaling: WebSocket | undefined;
  private media: WebSocket | undefined;
  private transcriptSocket: WebSocket | undefined;
  /** The transcript handshakes' media_params.transcript, as sent. */
  readonly transcriptRequests: Record<string, unknown>[] = [];
  /** Transcript messages sent (msg 17). */
  transcriptMessages = 0;
  private transcriptSent = new Map<number, number>();
  private audioTimer: NodeJS.Timeout | undefined;
  private position = 0;
  private streamStart = 0;
  private framesDue = 0;
  private readonly pings: NodeJS.Timeout[] = [];
  /** Frames of an interruption, oldest first, waiting for an audio socket (replayInterruptions). */
  private readonly held: { frame: Int16Array; timestamp: number }[] = [];

  constructor(
    private readonly credentials: { clientId: string; clientSecret: string },
    private readonly speech: Int16Array,
    private readonly options: {
      keepAliveMs?: number;
      /** As Zoom's servers do (its samples say so): keep-alives only while no audio flows. */
      pingOnlyWhenIdle?: boolean;
      /** The audio URL the signaling handshake answer names, instead of this server's own. */
      mediaUrl?: string;
      /** The app may not take this meeting's audio: the audio handshake is refused with status 9. */
      audioNotSupported?: boolean;
      /** Several stand-ins at once play several meetings: each its own instance and stream. */
      meetingUuid?: string;
      streamId?: string;
      /**
       * A Video SDK session's stream: meetingUuid is the session id, and (as Zoom's Python library sends it) the
       * handshake must name it as session_id too; the signature is over the session id.
       */
      session?: boolean;
      /**
       * As Zoom documents (reference section 7.3, also with buffer_data false): the audio of an interruption (up to
       * 60 s) is held and sent in a burst once an audio socket is back, by whichever client reconnects. Off: it is
       * lost, the worst case.
       */
      replayInterruptions?: boolean;
      /** Zoom's transcript of the speech, for a client that opens a transcript socket (media_type 8). */
      transcript?: { lines: TranscriptLine[]; completeAfterMs?: number; whole?: boolean; sentenceIds?: boolean };
      /** The app may not take the meeting's transcript: the transcript handshake is refused with status 12. */
      transcriptNotSupported?: boolean;
    } = {},
  ) {}

  /** The signaling handshakes received, as sent (buffer_data and all). */
  readonly signalingRequests: Record<string, unknown>[] = [];
  private lastAudioSentAt = 0;

  get url(): string {
    return `ws://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  /** Whether a client holds the stream's signaling or audio socket now. */
  get connected(): boolean {
    return [this.signaling, this.media].some((ws) => ws !== undefined && ws.readyState === ws.OPEN);
  }

  /** Seconds of speech sent so far. */
  get sentSeconds(): number {
    return this.position / 16_000;
  }

  get finishedSpeech(): boolean {
    return this.position >= this.speech.length;
  }

  async start(): Promise<string> {
    this.server = createServer((_req, res) => res.writeHead(426).end());
    this.server.on('upgrade', (req, socket, head) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path !== '/signaling' && path !== '/media') return void socket.destroy();
      this.wss.handleUpgrade(req, socket, head, (ws) => (path === '/signaling' ? this.onSignaling(ws) : this.onMedia(ws)));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `${this.url}/signaling`;
  }

  private signatureFor(uuid: unknown, stream: unknown): string {
    return createHmac('sha256', this.credentials.clientSecret).update(`${this.credentials.clientId},${String(uuid)},${String(stream)}`).digest('hex');
  }

  private checkIdentity(message: Record<string, unknown>): number {
    if (message.meeting_uuid !== this.meetingUuid || message.rtms_stream_id !== this.streamId) return 2;
    if (this.options.session && message.session_id !== this.meetingUuid) return 2;
    if (message.signature !== this.signatureFor(message.meeting_uuid, message.rtms_stream_id)) return 3;
    return 0;
  }

  private onSignaling(ws: WebSocket): void {
    this.counts.signaling += 1;
    let handshaken = false;
    ws.on('message', (data) => {
      const message = parse(data);
      if (!message) return;
      if (!handshaken) {
        if (message.msg_type !== 1) return ws.close(1002, 'expected SIGNALING_HAND_SHAKE_REQ');
        this.signalingRequests.push(message);
        let status = this.checkIdentity(message);
        if (status === 0 && this.signaling && this.signaling.readyState === this.signaling.OPEN) status = 8;
        this.handshakes.push({ socket: 'signaling', status });
        if (status !== 0) {
          send(ws, { msg_type: 2, protocol_version: 1, sequence: 0, status_code: status, reason: status === 8 ? 'duplicate signal request' : 'refused' });
          return void ws.close(1000);
        }
        handshaken = true;
        this.signaling = ws;
        send(ws, {
          msg_type: 2,
          protocol_version: 1,
          sequence: 0,
          status_code: 0,
          reason: '',
          media_server: {
            server_urls: {
              audio: this.options.mediaUrl ?? `${this.url}/media`,
              ...(this.options.transcript || this.options.transcriptNotSupported ? { transcript: `${this.url}/media` } : {}),
              all: this.options.mediaUrl ?? `${this.url}/media`,
            },
          },
        });
        send(ws, { msg_type: 9, rtms_session_id: 'session-1', state: 2, stop_reason: 0, timestamp: Date.now() });
        send(ws, { msg_type: 6, event: { event_type: 1, timestamp: Date.now() } });
        this.keepAlive(ws);
        return;
      }
      if (message.msg_type === 5 && Array.isArray(message.events)) {
        this.subscribedEvents = (message.events as { event_type: number; subscribe: boolean }[]).filter((e) => e.subscribe).map((e) => e.event_type);
      }
      if (message.msg_type === 7) {
        this.counts.readyAcks += 1;
        send(ws, { msg_type: 8, state: 1, reason: 0, timestamp: Date.now() });
        if (this.subscribedEvents.includes(2)) send(ws, { msg_type: 6, event: { event_type: 2, timestamp: Date.now(), user_id: 16778240, user_name: 'Elinor Dashwood' } });
        this.startAudio();
      }
    });
    ws.on('close', () => {
      if (this.signaling === ws) this.signaling = undefined;
    });
  }

  private onMedia(ws: WebSocket): void {
    this.counts.media += 1;
    ws.once('message', (data) => {
      const message = parse(data);
      if (!message || message.msg_type !== 3) return void ws.close(1002, 'expected DATA_HAND_SHAKE_REQ');
      let status = this.checkIdentity(message);
      const type = Number(message.media_type);
      if (type === 8) return this.onTranscriptHandshake(ws, message, status);
      if (status === 0 && !(type & 1) && type !== 32) status = 7;
      if (status === 0 && this.options.audioNotSupported) status = 9;
      const audio = ((message.media_params as { audio?: Record<string, number> } | undefined)?.audio ?? {}) as Record<string, number>;
      if (status === 0 && audio.send_rate !== undefined && audio.send_rate % 20 !== 0) status = 24;
      if (status === 0 && this.media && this.media.readyState === this.media.OPEN) status = 16;
      this.handshakes.push({ socket: 'media', status });
      if (status !== 0) {
        send(ws, { msg_type: 4, protocol_version: 1, status_code: status, reason: 'refused', sequence: 0 });
        return void ws.close(1000);
      }
      this.media = ws;
      this.mediaAcceptedAt.push(Date.now());
      send(ws, {
        msg_type: 4,
        protocol_version: 1,
        status_code: 0,
        reason: '',
        sequence: 0,
        payload_encrypted: false,
        media_params: { audio: { content_type: 2, sample_rate: 1, channel: 1, codec: 1, data_opt: 1, send_rate: 20, ...audio } },
      });
      this.keepAlive(ws);
    });
    ws.on('close', () => {
      if (this.media === ws) this.media = undefined;
    });
  }

  /** A transcript socket (media_type 8): TEXT content, a language Zoom has (or -1), one socket per stream. */
  private onTranscriptHandshake(ws: WebSocket, message: Record<string, unknown>, identity: number): void {
    const params = ((message.media_params as { transcript?: Record<string, unknown> } | undefined)?.transcript ?? {}) as Record<string, unknown>;
    this.transcriptRequests.push(params);
    let status = identity;
    if (status === 0 && this.options.transcriptNotSupported) status = 12;
    if (status === 0 && params.content_type !== undefined && params.content_type !== 5) status = 37;
    const language = params.src_language;
    if (status === 0 && language !== undefined && !(Number.isInteger(language) && (language as number) >= -1 && (language as number) <= 36)) status = 43;
    if (status === 0 && this.transcriptSocket && this.transcriptSocket.readyState === this.transcriptSocket.OPEN) status = 16;
    this.handshakes.push({ socket: 'media', status });
    if (status !== 0) {
      send(ws, { msg_type: 4, protocol_version: 1, status_code: status, reason: 'refused', sequence: 0 });
      return void ws.close(1000);
    }
    this.transcriptSocket = ws;
    send(ws, { msg_type: 4, protocol_version: 1, status_code: 0, reason: '', sequence: 0, payload_encrypted: false, media_params: { transcript: { content_type: 5, ...params } } });
    this.keepAlive(ws);
    ws.on('close', () => {
      if (this.transcriptSocket === ws) this.transcriptSocket = undefined;
    });
  }

  /**
   * What Zoom's transcript says by `atMs` of the speech: each line's newest state not yet sent. A line opens with its
   * first word said, grows word by word (the misheard form first, if any), and is complete completeAfterMs after it ends.
   */
  private sendTranscript(atMs: number): void {
    const script = this.options.transcript;
    const ws = this.transcriptSocket;
    if (!script || !ws || ws.readyState !== ws.OPEN) return;
    const completeAfter = script.completeAfterMs ?? 600;
    script.lines.forEach((line, index) => {
      if (atMs < line.startMs) return;
      const complete = atMs >= line.endMs + completeAfter;
      const words = line.text.split(' ');
      const said = complete ? words.length : Math.max(1, Math.ceil((words.length * (Math.min(atMs, line.endMs) - line.startMs)) / Math.max(1, line.endMs - line.startMs)));
      // State: how many words went out, or 1000 once complete.
      const state = complete ? 1_000 : said;
      const before = this.transcriptSent.get(index);
      if (before === state) return;
      if (script.whole && !complete) return;
      this.transcriptSent.set(index, state);
      const heard = words.slice(0, said);
      const newest = line.misheard?.[said - 1];
      if (!complete && newest !== undefined) heard[said - 1] = newest;
      const text = heard.join(' ');
      const attribute = script.whole ? 0 : before === undefined ? 1 : 2;
      this.transcriptMessages += 1;
      send(ws, {
        msg_type: 17,
        content: {
          user_id: line.userId,
          user_name: line.userName,
          start_time: this.streamStart + line.startMs,
          end_time: this.streamStart + Math.min(atMs, line.endMs),
          timestamp: this.streamStart + Math.min(atMs, line.endMs + completeAfter),
          language: 9,
          attribute,
          ...(script.sentenceIds ? { sentence_id: `sentence-${index}` } : {}),
          data: text,
        },
      });
    });
  }

  /** Pings every keepAliveMs; three unanswered in a row close the socket, as Zoom does. */
  private keepAlive(ws: WebSocket): void {
    const interval = this.options.keepAliveMs ?? 10_000;
    let unanswered = 0;
    let last = 0;
    ws.on('message', (data) => {
      const message = parse(data);
      if (message?.msg_type === 13 && message.timestamp === last) {
        unanswered = 0;
        this.counts.pongs += 1;
      }
    });
    const timer = setInterval(() => {
      if (this.options.pingOnlyWhenIdle && Date.now() - this.lastAudioSentAt < interval) return;
      if (unanswered >= 3) {
        clearInterval(timer);
        this.counts.closedForMissedPings += 1;
        return void ws.terminate();
      }
      last = Date.now();
      unanswered += 1;
      send(ws, { msg_type: 12, timestamp: last });
    }, interval);
    this.pings.push(timer);
    ws.on('close', () => clearInterval(timer));
  }

  /** Real-time pace by the clock (not by counting timer ticks, which drift): frames due so far are sent. */
  private startAudio(): void {
    if (this.audioTimer) return;
    this.streamStart = Date.now();
    this.framesDue = 0;
    this.audioTimer = setInterval(() => {
      const due = Math.floor((Date.now() - this.streamStart) / 20);
      for (; this.framesDue < due && this.position < this.speech.length; this.framesDue++) {
        const frame = this.speech.subarray(this.position, this.position + 320);
        this.position += 320;
        const timestamp = this.streamStart + this.framesDue * 20;
        if (!this.media || this.media.readyState !== this.media.OPEN) {
          if (this.options.replayInterruptions) this.held.push({ frame, timestamp });
          if (this.held.length > MAX_HELD_FRAMES) this.held.shift();
          continue;
        }
        for (const late of this.held.splice(0)) this.sendFrame(this.media, late.frame, late.timestamp);
        this.sendFrame(this.media, frame, timestamp);
      }
      this.sendTranscript(this.framesDue * 20);
      if (this.position >= this.speech.length) {
        // Zoom completes the sentences still open once the speech has ended.
        this.sendTranscript(Infinity);
        clearInterval(this.audioTimer);
      }
    }, 10);
  }

  private sendFrame(media: WebSocket, frame: Int16Array, timestamp: number): void {
    const bytes = Buffer.alloc(frame.length * 2);
    frame.forEach((sample, i) => bytes.writeInt16LE(sample, i * 2));
    send(media, { msg_type: 14, content: { user_id: 0, data: bytes.toString('base64'), length: bytes.length, timestamp } });
    this.counts.framesSent += 1;
    this.lastAudioSentAt = Date.now();
  }

  /** Zoom names a new active speaker (event 2), stamped on the audio's clock as its packets are. */
  activeSpeaker(userId: number, userName: string): void {
    if (this.signaling) send(this.signaling, { msg_type: 6, event: { event_type: 2, timestamp: this.streamStart + this.framesDue * 20, user_id: userId, user_name: userName } });
  }

  /** Participants join (event 3), for a client that subscribed to it. */
  participantJoin(participants: { userId: number; userName: string }[]): void {
    if (this.signaling && this.subscribedEvents.includes(3)) {
      send(this.signaling, { msg_type: 6, event: { event_type: 3, timestamp: Date.now(), participants: participants.map((p) => ({ user_id: p.userId, user_name: p.userName })) } });
    }
  }

  /** The audio socket breaks (no close frame); Zoom tells signaling with event 7. */
  dropMedia(): void {
    this.media?.terminate();
    if (this.signaling) send(this.signaling, { msg_type: 6, event: { event_type: 7, timestamp: Date.now() } });
  }

  /** The signaling socket breaks (Zoom would then post rtms_interrupted). */
  dropSignaling(): void {
    this.signaling?.terminate();
    this.media?.terminate();
  }

  /** Zoom stops the session (msg 9 state STOPPED) and drops both sockets, without a stream state. */
  stopSession(): void {
    clearInterval(this.audioTimer);
    if (this.signaling) send(this.signaling, { msg_type: 9, rtms_session_id: 'session-1', state: 5, stop_reason: 2, timestamp: Date.now() });
    setTimeout(() => {
      this.signaling?.terminate();
      this.media?.terminate();
    }, 100);
  }

  /** The meeting ends: session STOPPED, stream TERMINATED (reason 6 MEETING_ENDED), sockets closed. */
  endStream(): void {
    clearInterval(this.audioTimer);
    if (this.signaling) {
      send(this.signaling, { msg_type: 9, rtms_session_id: 'session-1', state: 5, stop_reason: 6, timestamp: Date.now() });
      send(this.signaling, { msg_type: 8, state: 4, reason: 6, timestamp: Date.now() });
      this.signaling.close(1000);
    }
    this.media?.close(1000);
  }

  async stop(): Promise<void> {
    clearInterval(this.audioTimer);
    for (const timer of this.pings) clearInterval(timer);
    for (const client of this.wss.clients) client.terminate();
    this.transcriptSocket = undefined;
    this.wss.close();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

function parse(data: RawData): Record<string, unknown> | undefined {
  try {
    return JSON.parse(String(data)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

function send(ws: WebSocket, message: Record<string, unknown>): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
}
