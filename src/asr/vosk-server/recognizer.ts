import WebSocket from 'ws';
import { BridgeError, errorMessage } from '../../errors.js';
import { FINALIZE, PCM_SAMPLE_RATE, type AudioItem } from '../../ingest/pcm.js';
import type { Logger } from '../../log.js';
import { AsyncQueue } from '../../util/async-queue.js';
import type { RecognizedWord, RecognizerCapabilities, SpeechEvent, SpeechRecognizer } from '../types.js';

/** vosk-server compares this text exactly (spaces included) to end a stream. */
const EOF_MESSAGE = '{"eof" : 1}';
/** The server answers every audio message; more than this unanswered and reading audio waits (backpressure). */
const MAX_UNANSWERED = 8;
const CONNECT_TIMEOUT_MS = 5_000;

interface VoskReply {
  partial?: string;
  text?: string;
  result?: { word: string; start: number; end: number; conf?: number }[];
}

/**
 * A self-hosted recognizer speaking the Vosk WebSocket protocol (vosk-server, or any GPU server that speaks it):
 * one connection per stream, `{"config": {...}}`, binary s16le audio, one JSON reply per audio message
 * (`partial`, or `result` + `text` at each end of utterance), and `{"eof" : 1}` for the last result.
 */
export class VoskServerRecognizer implements SpeechRecognizer {
  readonly engine = 'vosk-server';
  readonly capabilities: RecognizerCapabilities = { streaming: true, interimResults: true, wordTimings: true, languages: [] };
  readonly stats = { audioSeconds: 0, cpuMs: 0 };
  private closed = false;
  private readonly open = new Set<WebSocket>();

  constructor(
    private readonly url: string,
    private readonly log: Logger,
  ) {}

  /** Checks that the server accepts a connection, so a wrong URL is reported at start, not mid-meeting. */
  async start(): Promise<void> {
    const ws = await this.connect();
    ws.close();
  }

  async *transcribe(audio: AsyncIterable<AudioItem>): AsyncIterable<SpeechEvent> {
    const ws = await this.connect();
    const output = new AsyncQueue<SpeechEvent>();
    let unanswered = 0;
    let wake: (() => void) | undefined;
    let samplesSent = 0;
    let inUtterance = false;
    let lastPartial = '';
    const time = (): number => samplesSent / PCM_SAMPLE_RATE;

    ws.on('message', (data) => {
      unanswered = Math.max(0, unanswered - 1);
      wake?.();
      let reply: VoskReply;
      try {
        reply = JSON.parse(String(data)) as VoskReply;
      } catch {
        return output.fail(new BridgeError('ASR_ENGINE_FAILED', 'vosk server sent a reply that is not JSON', { retryable: true }));
      }
      if (typeof reply.partial === 'string') {
        if (!reply.partial || reply.partial === lastPartial) return;
        if (!inUtterance) output.push({ type: 'start_of_speech', time: time() });
        inUtterance = true;
        lastPartial = reply.partial;
        output.push({ type: 'interim', text: reply.partial, time: time() });
        return;
      }
      const words: RecognizedWord[] = (reply.result ?? []).map((w) => ({ word: w.word, start: w.start, end: w.end }));
      const text = reply.text ?? words.map((w) => w.word).join(' ');
      if (text) {
        if (!inUtterance) output.push({ type: 'start_of_speech', time: time() });
        output.push({ type: 'final', text, words, time: time() });
      }
      if (inUtterance || text) output.push({ type: 'end_of_speech', time: time() });
      inUtterance = false;
      lastPartial = '';
    });
    let eofSent = false;
    ws.on('close', (code) => {
      // The server closes after answering our eof; any other close means it went away mid-stream.
      if (eofSent) output.end();
      else output.fail(new BridgeError('ASR_ENGINE_FAILED', `vosk server closed the stream early (${code})`, { retryable: true }));
      wake?.();
    });
    ws.on('error', (err) => output.fail(new BridgeError('ASR_ENGINE_FAILED', `vosk server connection failed: ${err.message}`, { retryable: true })));

    let abandoned = false;
    const pump = async (): Promise<void> => {
      ws.send(JSON.stringify({ config: { sample_rate: PCM_SAMPLE_RATE, words: 1 } }));
      try {
        for await (const item of audio) {
          // The protocol has no "settle now": a Finalize waits for the server's own endpointing.
          if (item === FINALIZE) continue;
          while (unanswered >= MAX_UNANSWERED && ws.readyState === ws.OPEN && !abandoned) await new Promise<void>((r) => (wake = r));
          if (ws.readyState !== ws.OPEN || abandoned) return;
          unanswered += 1;
          samplesSent += item.length;
          this.stats.audioSeconds += item.length / PCM_SAMPLE_RATE;
          ws.send(Buffer.from(item.buffer, item.byteOffset, item.byteLength));
        }
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'audio source failed; settling what was heard');
      }
      if (ws.readyState === ws.OPEN) {
        eofSent = true;
        ws.send(EOF_MESSAGE);
      }
    };
    void pump();
    try {
      yield* output;
    } finally {
      abandoned = true;
      wake?.();
      ws.close();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const ws of this.open) ws.terminate();
  }

  private connect(): Promise<WebSocket> {
    if (this.closed) return Promise.reject(new BridgeError('CLOSED', 'recognizer is closed'));
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url, { handshakeTimeout: CONNECT_TIMEOUT_MS });
      ws.once('open', () => {
        this.open.add(ws);
        ws.once('close', () => this.open.delete(ws));
        resolve(ws);
      });
      ws.once('error', (err) =>
        reject(new BridgeError('ASR_ENGINE_FAILED', `cannot reach the vosk server at ${this.url}: ${err.message}`, { retryable: true, cause: err })),
      );
    });
  }
}
