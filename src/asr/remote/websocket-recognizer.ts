import WebSocket from 'ws';
import { BridgeError } from '../../errors.js';
import type { AudioItem } from '../../audio.js';
import type { Logger } from '../../log.js';
import { redactUrl } from '../../redact.js';
import type { RecognizerCapabilities, SpeechEvent, SpeechRecognizer } from '../types.js';
import { DEFAULT_CONNECTION_POLICY, WireStream, type ConnectionPolicy, type WireLink, type WireSession } from './wire-stream.js';
import { proxyAgentFor } from '../../util/proxy.js';

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

/** The most words one engine connection is asked to expect (asr.phrases takes at most 100 too). */
const MAX_VOCABULARY = 100;

export interface WebSocketEndpoint {
  url: string;
  headers?: Record<string, string>;
}

/**
 * The shared part of every engine reached over a WebSocket (Deepgram, AssemblyAI, vosk-server): connecting and
 * telling a wrong key from a server that is down; each stream is a `WireStream` (chunking, keep-alives, Finalize,
 * the end handshake, reconnecting with the retry policy). An adapter only maps its wire protocol (`endpoint` and
 * `session`).
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
  private readonly streams = new Set<WireStream>();
  /** The meeting's own words (its topic, agenda, participants), besides the configured phrases. */
  private meetingWords: readonly string[] = [];
  /** Told meeting words at least once (asr.meetingWords): streams keep a little audio to renew at once. */
  private expectsMeetingWords = false;

  constructor(
    protected readonly log: Logger,
    private readonly policy: ConnectionPolicy = DEFAULT_CONNECTION_POLICY,
  ) {}

  protected abstract endpoint(): WebSocketEndpoint;
  protected abstract session(): WireSession;
  /** A close code by which the engine refuses this request for good (bad key, bad parameters): no reconnect. */
  protected refusal(_code: number, _reason: string): BridgeError | undefined {
    return undefined;
  }

  /**
   * The words the engine is asked to expect: the configured phrases, then the meeting's own words, at most
   * MAX_VOCABULARY (engines bound their lists; the configured ones come first).
   */
  protected vocabulary(configured: readonly string[]): string[] {
    const seen = new Set(configured.map((phrase) => phrase.toLowerCase()));
    return [...configured, ...this.meetingWords.filter((word) => !seen.has(word.toLowerCase()))].slice(0, MAX_VOCABULARY);
  }

  /** New meeting words: every connection from now on asks for them, and each stream's connection is renewed at a pause. */
  usePhrases(words: readonly string[]): void {
    this.expectsMeetingWords = true;
    if (words.length === this.meetingWords.length && words.every((w, i) => w === this.meetingWords[i])) return;
    this.meetingWords = [...words];
    for (const stream of this.streams) stream.renewAtPause();
  }

  /** Connects once and ends the session, so a wrong key or address is reported at start, not mid-meeting. */
  async start(): Promise<void> {
    const ws = await this.connect();
    const session = this.session();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => ws.terminate(), this.policy.endTimeoutMs);
      ws.once('close', (code, reason) => {
        clearTimeout(timer);
        const refusal = this.refusal(code, reason.toString());
        if (refusal) reject(refusal);
        else resolve();
      });
      if (session.answersOpen) {
        ws.on('message', (data) => {
          const text = String(data);
          try {
            // A message that says something is wrong (a form the server does not take) is the refusal.
            session.onMessage(text);
          } catch (err) {
            clearTimeout(timer);
            ws.terminate();
            return reject(err);
          }
          if (session.answersOpen?.(text)) ws.close(1000);
        });
      }
      if (session.openMessage) ws.send(session.openMessage);
      if (!session.answersOpen) ws.send(session.endMessage);
    });
  }

  async *transcribe(audio: AsyncIterable<AudioItem>): AsyncIterable<SpeechEvent> {
    const first = await this.connect();
    const link: WireLink = {
      engine: this.engine,
      log: this.log,
      policy: this.policy,
      chunkMs: this.chunkMs,
      minChunkMs: this.minChunkMs,
      keepAliveMs: this.keepAliveMs,
      connect: () => this.connect(),
      session: () => this.session(),
      refusal: (code, reason) => this.refusal(code, reason),
      sent: (seconds) => (this.stats.audioSeconds += seconds),
      expectsNewWords: () => this.expectsMeetingWords,
    };
    const stream = new WireStream(link, first, audio);
    this.streams.add(stream);
    try {
      yield* stream.events;
    } finally {
      this.streams.delete(stream);
      stream.abandon();
    }
  }

  /** Ends every stream in progress (their readers see the end at once) and every connection. Safe twice. */
  async close(): Promise<void> {
    this.closed = true;
    for (const stream of this.streams) stream.abandon();
    for (const ws of this.open) ws.terminate();
  }

  /** Opens one connection; a handshake answer of 401/403 or another 4xx is a refusal, anything else may pass. */
  protected connect(): Promise<WebSocket> {
    if (this.closed) return Promise.reject(new BridgeError('CLOSED', 'recognizer is closed'));
    const { url, headers } = this.endpoint();
    // The query holds options, not secrets, but makes messages unreadable.
    const where = redactUrl(url).replace(/\?.*$/, '');
    return new Promise((resolve, reject) => {
      const agent = proxyAgentFor(url);
      const ws = new WebSocket(url, { headers, handshakeTimeout: this.policy.connectTimeoutMs, ...(agent ? { agent } : {}) });
      // A socket error is always followed by 'close', where it is handled; before 'open' it rejects.
      ws.on('error', (err) =>
        reject(new BridgeError('ASR_ENGINE_FAILED', `cannot reach ${this.engine} at ${where}: ${err.message}`, { cause: err })),
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
          reject(new BridgeError('ASR_ENGINE_FAILED', `${this.engine} answered HTTP ${status} at ${where}`));
        }
      });
    });
  }
}
