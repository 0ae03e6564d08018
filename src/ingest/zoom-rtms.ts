import { systemClock, type Clock } from '../util/clock.js';
import WebSocket, { type RawData } from 'ws';
import { bytesOf } from '../util/websocket.js';
import { PCM_SAMPLE_RATE, samplesFromBytes } from '../audio.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { StreamTarget } from './target.js';
import { StreamBuffer } from './stream-buffer.js';
import { Backoff, type RetryPolicy } from '../util/backoff.js';
import { proxyAgentFor } from '../util/proxy.js';
import {
  AUDIO_PARAMS,
  dialRefusal,
  DUPLICATE_SIGNAL_RETRIES,
  DUPLICATE_SIGNAL_STATUS,
  EVENT,
  firstWebSocketUrl,
  MEDIA_TYPE,
  MSG,
  rtmsSignature,
  rtmsStatus,
  SESSION_STATE_STOPPED,
  STREAM_STATE_TERMINATED,
  transcriptParams,
  type RtmsCredentials,
} from '../zoom-api/rtms-protocol.js';
import type { SourceSpeaker, SourceTranscript } from '../audio.js';

export type { RtmsCredentials };

export interface RtmsStart {
  /** meeting_uuid (or webinar_uuid, or a Video SDK session's session_id): the instance, as Zoom sent it. */
  instanceUuid: string;
  /**
   * A Video SDK session's stream. Its handshake is signed over the session id like a meeting's over its uuid; Zoom's
   * JavaScript library sends the id as meeting_uuid, its Python library as session_id: both are sent.
   */
  session?: true;
  streamId: string;
  /** The webhook's server_urls: comma-separated; the first ws(s):// entry is used. */
  serverUrls: string;
}


export interface RtmsOptions {
  /** Zoom's guidance: 3, 6, 12, 24, then every 30 s; the server keeps a dropped stream ~60 s. */
  reconnect?: RetryPolicy;
  /**
   * Without any message from the RTMS server (either socket) for this long the connection is presumed dead and
   * redialled. Audio counts: Zoom sends keep-alives only while no audio flows.
   */
  keepAliveWatchdogMs?: number;
  /** Hosts besides Zoom's own that server URLs may name (config zoomApi.rtmsHosts); ws:// is allowed only for these. */
  allowedHosts?: readonly string[];
  /** The config key that lists them, named when a URL is refused (the Zoom app's, or the Video SDK app's). */
  hostsSetting?: string;
  /** What the reconnect schedule, the silence fill and the watchdog read time from (tests move it by hand). */
  clock?: Clock;
  /** The meeting shows who speaks by name (display.speakerNames): Zoom's display names go on with each change of speaker. */
  speakerNames?: boolean;
  /**
   * The meeting's engine reads Zoom's own transcript (asr.engine zoom-transcript): a transcript socket is opened beside
   * the audio's, asking for this language (RTMS_TRANSCRIPT_LANGUAGE; -1: Zoom identifies it) and whether Zoom may
   * identify another language as people switch.
   */
  transcript?: { srcLanguage: number; enableLid: boolean };
  /**
   * The meeting takes its participants' names as vocabulary (asr.meetingWords): told each name as Zoom announces a
   * participant joining or speaking. Unset, no name leaves the connection this way.
   */
  participantNames?: (names: string[]) => void;
}

/** The sockets of one stream besides signaling: the audio always, Zoom's transcript when the engine reads it. */
type MediaKind = 'audio' | 'transcript';
/** RTMS_DATA_MESSAGE_ATTRIBUTE of a transcript message: 1 a sentence begins, 2 its newest text, 3 it is withdrawn. */
const TRANSCRIPT_CHANGES: Record<number, SourceTranscript['change']> = { 1: 'new', 2: 'update', 3: 'delete' };

/** The longest name shown: a display name is the participant's to choose, and a caption line is 32 characters. */
const MAX_NAME_CHARS = 24;

/** A display name as a caption may show it: one line of printable text, not too long; undefined when nothing is left. */
export function shownName(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  // Control and format characters (line breaks, bidi overrides) could break the caption box's layout or mislead.
  const clean = raw.replace(/[\p{Cc}\p{Cf}]/gu, ' ').replace(/\s+/g, ' ').trim();
  if (clean === '') return undefined;
  const chars = [...clean];
  return chars.length <= MAX_NAME_CHARS ? clean : `${chars.slice(0, MAX_NAME_CHARS - 1).join('').trimEnd()}…`;
}

const DEFAULT_RECONNECT: RetryPolicy = { initialMs: 3_000, maxMs: 30_000 };

/** A join event may list a whole webinar's audience: the vocabulary takes this many names of one event. */
const MAX_NAMES_PER_EVENT = 200;
/** Speakers labelled per stream; beyond this many (a webinar's audience) the later newcomers share one label. */
const MAX_SPEAKER_LABELS = 1_000;
/** After this long with nothing on the signaling socket, Zoom's window to come back has passed: give up. */
const GIVE_UP_AFTER_MS = 90_000;
/** Muted rooms send no packets; the recognizer needs the silence to end an utterance. */
const SILENCE_TICK_MS = 100;
const SILENCE_AFTER_MS = 200;

/**
 * One RTMS stream of one meeting: it dials signaling, then the audio socket, answers keep-alives, and feeds the
 * room's mixed audio to the meeting as one stream. A dropped audio socket is redialled while signaling stays;
 * a dropped signaling socket redials both, within Zoom's window. It ends on `stop()` (rtms_stopped, meeting.ended,
 * the meeting removed) or when Zoom says the stream is over; the meeting then captions what was heard.
 */
export class RtmsConnection {
  readonly done: Promise<void>;
  private start: RtmsStart;
  private signaling: WebSocket | undefined;
  private readonly media = new Map<MediaKind, WebSocket>();
  private readonly mediaUrls = new Map<MediaKind, string>();
  /** When each media socket's handshake succeeded (epoch ms). */
  private readonly mediaReadyAt = new Map<MediaKind, number>();
  private readonly buffer: StreamBuffer;
  private stream: Promise<unknown> | undefined;
  private stopped = false;
  /** Who has spoken, by Zoom's user id, and the anonymous label each is shown as. */
  private readonly speakerLabels = new Map<string, string>();
  private readonly reconnects: Backoff;
  /** Any message from the RTMS server, on either socket: Zoom pings only while no audio flows. */
  private lastHeardAt: number;
  private lastAudioAt = 0;
  /** Status 8 refusals in a row. */
  private readonly duplicateRefusals = new Backoff(DUPLICATE_SIGNAL_RETRIES);
  /** Zoom stopped the session (msg 9): a lost connection now ends the stream instead of being redialled. */
  private sessionStopped = false;
  /** Signaling (and with it every socket) being dialled again. */
  private reconnectTimer: { stop(): void } | undefined;
  /** A media socket being dialled again on its own, while signaling stays: one timer per kind. */
  private readonly mediaRedials = new Map<MediaKind, { stop(): void }>();
  private readonly ticker: { stop(): void };
  private readonly clock: Clock;
  private readonly log: Logger;
  private finish!: () => void;

  constructor(
    private readonly target: StreamTarget,
    start: RtmsStart,
    private readonly credentials: RtmsCredentials,
    log: Logger,
    private readonly options: RtmsOptions = {},
  ) {
    this.start = start;
    this.clock = options.clock ?? systemClock;
    this.lastHeardAt = this.clock.now();
    this.reconnects = new Backoff(options.reconnect ?? DEFAULT_RECONNECT);
    this.log = log.child({ meeting: target.id, rtmsStream: start.streamId });
    this.buffer = new StreamBuffer(target);
    this.done = new Promise((resolve) => (this.finish = resolve));
    this.ticker = this.clock.every(SILENCE_TICK_MS, () => this.tick());
  }

  /** Dials the stream's signaling socket (then its audio socket). Call once. */
  connect(): void {
    this.connectSignaling();
  }

  get streamId(): string {
    return this.start.streamId;
  }

  get serverUrls(): string {
    return this.start.serverUrls;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** A new rtms_started for this stream (Zoom moved it to another server): redial both sockets there. */
  failover(start: RtmsStart): void {
    if (this.stopped) return;
    this.log.info('rtms stream moved (rtms_started again): reconnecting to the new server');
    this.start = start;
    this.reconnects.reset();
    this.redialAll();
  }

  /** rtms_interrupted: Zoom saw our signaling socket break; redial unless we already are. */
  interrupted(): void {
    if (this.stopped || this.redialPending) return;
    this.redialAll();
  }

  /** Signaling or the audio socket is being dialled again (a transcript retry does not hold the watchdog back). */
  private get redialPending(): boolean {
    return this.reconnectTimer !== undefined || this.mediaRedials.has('audio');
  }

  /** The stream is over: what was heard is still captioned. Safe twice. */
  stop(why: string): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.log.info({ why }, 'rtms stream ended');
      this.stopRedials();
      this.ticker.stop();
      this.signaling?.close(1000);
      for (const ws of this.media.values()) ws.close(1000);
      this.buffer.audio.end();
      void (this.stream ?? Promise.resolve()).then(() => this.finish());
    }
    return this.done;
  }

  /**
   * Opens one of the stream's sockets and sends its signed handshake first (both handshakes carry the same identity).
   * A URL outside the dial policy, or one the client cannot open, ends the stream with the reason: undefined.
   */
  private dial(url: string, name: 'signaling' | MediaKind, handshake: Record<string, unknown>, onMessage: (data: RawData) => void): WebSocket | undefined {
    const refusal = dialRefusal(url, this.options.allowedHosts, this.options.hostsSetting);
    if (refusal) {
      this.log.error({ socket: name, url: url.slice(0, 200) }, `RTMS ${name} URL refused: ${refusal}`);
      void this.stop(`the ${name} URL was refused: ${refusal}`);
      return undefined;
    }
    let ws: WebSocket;
    try {
      const agent = proxyAgentFor(url);
      ws = new WebSocket(url, { handshakeTimeout: 10_000, maxPayload: 1024 * 1024, ...(agent ? { agent } : {}) });
    } catch (err) {
      this.log.error({ socket: name, url: url.slice(0, 200), err: errorMessage(err) }, `cannot dial the RTMS ${name} URL`);
      void this.stop(`cannot dial the ${name} URL: ${errorMessage(err)}`);
      return undefined;
    }
    ws.on('message', () => (this.lastHeardAt = this.clock.now()));
    ws.on('open', () => {
      if (this.stopped) return void ws.close(1000);
      this.send(ws, {
        protocol_version: 1,
        meeting_uuid: this.start.instanceUuid,
        ...(this.start.session ? { session_id: this.start.instanceUuid } : {}),
        rtms_stream_id: this.start.streamId,
        signature: rtmsSignature(this.credentials, this.start.instanceUuid, this.start.streamId),
        ...handshake,
      });
    });
    ws.on('message', onMessage);
    ws.on('error', (err) => this.log.warn({ err: err.message }, `rtms ${name} socket error`));
    return ws;
  }

  private connectSignaling(): void {
    const url = firstWebSocketUrl(this.start.serverUrls);
    if (!url) return void this.stop(`rtms_started gave no WebSocket server URL (${this.start.serverUrls.slice(0, 80)})`);
    // buffer_data false: no replay of the audio Zoom held before we connected; live captions want live audio.
    const ws = this.dial(url, 'signaling', { msg_type: MSG.signalingHandshakeReq, sequence: 1, buffer_data: false }, (data) => this.onSignaling(ws!, data));
    if (!ws) return;
    this.signaling = ws;
    // A connection just made has not been silent yet: the watchdog counts from here, not from before the backoff.
    ws.on('open', () => (this.lastHeardAt = this.clock.now()));
    ws.on('close', (code) => {
      if (ws !== this.signaling || this.stopped) return;
      this.log.warn({ code }, 'rtms signaling connection lost; reconnecting');
      this.redialAll();
    });
  }

  private onSignaling(ws: WebSocket, data: RawData): void {
    if (ws !== this.signaling) return;
    const message = parse(data);
    if (!message) return this.log.warn('rtms signaling sent a frame that is not JSON; ignored');
    switch (message.msg_type) {
      case MSG.signalingHandshakeResp: {
        const status = numberOr(message.status_code ?? message.status, 0);
        if (status !== 0) return this.refused('signaling', status, message.reason);
        this.reconnects.reset();
        this.duplicateRefusals.reset();
        const servers = (message.media_server as { server_urls?: Record<string, string> } | undefined)?.server_urls;
        const audioUrl = firstWebSocketUrl(servers?.audio) ?? firstWebSocketUrl(servers?.all);
        if (!audioUrl) return void this.stop('the RTMS server offered no audio connection (does the app have the audio scope?)');
        this.mediaUrls.set('audio', audioUrl);
        this.send(ws, {
          msg_type: MSG.eventSubscription,
          events: [EVENT.activeSpeakerChange, EVENT.participantJoin, EVENT.participantLeave].map((event_type) => ({ event_type, subscribe: true })),
        });
        this.connectMedia('audio');
        if (this.options.transcript) {
          // Split sockets, as Zoom recommends: one per kind, each on its own URL.
          const transcriptUrl = firstWebSocketUrl(servers?.transcript) ?? firstWebSocketUrl(servers?.all);
          if (transcriptUrl) {
            this.mediaUrls.set('transcript', transcriptUrl);
            this.connectMedia('transcript');
          } else this.transcriptUnavailable('the RTMS server offered no transcript connection (does the app have the transcript scope?)');
        }
        return;
      }
      case MSG.keepAliveReq:
        return this.send(ws, { msg_type: MSG.keepAliveResp, timestamp: message.timestamp });
      case MSG.streamStateUpdate:
        if (message.state === STREAM_STATE_TERMINATED) void this.stop(`Zoom ended the stream (reason ${String(message.reason ?? message.stop_reason)})`);
        return;
      case MSG.sessionStateUpdate:
        if (message.state === SESSION_STATE_STOPPED && !this.sessionStopped) {
          this.sessionStopped = true;
          this.log.info({ stopReason: message.stop_reason ?? message.reason }, 'Zoom stopped the RTMS session: no reconnecting from now on');
        }
        return;
      case MSG.eventUpdate: {
        const event = (message.event ?? {}) as { event_type?: number; timestamp?: number; user_id?: unknown; user_name?: unknown; participants?: unknown };
        if (event.event_type === EVENT.activeSpeakerChange) {
          this.tellNames([event.user_name]);
          return this.activeSpeaker(event);
        }
        if (event.event_type === EVENT.participantJoin && Array.isArray(event.participants)) {
          return this.tellNames(event.participants.slice(0, MAX_NAMES_PER_EVENT).map((p) => (p as { user_name?: unknown } | null)?.user_name));
        }
        // Only media sockets older than the news: one already redialled must not be cut again.
        if (event.event_type === EVENT.mediaConnectionInterrupted) {
          for (const [kind, ws] of this.media) {
            if (event.timestamp !== undefined && (this.mediaReadyAt.get(kind) ?? 0) >= event.timestamp) continue;
            this.log.warn(`rtms ${kind} connection interrupted (Zoom said so); redialling it`);
            ws.terminate();
          }
        }
        return;
      }
      default:
        // Session states, first-packet time, and whatever later protocol versions add: nothing to do.
        return;
    }
  }

  private connectMedia(kind: MediaKind): void {
    const url = this.mediaUrls.get(kind);
    if (!url || this.stopped) return;
    const old = this.media.get(kind);
    old?.removeAllListeners('close');
    old?.terminate();
    const mediaParams = kind === 'audio' ? { audio: AUDIO_PARAMS } : { transcript: transcriptParams(this.options.transcript!.srcLanguage, this.options.transcript!.enableLid) };
    const ws = this.dial(
      url,
      kind,
      { msg_type: MSG.dataHandshakeReq, sequence: 0, media_type: MEDIA_TYPE[kind], payload_encryption: false, media_params: mediaParams },
      (data) => this.onMedia(kind, ws!, data),
    );
    if (!ws) return;
    this.media.set(kind, ws);
    ws.on('close', (code) => {
      if (ws !== this.media.get(kind) || this.stopped) return;
      this.media.delete(kind);
      if (this.sessionStopped) return void this.stop(`Zoom stopped the session and closed the ${kind} connection`);
      // With signaling up, only this socket is redialled (after a short pause, so a refusing server is not hammered).
      if (this.signaling?.readyState === WebSocket.OPEN) {
        this.log.warn({ code }, `rtms ${kind} connection lost; redialling it`);
        this.redialMediaLater(kind);
      }
    });
  }

  /** Dials one media socket again after the backoff, signaling staying up. */
  private redialMediaLater(kind: MediaKind): void {
    this.mediaRedials.get(kind)?.stop();
    this.mediaRedials.set(
      kind,
      this.clock.after(this.delay(), () => {
        this.mediaRedials.delete(kind);
        this.connectMedia(kind);
      }),
    );
  }

  private stopRedials(): void {
    this.reconnectTimer?.stop();
    this.reconnectTimer = undefined;
    for (const timer of this.mediaRedials.values()) timer.stop();
    this.mediaRedials.clear();
  }

  private onMedia(kind: MediaKind, ws: WebSocket, data: RawData): void {
    if (ws !== this.media.get(kind)) return;
    const message = parse(data);
    if (!message) return this.log.warn(`rtms ${kind} socket sent a frame that is not JSON; ignored`);
    switch (message.msg_type) {
      case MSG.dataHandshakeResp: {
        const status = numberOr(message.status_code ?? message.status, 0);
        if (status !== 0) return this.refused(kind, status, message.reason);
        if (kind === 'transcript') {
          this.mediaReadyAt.set(kind, this.clock.now());
          this.log.info('rtms transcript connected');
          return;
        }
        const negotiated = (message.media_params as { audio?: Partial<typeof AUDIO_PARAMS> } | undefined)?.audio;
        const mismatch = negotiated && (['sample_rate', 'channel', 'codec'] as const).filter((key) => negotiated[key] !== undefined && negotiated[key] !== AUDIO_PARAMS[key]);
        if (mismatch && mismatch.length > 0) return void this.stop(`the RTMS server changed the audio format (${mismatch.join(', ')}): only L16 16 kHz mono is read`);
        this.reconnects.reset();
        this.mediaReadyAt.set(kind, this.clock.now());
        if (this.signaling?.readyState === WebSocket.OPEN) this.send(this.signaling, { msg_type: MSG.clientReadyAck, rtms_stream_id: this.start.streamId });
        this.log.info('rtms audio connected');
        return;
      }
      case MSG.keepAliveReq:
        return this.send(ws, { msg_type: MSG.keepAliveResp, timestamp: message.timestamp });
      case MSG.mediaDataAudio: {
        const content = (message.content ?? {}) as { data?: unknown; timestamp?: unknown };
        if (typeof content.data !== 'string') return;
        if (typeof content.timestamp === 'number') this.buffer.stamped(content.timestamp);
        return this.push(samplesFromBytes(Buffer.from(content.data, 'base64')));
      }
      case MSG.mediaDataTranscript:
        return this.transcribed((message.content ?? {}) as Record<string, unknown>);
      default:
        return;
    }
  }

  /**
   * A sentence of Zoom's transcript, placed on the stream's timeline by Zoom's clock as the audio is. A revision
   * names its sentence by `sentence_id` where Zoom sends one, else by who said it and when it began.
   */
  private transcribed(content: Record<string, unknown>): void {
    if (typeof content.data !== 'string') return;
    const user = content.user_id !== undefined ? `id ${String(content.user_id)}` : undefined;
    const startMs = typeof content.start_time === 'number' ? content.start_time : undefined;
    const endMs = typeof content.end_time === 'number' ? content.end_time : typeof content.timestamp === 'number' ? content.timestamp : undefined;
    const id = content.sentence_id;
    const sentence = typeof id === 'string' || typeof id === 'number' ? `s ${String(id)}` : `${user ?? 'someone'} at ${startMs ?? 'unknown'}`;
    const start = startMs === undefined ? undefined : this.buffer.secondsAt(startMs);
    const end = endMs === undefined ? undefined : this.buffer.secondsAt(endMs);
    const speaker = user ? this.speakerOf(user, content.user_name) : undefined;
    this.buffer.transcript({
      type: 'source-transcript',
      sentence,
      change: TRANSCRIPT_CHANGES[numberOr(content.attribute, 0)] ?? 'whole',
      // A sentence is a line of captions at most a few hundred characters long; Zoom's own are far shorter.
      text: content.data.slice(0, 2_000),
      ...(start === undefined ? {} : { start }),
      ...(end === undefined ? {} : { end }),
      ...(speaker ? { speaker } : {}),
    });
  }

  private tellNames(raw: unknown[]): void {
    if (!this.options.participantNames) return;
    const names = raw.map(shownName).filter((name): name is string => name !== undefined);
    if (names.length > 0) this.options.participantNames(names);
  }

  /** The transcript cannot come (no scope, refused): the engine that reads it fails, so a fallback engine takes over. */
  private transcriptUnavailable(why: string): void {
    this.log.error(`Zoom's transcript is not available for this stream: ${why}`);
    this.buffer.transcript({ type: 'source-transcript', sentence: '', change: 'unavailable', text: why });
  }

  /**
   * Zoom names the loudest speaker of the mixed audio. The change is placed on the stream's timeline by Zoom's
   * clock: the packet timestamps say where in our audio the event's timestamp falls.
   */
  private activeSpeaker(event: { timestamp?: number; user_id?: unknown; user_name?: unknown }): void {
    const who = event.user_id !== undefined ? `id ${String(event.user_id)}` : typeof event.user_name === 'string' && event.user_name ? `name ${event.user_name}` : undefined;
    if (!who) return;
    const at = typeof event.timestamp === 'number' ? this.buffer.secondsAt(event.timestamp) : undefined;
    this.buffer.speakerChanged(this.speakerOf(who, event.user_name), at);
  }

  /**
   * A participant as captions may show them. Names are personal data: unless the meeting shows names, only the
   * change of speaker goes on, as "speaker 1", "speaker 2" in the order they first speak, so no name is shown (caption
   * page), stored (its history, the archive) or logged.
   */
  private speakerOf(who: string, userName: unknown): SourceSpeaker {
    let label = this.speakerLabels.get(who);
    if (!label) {
      label = `speaker ${this.speakerLabels.size + 1}`;
      if (this.speakerLabels.size < MAX_SPEAKER_LABELS) this.speakerLabels.set(who, label);
    }
    const name = this.options.speakerNames ? shownName(userName) : undefined;
    return name === undefined ? { id: label } : { id: label, name };
  }

  private push(samples: Int16Array): void {
    if (this.stopped) return;
    if (!this.stream) {
      this.log.info('rtms audio flowing: meeting stream started');
      this.stream = this.target.runStream(this.buffer.stream, `zoom rtms ${this.start.streamId}`).catch(() => undefined);
    }
    this.lastAudioAt = this.clock.now();
    this.buffer.push(samples);
  }

  /** Silence for the time a muted room (or a reconnect) sends nothing, and the signaling watchdog. */
  private tick(): void {
    const now = this.clock.now();
    if (this.stream && now - this.lastAudioAt >= SILENCE_AFTER_MS) this.buffer.push(new Int16Array((PCM_SAMPLE_RATE * SILENCE_TICK_MS) / 1000));
    if (now - this.lastHeardAt > GIVE_UP_AFTER_MS) return void this.stop(`nothing from the RTMS server for ${GIVE_UP_AFTER_MS / 1000} s`);
    const watchdog = this.options.keepAliveWatchdogMs ?? 65_000;
    if (!this.redialPending && this.signaling?.readyState === WebSocket.OPEN && now - this.lastHeardAt > watchdog) {
      this.log.warn({ silentMs: now - this.lastHeardAt }, 'nothing from the RTMS server (no audio, no keep-alive); reconnecting');
      this.redialAll();
    }
  }

  private refused(socket: 'signaling' | MediaKind, status: number, reason: unknown): void {
    const meaning = rtmsStatus(status);
    const said = `${meaning.said}${typeof reason === 'string' && reason ? ` (Zoom said: ${reason.slice(0, 120)})` : ''}`;
    if (socket === 'transcript') {
      this.media.get('transcript')?.removeAllListeners('close');
      this.media.delete('transcript');
      // Without Zoom's transcript the audio still flows: only the engine that reads the transcript gives way.
      if (meaning.fatal) return this.transcriptUnavailable(`Zoom refused the transcript connection: ${said}`);
      this.log.warn({ socket, status }, `Zoom refused the RTMS transcript connection for now: ${said}; trying it again`);
      return this.redialMediaLater('transcript');
    }
    if (meaning.fatal) {
      this.log.error({ socket, status }, `Zoom refused the RTMS ${socket} connection: ${said}`);
      void this.stop(`refused: ${said}`);
      return;
    }
    if (status === DUPLICATE_SIGNAL_STATUS) {
      const delay = this.duplicateRefusals.next();
      if (delay === undefined) {
        this.log.error({ socket, status }, `Zoom refused the RTMS ${socket} connection ${this.duplicateRefusals.retries + 1} times: ${said}; giving up`);
        return void this.stop(`refused: ${said}`);
      }
      this.log.warn({ socket, status, retryInMs: delay }, `Zoom refused the RTMS ${socket} connection for now: ${said}; trying again`);
      return this.redialAll(delay);
    }
    this.log.warn({ socket, status }, `Zoom refused the RTMS ${socket} connection for now: ${said}; trying again`);
    this.redialAll();
  }

  private delay(): number {
    return this.reconnects.next()!;
  }

  /** Close both sockets (only one of each per stream is allowed) and dial again after the backoff. */
  private redialAll(delayMs = this.delay()): void {
    if (this.stopped) return;
    if (this.sessionStopped) return void this.stop('Zoom stopped the session; not reconnecting');
    this.stopRedials();
    for (const ws of [this.signaling, ...this.media.values()]) {
      ws?.removeAllListeners('close');
      ws?.terminate();
    }
    this.signaling = undefined;
    this.media.clear();
    this.reconnectTimer = this.clock.after(delayMs, () => {
      this.reconnectTimer = undefined;
      this.connectSignaling();
    });
  }

  private send(ws: WebSocket, message: Record<string, unknown>): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify(message), (err) => {
      if (err) this.log.debug({ err: errorMessage(err) }, 'rtms send failed');
    });
  }
}

function parse(data: RawData): Record<string, unknown> | undefined {
  try {
    const text = bytesOf(data).toString('utf8');
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function numberOr(value: unknown, fallback: number): number {
  return typeof value === 'number' ? value : fallback;
}
