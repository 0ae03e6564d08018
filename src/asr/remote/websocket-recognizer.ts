import WebSocket from 'ws';
import { BridgeError, errorMessage } from '../../errors.js';
import { FINALIZE, PCM_SAMPLE_RATE, type AudioItem } from '../../audio.js';
import type { Logger } from '../../log.js';
import { redactUrl } from '../../redact.js';
import { AsyncQueue } from '../../util/async-queue.js';
import { UtteranceTracker } from '../utterance.js';
import type { RecognizedWord, RecognizerCapabilities, SpeechEvent, SpeechRecognizer } from '../types.js';

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
  /** Asks the engine to settle what is being said now; without it a client's Finalize waits for endpointing. */
  readonly finalizeMessage?: string;
  /** Sent when no audio went out for keepAliveMs, so the engine does not time the connection out. */
  readonly keepAliveMessage?: string;
  /** Asks the engine to settle everything and end the connection. */
  readonly endMessage: string;
  /** Throws a BridgeError for a message the engine sends to say something is wrong. */
  onMessage(text: string): WireReply[];
}

/** What a cloud engine (Deepgram, AssemblyAI) is configured with. */
export interface CloudEngineOptions {
  /** From the environment (`apiKey: ${DEEPGRAM_API_KEY}`); never logged. */
  apiKey: string;
  /** Another endpoint than the service's own (a proxy, a region, a local stand-in). */
  url?: string;
  model: string;
  language: string;
  endpointSilenceMs: number;
  /** Meeting vocabulary to boost. */
  phrases: string[];
}

export interface WebSocketEndpoint {
  url: string;
  headers?: Record<string, string>;
}

/**
 * Waits before each reconnect attempt within one stream; when they run out, the stream fails (and a fallback engine
 * takes over). Meanwhile audio is not read: it waits in the ingest buffer, for this engine or the next.
 */
const RECONNECT_DELAYS_MS: readonly number[] = [250, 500, 1000, 2000];
const CONNECT_TIMEOUT_MS = 5_000;
/** How long the engine may take to answer the end message before the stream is ended without it. */
const END_TIMEOUT_MS = 10_000;
/** Past this much unsent data on the socket, reading audio waits (backpressure to ingest, which drops oldest). */
const MAX_BUFFERED_BYTES = 2 * PCM_SAMPLE_RATE * 2;

/**
 * The shared part of every engine reached over a WebSocket (Deepgram, AssemblyAI, vosk-server): connecting,
 * telling a wrong key from a server that is down, chunking audio, keep-alives, Finalize, the end handshake, and
 * reconnecting mid-stream with the audio of the gap kept and the engine's times moved onto the stream's timeline.
 * An adapter only maps its wire protocol (`endpoint` and `session`).
 */
export abstract class WebSocketRecognizer implements SpeechRecognizer {
  abstract readonly engine: string;
  abstract readonly capabilities: RecognizerCapabilities;
  readonly stats = { audioSeconds: 0, cpuMs: 0 };
  /** Audio per message. */
  protected chunkMs = 100;
  /** The shortest message the engine accepts; the last one of a stream is padded with silence up to it. */
  protected minChunkMs = 0;
  protected keepAliveMs = 5_000;
  private closed = false;
  private readonly open = new Set<WebSocket>();

  constructor(protected readonly log: Logger) {}

  protected abstract endpoint(): WebSocketEndpoint;
  protected abstract session(): WireSession;
  /** A close code by which the engine refuses this request for good (bad key, bad parameters): no reconnect. */
  protected refusal(_code: number, _reason: string): BridgeError | undefined {
    return undefined;
  }

  /** Connects once and ends the session, so a wrong key or address is reported at start, not mid-meeting. */
  async start(): Promise<void> {
    const ws = await this.connect();
    const session = this.session();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => ws.terminate(), END_TIMEOUT_MS);
      ws.once('close', (code, reason) => {
        clearTimeout(timer);
        const refusal = this.refusal(code, reason.toString());
        if (refusal) reject(refusal);
        else resolve();
      });
      if (session.openMessage) ws.send(session.openMessage);
      ws.send(session.endMessage);
    });
  }

  async *transcribe(audio: AsyncIterable<AudioItem>): AsyncIterable<SpeechEvent> {
    const output = new AsyncQueue<SpeechEvent>();
    const utterance = new UtteranceTracker((event) => output.push(event));
    const chunkSamples = Math.round((this.chunkMs / 1000) * PCM_SAMPLE_RATE);

    let ws: WebSocket | undefined = await this.connect();
    let session = this.session();
    /** Samples sent on earlier connections: where the current connection's timeline starts. */
    let offsetSamples = 0;
    let sentSamples = 0;
    let lastSentAt = Date.now();
    let endSent = false;
    let finished = false;
    let abandoned = false;
    let endTimer: NodeJS.Timeout | undefined;
    /** Wakes the audio pump when a lost connection is back or the stream is over. */
    let connectionChanged: (() => void) | undefined;
    const notifyPump = (): void => {
      connectionChanged?.();
      connectionChanged = undefined;
    };
    let pending: Int16Array[] = [];
    let pendingSamples = 0;
    const now = (): number => sentSamples / PCM_SAMPLE_RATE;
    const offset = (): number => offsetSamples / PCM_SAMPLE_RATE;
    const onStream = (words: RecognizedWord[] | undefined): RecognizedWord[] | undefined =>
      words?.map((w) => ({ ...w, start: w.start + offset(), end: w.end + offset() }));

    const finish = (err?: BridgeError): void => {
      if (finished) return;
      finished = true;
      clearTimeout(endTimer);
      utterance.endOfSpeech(now());
      if (err) output.fail(err);
      else output.end();
      notifyPump();
    };

    const sendAudio = (socket: WebSocket, pcm: Int16Array): void => {
      socket.send(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
      sentSamples += pcm.length;
      lastSentAt = Date.now();
      this.stats.audioSeconds += pcm.length / PCM_SAMPLE_RATE;
    };

    const attach = (socket: WebSocket): void => {
      const current = session;
      if (current.openMessage) socket.send(current.openMessage);
      const keepAlive = current.keepAliveMessage
        ? setInterval(() => {
            if (Date.now() - lastSentAt >= this.keepAliveMs && socket.readyState === socket.OPEN) socket.send(current.keepAliveMessage!);
          }, Math.max(250, this.keepAliveMs / 2))
        : undefined;
      socket.on('message', (data, isBinary) => {
        if (isBinary || finished) return;
        let replies: WireReply[];
        try {
          replies = current.onMessage(String(data));
        } catch (err) {
          socket.terminate();
          return finish(err instanceof BridgeError ? err : new BridgeError('ASR_ENGINE_FAILED', `${this.engine}: ${errorMessage(err)}`, { retryable: true }));
        }
        for (const reply of replies) {
          if (reply.kind === 'speech-started') utterance.startOfSpeech(now());
          else if (reply.kind === 'interim') utterance.interim(reply.text, onStream(reply.words), now());
          else if (reply.kind === 'final') utterance.final(reply.text, onStream(reply.words)!, now());
          else if (reply.kind === 'utterance-end') utterance.endOfSpeech(now());
          else if (reply.kind === 'done' && endSent) {
            socket.close(1000);
            finish();
          }
        }
      });
      socket.on('close', (code, reasonBuffer) => {
        clearInterval(keepAlive);
        if (socket !== ws || finished) return;
        ws = undefined;
        if (endSent) {
          // After the end message a clean close is the engine finishing (vosk-server's close carries no code).
          // A lost connection now has nothing left to resend: the words still in flight are gone.
          if (code !== 1000 && code !== 1005) this.log.warn({ engine: this.engine, code }, 'speech engine connection lost while settling the end of the stream');
          return finish();
        }
        const reason = reasonBuffer.toString();
        const refusal = this.refusal(code, reason);
        if (refusal) return finish(refusal);
        // The engine went away mid-stream: what it had not finalised is lost; close that utterance and reconnect.
        utterance.endOfSpeech(now());
        this.log.warn({ engine: this.engine, code, reason, atSeconds: now() }, 'speech engine connection lost; reconnecting');
        void reconnect();
      });
    };

    const reconnect = async (): Promise<void> => {
      let lastError: unknown;
      for (const delay of RECONNECT_DELAYS_MS) {
        await new Promise((r) => setTimeout(r, delay));
        if (finished || abandoned || this.closed) return;
        try {
          const socket = await this.connect();
          if (finished || abandoned) return void socket.close();
          offsetSamples = sentSamples;
          session = this.session();
          ws = socket;
          attach(socket);
          notifyPump();
          this.log.info({ engine: this.engine, atSeconds: now() }, 'speech engine connection back');
          return;
        } catch (err) {
          lastError = err;
          if (err instanceof BridgeError && !err.retryable) break;
        }
      }
      finish(
        lastError instanceof BridgeError && !lastError.retryable
          ? lastError
          : new BridgeError('ASR_ENGINE_FAILED', `${this.engine}: connection lost and not back after ${RECONNECT_DELAYS_MS.length} attempts (${errorMessage(lastError)})`, { retryable: true }),
      );
    };

    // Audio sent into a connection that is dropping is lost with it, like what the engine had not finalised.
    const send = (pcm: Int16Array): void => {
      if (ws?.readyState === WebSocket.OPEN) sendAudio(ws, pcm);
    };
    const connected = async (): Promise<void> => {
      while (!ws && !finished && !abandoned) await new Promise<void>((resolve) => (connectionChanged = resolve));
    };
    const flushPending = (padTo = 0): void => {
      if (pendingSamples === 0) return;
      const chunk = new Int16Array(Math.max(pendingSamples, padTo));
      let at = 0;
      for (const part of pending) {
        chunk.set(part, at);
        at += part.length;
      }
      pending = [];
      pendingSamples = 0;
      send(chunk);
    };

    attach(ws);
    const pump = async (): Promise<void> => {
      try {
        for await (const item of audio) {
          await connected();
          if (finished || abandoned) return;
          if (item === FINALIZE) {
            flushPending(Math.round((this.minChunkMs / 1000) * PCM_SAMPLE_RATE));
            if (session.finalizeMessage && ws?.readyState === WebSocket.OPEN) ws.send(session.finalizeMessage);
            continue;
          }
          pending.push(item);
          pendingSamples += item.length;
          if (pendingSamples >= chunkSamples) flushPending();
          while (ws && ws.bufferedAmount > MAX_BUFFERED_BYTES && !finished && !abandoned) await new Promise((r) => setTimeout(r, 20));
        }
      } catch (err) {
        this.log.warn({ engine: this.engine, err: errorMessage(err) }, 'audio source failed; settling what was heard');
      }
      await connected();
      if (finished || abandoned) return;
      flushPending(Math.round((this.minChunkMs / 1000) * PCM_SAMPLE_RATE));
      endSent = true;
      if (ws?.readyState === WebSocket.OPEN) ws.send(session.endMessage);
      endTimer = setTimeout(() => {
        this.log.warn({ engine: this.engine }, 'speech engine did not answer the end of the stream in time; ending it');
        ws?.terminate();
        finish();
      }, END_TIMEOUT_MS);
    };
    void pump();
    try {
      yield* output;
    } finally {
      abandoned = true;
      finished = true;
      clearTimeout(endTimer);
      notifyPump();
      ws?.close(1000);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const ws of this.open) ws.terminate();
  }

  /** Opens one connection; a handshake answer of 401/403 or another 4xx is a refusal, anything else may pass. */
  protected connect(): Promise<WebSocket> {
    if (this.closed) return Promise.reject(new BridgeError('CLOSED', 'recognizer is closed'));
    const { url, headers } = this.endpoint();
    // The query holds options, not secrets, but makes messages unreadable.
    const where = redactUrl(url).replace(/\?.*$/, '');
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers, handshakeTimeout: CONNECT_TIMEOUT_MS });
      // A socket error is always followed by 'close', where it is handled; before 'open' it rejects.
      ws.on('error', (err) =>
        reject(new BridgeError('ASR_ENGINE_FAILED', `cannot reach ${this.engine} at ${where}: ${err.message}`, { retryable: true, cause: err })),
      );
      ws.once('open', () => {
        this.open.add(ws);
        ws.once('close', () => this.open.delete(ws));
        resolve(ws);
      });
      ws.once('unexpected-response', (_req, res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        ws.terminate();
        if (status === 401 || status === 403) {
          reject(new BridgeError('ASR_AUTH_FAILED', `${this.engine} refused the API key (HTTP ${status} from ${where})`));
        } else if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
          reject(new BridgeError('ASR_ENGINE_REJECTED', `${this.engine} refused the request (HTTP ${status} from ${where}); check the asr options`));
        } else {
          reject(new BridgeError('ASR_ENGINE_FAILED', `${this.engine} answered HTTP ${status} at ${where}`, { retryable: true }));
        }
      });
    });
  }
}
