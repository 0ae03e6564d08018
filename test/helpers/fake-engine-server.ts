import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { DEFAULT_MODEL_DIR, PocketsphinxDecoder } from '../../src/asr/pocketsphinx/binding.js';
import type { SpeechEvent } from '../../src/asr/types.js';

/** What the conformance suite needs of a stand-in for a recognizer service, whatever its transport. */
export interface EngineStandIn {
  /** Connections (or requests) accepted so far. */
  readonly connections: number;
  /** Connections cut on purpose so far. */
  readonly drops: number;
  /** The next connection is cut after this many audio messages; with stopServer the whole server goes down too. */
  dropNextConnectionAfter(audioMessages: number, options?: { stopServer?: boolean }): void;
  /** What hears each connection's audio (see Hearing); set before connections arrive. */
  hears: (request: URL) => Hearing;
  /** Starts (again, on the same port); resolves with the base URL. */
  start(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * The common part of the local stand-ins for recognizer services (vosk-server, Deepgram, AssemblyAI): a real
 * WebSocket server with real recognition behind it (the embedded pocketsphinx decoder), so adapters are tested
 * on real speech. Each stand-in speaks its service's exact wire protocol on top. It can also misbehave on purpose:
 * drop a connection mid-stream, or be stopped and restarted on the same port.
 */
export abstract class FakeEngineServer implements EngineStandIn {
  private wss: WebSocketServer | undefined;
  private port = 0;
  connections = 0;
  /** Connections cut on purpose so far. */
  drops = 0;
  /** Query and headers of every accepted connection. */
  readonly requests: { url: URL; headers: IncomingMessage['headers'] }[] = [];
  /**
   * The recognizer's search settings behind the protocol (pocketsphinx arguments, see POCKETSPHINX_PROFILES): by
   * default the library's own (a second flat-lexicon pass, partials from the live search, which its final revises
   * more often than the embedded default's do).
   */
  searchArgs: readonly string[] = [];
  /** What hears each connection's audio: the pocketsphinx decoder by default, or a script (ScriptedHearing) that hears perfectly. */
  hears: (request: URL) => Hearing = () => new PocketsphinxHearing(this.searchArgs);
  /** Only connections from this address are taken (a proxy's outbound address): the others are refused with 403. */
  onlyFrom: string | undefined;
  /** Connections refused for coming from elsewhere (see onlyFrom). */
  refusedDirect = 0;
  /** The next connection is cut (no close frame) after this many audio messages; then it resets. */
  private dropNext: { after: number; stopServer: boolean } | undefined;

  /** Answer to the HTTP upgrade: a status refuses it, as a real service does for a wrong key. */
  protected abstract checkUpgrade(req: IncomingMessage, url: URL): number | undefined;
  protected abstract serve(ws: WebSocket, session: EngineSession, url: URL): void;

  /** With stopServer the whole server goes down too (a dead box): reconnects are refused until start() again. */
  dropNextConnectionAfter(audioMessages: number, options: { stopServer?: boolean } = {}): void {
    this.dropNext = { after: audioMessages, stopServer: options.stopServer ?? false };
  }

  async start(): Promise<string> {
    this.wss = new WebSocketServer({
      port: this.port,
      host: '127.0.0.1',
      verifyClient: (info, done) => {
        if (this.onlyFrom !== undefined && info.req.socket.remoteAddress !== this.onlyFrom) {
          this.refusedDirect += 1;
          return done(false, 403);
        }
        const status = this.checkUpgrade(info.req, new URL(info.req.url ?? '/', 'http://x'));
        if (status) done(false, status);
        else done(true);
      },
    });
    await new Promise((resolve) => this.wss!.once('listening', resolve));
    this.port = (this.wss.address() as AddressInfo).port;
    this.wss.on('connection', (ws, req) => {
      this.connections += 1;
      const url = new URL(req.url ?? '/', 'http://x');
      this.requests.push({ url, headers: req.headers });
      const drop = this.dropNext;
      const session = new EngineSession(
        drop?.after,
        () => {
          ws.terminate();
          this.drops += 1;
          if (drop?.stopServer) void this.stop();
        },
        this.hears(url),
      );
      this.dropNext = undefined;
      ws.on('close', () => session.free());
      this.serve(ws, session, url);
    });
    return `ws://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    for (const client of this.wss?.clients ?? []) client.terminate();
    await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
    this.wss = undefined;
  }
}

/** The recognizer behind a stand-in's protocol: 16 kHz audio in, speech events out (times in seconds of that audio). */
export interface Hearing {
  process(pcm: Int16Array): SpeechEvent[];
  finish(): SpeechEvent[];
  free(): void;
}

/** Real recognition: the embedded pocketsphinx decoder, endpointing after half a second of quiet. */
export class PocketsphinxHearing implements Hearing {
  private decoder: PocketsphinxDecoder | undefined;

  constructor(searchArgs: readonly string[] = []) {
    this.decoder = new PocketsphinxDecoder({ modelDir: DEFAULT_MODEL_DIR, endpointSilenceMs: 500, partialIntervalMs: 100, maxUtteranceMs: 20_000, searchArgs });
  }

  process(pcm: Int16Array): SpeechEvent[] {
    return this.decoder?.process(pcm) ?? [];
  }

  finish(): SpeechEvent[] {
    return this.decoder?.finish() ?? [];
  }

  free(): void {
    this.decoder?.free();
    this.decoder = undefined;
  }
}

/** One connection's recognition: audio in, the hearing's events out, and the count of audio samples heard. */
export class EngineSession {
  private hearing: Hearing | undefined;
  private audioMessages = 0;
  samples = 0;

  constructor(
    private readonly dropAfter: number | undefined,
    private readonly drop: () => void,
    hearing: Hearing = new PocketsphinxHearing(),
  ) {
    this.hearing = hearing;
  }

  /** Undefined when the connection was just cut on purpose. */
  audio(bytes: Buffer): SpeechEvent[] | undefined {
    if (this.dropAfter !== undefined && ++this.audioMessages > this.dropAfter) {
      this.drop();
      return undefined;
    }
    const pcm = new Int16Array(bytes.length >> 1);
    for (let i = 0; i < pcm.length; i++) pcm[i] = bytes.readInt16LE(i * 2);
    this.samples += pcm.length;
    return withEmptyFinals(this.hearing?.process(pcm) ?? []);
  }

  finish(): SpeechEvent[] {
    return withEmptyFinals(this.hearing?.finish() ?? []);
  }

  free(): void {
    this.hearing?.free();
    this.hearing = undefined;
  }
}

/**
 * Every utterance ends with a final, one with no words when the engine kept none (pocketsphinx then only ends it):
 * each service says "ended, nothing" in its own way (an empty result, turn or transcript), and a stand-in that said
 * nothing would let the next utterance's words seem to continue the last one.
 */
function withEmptyFinals(events: SpeechEvent[]): SpeechEvent[] {
  return events.flatMap((event, i): SpeechEvent[] =>
    event.type === 'end_of_speech' && events[i - 1]?.type !== 'final' ? [{ type: 'final', text: '', words: [], time: event.time }, event] : [event],
  );
}

/** A sentence's first word as engines that case write it. */
export function capitalized(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}

/** How engines that write sentences (gpt-4o-transcribe, Whisper) put a plain transcript: a capital first word and an end mark. */
export function writtenSentence(text: string): string {
  if (!text) return text;
  return `${capitalized(text)}.`;
}

/**
 * How many of an utterance's first words have stayed the same through the last `interims` interim results: what a
 * service that commits words as it goes (Deepgram's `is_final` pieces, a streaming model's append-only deltas) would
 * commit. The recognizer behind the stand-ins revises its newest words often; a service commits only what it holds.
 */
export class StablePrefix {
  private previous: string[] = [];
  private runs: number[] = [];

  constructor(private readonly interims = 5) {}

  /** The words of the newest interim; returns how many leading words are stable. */
  update(words: readonly string[]): number {
    this.runs = words.map((word, i) => (this.previous[i] === word && (i === 0 || this.previous[i - 1] === words[i - 1]) ? (this.runs[i] ?? 0) + 1 : 0));
    this.previous = [...words];
    let stable = 0;
    while (stable < words.length && this.runs[stable]! >= this.interims) stable += 1;
    return stable;
  }

  reset(): void {
    this.previous = [];
    this.runs = [];
  }
}
