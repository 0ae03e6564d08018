import WebSocket from 'ws';
import { FINALIZE, isSamples, joinSamples, PCM_SAMPLE_RATE, type AudioItem } from '../../audio.js';
import { BridgeError, errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import { AsyncQueue } from '../../util/async-queue.js';
import { shiftWords, type RecognizedWord, type SpeechEvent } from '../types.js';
import { UtteranceTracker } from '../utterance.js';
import { Backoff, pause, type RetryPolicy } from '../../util/backoff.js';

/** What one server message said, in the engine's own timeline (seconds from the connection's first sample). */
export type WireReply =
  | { kind: 'speech-started' }
  | { kind: 'interim'; text: string; words?: RecognizedWord[] }
  | { kind: 'final'; text: string; words: RecognizedWord[] }
  | { kind: 'utterance-end' }
  /** The engine has answered the end message: nothing more will come on this connection. */
  | { kind: 'done' };

/** One connection's protocol state; a reconnect gets a fresh one. */
export interface WireSession {
  /** Sent as text right after the socket opens (vosk's config). */
  readonly openMessage?: string;
  /**
   * Whether a message is the engine's answer to the open message. A protocol without an end handshake (OpenAI's
   * realtime) proves a connection at start by this answer instead of by ending a session.
   */
  answersOpen?(text: string): boolean;
  /** Asks the engine to settle what is being said now; without it a client's Finalize waits for endpointing. */
  readonly finalizeMessage?: string;
  /** Sent when no audio went out for keepAliveMs, so the engine does not time the connection out. */
  readonly keepAliveMessage?: string;
  /** Asks the engine to settle everything and end the connection (a Buffer goes as a binary frame). */
  readonly endMessage: string | Buffer;
  /** Throws a BridgeError for a message the engine sends to say something is wrong. */
  onMessage(text: string): WireReply[];
  /** How a chunk of the stream's 16 kHz audio goes on the wire; by default as binary s16le. */
  encodeAudio?(pcm: Int16Array): string | Buffer;
  /** The end message is going out: the engine's next answers are the last (a protocol without its own end reply). */
  ending?(): void;
  /**
   * The connection closed: what the engine had said but not settled, settled now. A server that closes without a
   * last word (WhisperLive at the end of audio, or at its time limit) would otherwise take its latest words along.
   */
  closed?(): WireReply[];
}

/**
 * One answer of an engine into the stream's utterance bookkeeping, its words moved from the connection's (or
 * request's) timeline, which began `offsetSeconds` into the stream, onto the stream's; `now` is the stream's time.
 */
export function takeReply(utterance: UtteranceTracker, reply: Exclude<WireReply, { kind: 'done' }>, offsetSeconds: number, now: number): void {
  if (reply.kind === 'speech-started') utterance.startOfSpeech(now);
  else if (reply.kind === 'interim') utterance.interim(reply.text, reply.words && shiftWords(reply.words, offsetSeconds), now);
  else if (reply.kind === 'final') utterance.final(reply.text, shiftWords(reply.words, offsetSeconds), now);
  else utterance.endOfSpeech(now);
}

/** How a stream survives a lost connection, and how long it waits for the engine. */
export interface ConnectionPolicy {
  /**
   * Reconnect attempts within one stream; when they are spent, the stream fails (and a fallback engine takes over).
   * Meanwhile audio is not read: it waits in the ingest buffer, for this engine or the next.
   */
  reconnect: RetryPolicy;
  connectTimeoutMs: number;
  /** How long the engine may take to answer the end message before the stream is ended without it. */
  endTimeoutMs: number;
}

/** Reconnects after 250, 500, 1000 and 2000 ms, then fails over. */
export const DEFAULT_CONNECTION_POLICY: ConnectionPolicy = { reconnect: { initialMs: 250, attempts: 4 }, connectTimeoutMs: 5_000, endTimeoutMs: 10_000 };

/** What a stream needs from its recognizer: the connection, the protocol, and the pacing of audio. */
export interface WireLink {
  engine: string;
  log: Logger;
  policy: ConnectionPolicy;
  /** Audio per message. */
  chunkMs: number;
  /** The shortest message the engine accepts; the last one of a stream is padded with silence up to it. */
  minChunkMs: number;
  keepAliveMs: number;
  connect(): Promise<WebSocket>;
  session(): WireSession;
  /** A close code by which the engine refuses this request for good (bad key, bad parameters): no reconnect. */
  refusal(code: number, reason: string): BridgeError | undefined;
  /** Audio that went out to the engine, for its real-time factor. */
  sent(seconds: number): void;
  /** The meeting expects words while it runs (asr.meetingWords): keep the last seconds of audio for a renewal. */
  expectsNewWords(): boolean;
}

/** Past this much unsent data on the socket, reading audio waits (backpressure to ingest, which drops oldest). */
const MAX_BUFFERED_BYTES = 2 * PCM_SAMPLE_RATE * 2;
/**
 * Audio kept after it was sent, so a connection that takes over at a pause can hear again what the old one had not
 * settled (the words after its last final).
 */
const REPLAY_SAMPLES = 15 * PCM_SAMPLE_RATE;
/**
 * Audio kept at all times (where the meeting expects new words): a connection younger than this that has said nothing
 * yet can be replaced at once, everything it heard replayed to the new one.
 */
const REPLAY_IDLE_SAMPLES = 3 * PCM_SAMPLE_RATE;
/** A connection opened ahead of a renewal that keeps failing is given up on after this many tries. */
const MAX_WARM_ATTEMPTS = 3;
/** How often an idle connection opened ahead is kept alive (Deepgram closes one without audio after 10 s). */
const WARM_KEEP_ALIVE_MS = 3_000;

/**
 * One stream of audio through a WebSocket engine: chunking, keep-alives, Finalize, the end handshake, and
 * reconnecting mid-stream with the engine's times moved onto the stream's timeline. Every way it ends (the engine's
 * answer, a refusal, retries run out, the recognizer closed, the reader gone) goes through `finish`, once.
 */
export class WireStream {
  readonly events = new AsyncQueue<SpeechEvent>();
  private readonly utterance = new UtteranceTracker((event) => this.events.push(event));
  private readonly chunkSamples: number;
  private ws: WebSocket | undefined;
  /** The engine answered the open message (protocols that want audio only after it: Speechmatics, WhisperLive). */
  private ready = false;
  private session: WireSession;
  /** Samples sent on earlier connections: where the current connection's timeline starts. */
  private offsetSamples = 0;
  private sentSamples = 0;
  private lastSentAt = Date.now();
  private endSent = false;
  private finished = false;
  private endTimer: NodeJS.Timeout | undefined;
  /** Wakes the audio pump when a lost connection is back or the stream is over. */
  private connectionChanged: (() => void) | undefined;
  /** What to send once the engine has answered the opening (a renewal's replay). */
  private onReady: (() => void) | undefined;
  private pending: Int16Array[] = [];
  private pendingSamples = 0;
  /** Audio sent lately, oldest first, with the stream sample each chunk began at: what a renewal replays. */
  private readonly sentRecently: { at: number; pcm: Int16Array }[] = [];
  /** The engine's session changed (the meeting's words): a fresh connection takes over at the next pause. */
  private renewal: { socket?: WebSocket; keepAlive?: NodeJS.Timeout; attempts: number } | undefined;
  /** Where the last final's words ended (stream seconds), and whether the engine said anything since. */
  private settledUntil: number | undefined;
  /** The current connection has said something (an interim or a final): it may be hearing speech. */
  private heardOnConnection = false;
  private replayKept = 0;

  constructor(
    private readonly link: WireLink,
    first: WebSocket,
    audio: AsyncIterable<AudioItem>,
  ) {
    this.chunkSamples = Math.round((link.chunkMs / 1000) * PCM_SAMPLE_RATE);
    this.session = link.session();
    this.ws = first;
    this.attach(first);
    void this.pump(audio);
  }

  /** The reader is gone (or the recognizer closed): stop without waiting for the engine. */
  abandon(): void {
    this.finish();
    this.ws?.close(1000);
  }

  /**
   * The engine's session changed (new words for its vocabulary): a connection made with it now is opened ahead and
   * takes over at the next pause, right after a final with nothing heard since. It is first sent the audio after that
   * final's last word, so nothing said meanwhile is lost or heard twice; the old connection is let go.
   */
  renewAtPause(): void {
    if (this.finished || this.endSent) return;
    this.dropRenewalSocket();
    this.renewal = { attempts: 0 };
    void this.openAhead();
  }

  private async openAhead(): Promise<void> {
    const renewal = this.renewal;
    if (!renewal || renewal.socket || renewal.attempts >= MAX_WARM_ATTEMPTS) return;
    renewal.attempts += 1;
    let socket: WebSocket;
    try {
      socket = await this.link.connect();
    } catch (err) {
      this.link.log.warn({ engine: this.link.engine, err: errorMessage(err) }, 'a connection with the new vocabulary could not be opened; the current one goes on');
      return;
    }
    if (this.renewal !== renewal || this.finished || this.endSent) return void socket.close(1000);
    renewal.socket = socket;
    // Nothing said yet on this connection (the words came before anyone spoke): no need to wait for a pause, as long as
    // everything it heard can be replayed.
    if (!this.heardOnConnection) this.renewNow(true);
    if (this.renewal !== renewal) return;
    // Otherwise it waits for the next pause, kept alive, and is opened again if it drops meanwhile.
    const keepAliveMessage = this.session.keepAliveMessage;
    if (keepAliveMessage) renewal.keepAlive = setInterval(() => socket.readyState === socket.OPEN && socket.send(keepAliveMessage), WARM_KEEP_ALIVE_MS);
    socket.once('close', () => {
      if (this.renewal !== renewal || renewal.socket !== socket) return;
      clearInterval(renewal.keepAlive);
      renewal.socket = undefined;
      void this.openAhead();
    });
  }

  private dropRenewalSocket(): void {
    if (!this.renewal) return;
    clearInterval(this.renewal.keepAlive);
    const socket = this.renewal.socket;
    this.renewal.socket = undefined;
    socket?.removeAllListeners('close');
    socket?.close(1000);
  }

  /**
   * After a final (or, `idle`, while the connection has said nothing): if a renewal is ready, its connection takes
   * over now, from where the final's words end (or from the audio kept).
   */
  private renewNow(idle = false): void {
    const socket = this.renewal?.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN || this.endSent || this.finished) return;
    const oldest = this.sentRecently[0]?.at ?? this.sentSamples;
    if (!idle && this.settledUntil === undefined) return;
    // Idle: all this connection heard, which must still be kept (checked below): an engine that lags may be hearing
    // speech it has not yet said a word of, so a connection older than the audio kept waits for a pause instead.
    const from = idle ? this.offsetSamples : Math.round(this.settledUntil! * PCM_SAMPLE_RATE);
    // The words after the final are no longer all in the replay: not this pause.
    if (from < oldest || from > this.sentSamples) return;
    clearInterval(this.renewal!.keepAlive);
    this.renewal = undefined;
    const old = this.ws;
    this.offsetSamples = from;
    this.session = this.link.session();
    this.ws = socket;
    this.heardOnConnection = false;
    this.attach(socket);
    old?.close(1000);
    this.replayFrom(from);
    this.link.log.info({ engine: this.link.engine, atSeconds: this.now, replayedSeconds: (this.sentSamples - from) / PCM_SAMPLE_RATE }, 'speech engine connection renewed with the new vocabulary');
  }

  /** Sends the new connection the audio from `from` on (not counted again: the stream's time goes on). */
  private replayFrom(from: number): void {
    const send = (): void => {
      const socket = this.ws;
      if (socket?.readyState !== WebSocket.OPEN) return;
      for (const { at, pcm } of this.sentRecently) {
        if (at + pcm.length <= from) continue;
        const part = at >= from ? pcm : pcm.subarray(from - at);
        socket.send(this.encode(part));
      }
    };
    if (this.ready) send();
    else this.onReady = send;
  }

  private get now(): number {
    return this.sentSamples / PCM_SAMPLE_RATE;
  }

  private finish(err?: BridgeError): void {
    if (this.finished) return;
    this.finished = true;
    this.dropRenewalSocket();
    this.renewal = undefined;
    clearTimeout(this.endTimer);
    this.utterance.endOfSpeech(this.now);
    if (err) this.events.fail(err);
    else this.events.end();
    this.wakePump();
  }

  private wakePump(): void {
    this.connectionChanged?.();
    this.connectionChanged = undefined;
  }

  private attach(socket: WebSocket): void {
    const session = this.session;
    this.ready = !session.answersOpen;
    // An engine that never answers its opening would hold the stream's audio for good: treat it as a lost connection.
    const opening = this.ready
      ? undefined
      : setTimeout(() => {
          this.link.log.warn({ engine: this.link.engine }, 'speech engine did not answer the opening message in time');
          socket.terminate();
        }, this.link.policy.connectTimeoutMs);
    if (session.openMessage) socket.send(session.openMessage);
    const keepAlive = session.keepAliveMessage
      ? setInterval(() => {
          if (Date.now() - this.lastSentAt >= this.link.keepAliveMs && socket.readyState === socket.OPEN) socket.send(session.keepAliveMessage!);
        }, Math.max(250, this.link.keepAliveMs / 2))
      : undefined;
    socket.on('message', (data, isBinary) => {
      // A connection let go at a renewal may still answer: the one that took over speaks for the stream now.
      if (isBinary || this.finished || socket !== this.ws) return;
      let replies: WireReply[];
      try {
        replies = session.onMessage(String(data));
      } catch (err) {
        socket.terminate();
        return this.finish(err instanceof BridgeError ? err : new BridgeError('ASR_ENGINE_FAILED', `${this.link.engine}: ${errorMessage(err)}`));
      }
      for (const reply of replies) this.take(reply, socket);
      if (!this.ready && socket === this.ws && session.answersOpen!(String(data))) {
        this.ready = true;
        clearTimeout(opening);
        this.onReady?.();
        this.onReady = undefined;
        this.wakePump();
      }
    });
    socket.on('close', (code, reasonBuffer) => {
      clearInterval(keepAlive);
      clearTimeout(opening);
      if (socket !== this.ws || this.finished) return;
      this.ws = undefined;
      for (const reply of session.closed?.() ?? []) this.take(reply, socket);
      if (this.endSent) {
        // After the end message a clean close is the engine finishing (vosk-server's close carries no code).
        // A lost connection now has nothing left to resend: the words still in flight are gone.
        if (code !== 1000 && code !== 1005) this.link.log.warn({ engine: this.link.engine, code }, 'speech engine connection lost while settling the end of the stream');
        return this.finish();
      }
      const reason = reasonBuffer.toString();
      const refusal = this.link.refusal(code, reason);
      if (refusal) return this.finish(refusal);
      // The engine went away mid-stream: what it had not finalised is lost; close that utterance and reconnect.
      this.utterance.endOfSpeech(this.now);
      this.link.log.warn({ engine: this.link.engine, code, reason, atSeconds: this.now }, 'speech engine connection lost; reconnecting');
      void this.reconnect();
    });
  }

  private take(reply: WireReply, socket: WebSocket): void {
    if (reply.kind === 'final') {
      const last = reply.words.at(-1);
      this.settledUntil = last ? last.end + this.offsetSamples / PCM_SAMPLE_RATE : undefined;
      this.heardOnConnection ||= reply.text !== '';
    } else if (reply.kind === 'interim' && reply.text) {
      this.settledUntil = undefined;
      this.heardOnConnection = true;
    }
    if (reply.kind !== 'done') takeReply(this.utterance, reply, this.offsetSamples / PCM_SAMPLE_RATE, this.now);
    if (reply.kind === 'final') this.renewNow();
    else if (reply.kind === 'done' && this.endSent) {
      socket.close(1000);
      this.finish();
    }
  }

  private async reconnect(): Promise<void> {
    let lastError: unknown;
    const waits = new Backoff(this.link.policy.reconnect);
    for (let delay = waits.next(); delay !== undefined; delay = waits.next()) {
      await pause(delay);
      if (this.finished) return;
      try {
        const socket = await this.link.connect();
        if (this.finished) return void socket.close();
        this.offsetSamples = this.sentSamples;
        this.heardOnConnection = false;
        this.session = this.link.session();
        this.ws = socket;
        this.attach(socket);
        this.wakePump();
        this.link.log.info({ engine: this.link.engine, atSeconds: this.now }, 'speech engine connection back');
        return;
      } catch (err) {
        lastError = err;
        // A refusal, or the recognizer closed: trying again cannot help.
        if (err instanceof BridgeError && !err.retryable) break;
      }
    }
    this.finish(
      lastError instanceof BridgeError && !lastError.retryable
        ? lastError
        : new BridgeError('ASR_ENGINE_FAILED', `${this.link.engine}: connection lost and not back after ${waits.retries} attempts (${errorMessage(lastError)})`),
    );
  }

  private async connected(): Promise<void> {
    while ((!this.ws || !this.ready) && !this.finished) await new Promise<void>((resolve) => (this.connectionChanged = resolve));
  }

  /** Audio as the engine takes it on the wire: the protocol's own encoding, else binary s16le. */
  private encode(pcm: Int16Array): string | Buffer {
    return this.session.encodeAudio ? this.session.encodeAudio(pcm) : Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  }

  // Audio sent into a connection that is dropping is lost with it, like what the engine had not finalised.
  private send(pcm: Int16Array): void {
    const socket = this.ws;
    if (socket?.readyState !== WebSocket.OPEN) return;
    socket.send(this.encode(pcm));
    this.sentRecently.push({ at: this.sentSamples, pcm });
    this.replayKept += pcm.length;
    const keep = this.renewal ? REPLAY_SAMPLES : this.link.expectsNewWords() ? REPLAY_IDLE_SAMPLES : 0;
    while (this.sentRecently.length > 0 && this.replayKept - this.sentRecently[0]!.pcm.length >= keep) this.replayKept -= this.sentRecently.shift()!.pcm.length;
    this.sentSamples += pcm.length;
    this.lastSentAt = Date.now();
    this.link.sent(pcm.length / PCM_SAMPLE_RATE);
  }

  private flushPending(padTo = 0): void {
    if (this.pendingSamples === 0) return;
    const chunk = joinSamples(this.pending, padTo);
    this.pending = [];
    this.pendingSamples = 0;
    this.send(chunk);
  }

  private async pump(audio: AsyncIterable<AudioItem>): Promise<void> {
    const minSamples = Math.round((this.link.minChunkMs / 1000) * PCM_SAMPLE_RATE);
    try {
      for await (const item of audio) {
        await this.connected();
        if (this.finished) return;
        if (item === FINALIZE) {
          this.flushPending(minSamples);
          if (this.session.finalizeMessage && this.ws?.readyState === WebSocket.OPEN) this.ws.send(this.session.finalizeMessage);
          continue;
        }
        if (!isSamples(item)) continue;
        this.pending.push(item);
        this.pendingSamples += item.length;
        if (this.pendingSamples >= this.chunkSamples) this.flushPending();
        while (this.ws && this.ws.bufferedAmount > MAX_BUFFERED_BYTES && !this.finished) await new Promise((r) => setTimeout(r, 20));
      }
    } catch (err) {
      this.link.log.warn({ engine: this.link.engine, err: errorMessage(err) }, 'audio source failed; settling what was heard');
    }
    await this.connected();
    if (this.finished) return;
    this.flushPending(minSamples);
    this.endSent = true;
    if (this.ws?.readyState === WebSocket.OPEN) {
      this.session.ending?.();
      this.ws.send(this.session.endMessage);
    }
    this.endTimer = setTimeout(() => {
      this.link.log.warn({ engine: this.link.engine }, 'speech engine did not answer the end of the stream in time; ending it');
      this.ws?.terminate();
      this.finish();
    }, this.link.policy.endTimeoutMs);
  }
}
