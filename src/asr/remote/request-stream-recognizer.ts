import { isSamples, joinSamples, PCM_SAMPLE_RATE, type AudioItem } from '../../audio.js';
import { BridgeError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { AsyncQueue } from '../../util/async-queue.js';
import { Backoff, pause } from '../../util/backoff.js';
import type { RecognizerCapabilities, SpeechEvent, SpeechRecognizer } from '../types.js';
import { UtteranceTracker } from '../utterance.js';
import { DEFAULT_CONNECTION_POLICY, takeReply, type ConnectionPolicy, type WireReply } from './wire-stream.js';

/** Audio per frame: the vendors suggest 50-200 ms, and every frame costs a message (AWS signs each one). */
const FRAME_SAMPLES = PCM_SAMPLE_RATE / 10;

/**
 * The shared part of engines reached through a vendor's SDK as one streaming request (AWS Transcribe's HTTP/2
 * event stream, Google's gRPC `StreamingRecognize`): a stream of audio frames goes in, answers come out. This owns
 * what the WebSocket engines' `WireStream` owns for them: frames of 100 ms, silence when the audio pauses long
 * enough for the service to give up on the request, requests made again when one fails mid-stream (after 0.25,
 * 0.5, 1, 2 s) or ends at the service's duration limit (at once), every request's times moved onto the stream's
 * timeline, and a probe at start so credentials and options are refused before a meeting, not during it.
 * An adapter only makes one request (`request`), mapping the SDK's answers to `WireReply`s.
 */
export abstract class RequestStreamRecognizer<Client> implements SpeechRecognizer {
  abstract readonly engine: string;
  abstract readonly capabilities: RecognizerCapabilities;
  readonly stats = { audioSeconds: 0, cpuMs: 0 };
  /** After this long without audio a frame of silence goes out (the service ends a request idle for longer). */
  protected idleSilenceMs = 5_000;
  protected closed = false;
  /** Every stream's way to stop at once (close()). */
  private readonly stops = new Set<() => void>();
  /** The vendor's SDK client: made at the first request (the SDK loads only for meetings that use it), let go at close(). */
  private client: Promise<Client> | undefined;

  constructor(
    protected readonly log: Logger,
    private readonly policy: ConnectionPolicy = DEFAULT_CONNECTION_POLICY,
  ) {}

  /**
   * One request: `frames` of the stream's audio until it ends, the engine's answers (times from the request's own
   * first sample). Throws a BridgeError; `atStart` says it is the probe, where a bad request means bad options.
   */
  protected abstract request(frames: AsyncIterable<Int16Array>, signal: AbortSignal, atStart: boolean): AsyncIterable<WireReply[]>;

  /** Makes the SDK's client. */
  protected abstract makeClient(): Promise<Client>;

  /** Lets the SDK's client go. */
  protected abstract releaseClient(client: Client): void;

  /** The SDK's client, made once; refused after close(). */
  protected sdkClient(): Promise<Client> {
    if (this.closed) return Promise.reject(new BridgeError('CLOSED', 'recognizer is closed'));
    this.client ??= this.makeClient();
    return this.client;
  }

  /** One short request of silence: wrong credentials, region, language or vocabulary are refused now. */
  async start(): Promise<void> {
    const abort = new AbortController();
    const silence = async function* (): AsyncGenerator<Int16Array> {
      yield new Int16Array(FRAME_SAMPLES);
    };
    const timer = setTimeout(() => abort.abort(), this.policy.endTimeoutMs);
    try {
      for await (const _ of this.request(silence(), abort.signal, true));
    } finally {
      clearTimeout(timer);
    }
    if (abort.signal.aborted) throw new BridgeError('ASR_ENGINE_FAILED', `${this.engine} did not answer a first short request within ${this.policy.endTimeoutMs / 1000} s`);
  }

  async *transcribe(audio: AsyncIterable<AudioItem>): AsyncIterable<SpeechEvent> {
    if (this.closed) throw new BridgeError('CLOSED', 'recognizer is closed');
    const events = new AsyncQueue<SpeechEvent>();
    const current = { abort: new AbortController() };
    const stop = (): void => {
      current.abort.abort();
      events.end();
    };
    this.stops.add(stop);
    void this.run(audio[Symbol.asyncIterator](), events, current);
    try {
      yield* events;
    } finally {
      this.stops.delete(stop);
      stop();
    }
  }

  /** Ends every stream in progress (their readers see the end at once). Safe twice. */
  async close(): Promise<void> {
    this.closed = true;
    for (const stop of this.stops) stop();
    this.client?.then((client) => this.releaseClient(client), () => undefined);
  }

  /** One stream: requests one after another until the audio ends. */
  private async run(source: AsyncIterator<AudioItem>, events: AsyncQueue<SpeechEvent>, current: { abort: AbortController }): Promise<void> {
    const tracker = new UtteranceTracker((event) => events.push(event));
    const waits = new Backoff(this.policy.reconnect);
    /** Audio read but not yet taken by a request: a request that ends leaves it to the next. */
    const reading: { next?: Promise<IteratorResult<AudioItem>> } = {};
    const progress = { sentSamples: 0, audioEnded: false };
    const now = (): number => progress.sentSamples / PCM_SAMPLE_RATE;
    for (;;) {
      if (this.closed || events.isEnded) return;
      const abort = (current.abort = new AbortController());
      const offset = now();
      let answered = false;
      // Once the audio has ended the engine has this long to settle it, as with the WebSocket engines.
      let endTimer: NodeJS.Timeout | undefined;
      const audioEnded = (): void => {
        endTimer = setTimeout(() => {
          this.log.warn({ engine: this.engine }, 'speech engine did not answer the end of the stream in time; ending it');
          abort.abort();
        }, this.policy.endTimeoutMs);
      };
      try {
        for await (const replies of this.request(this.frames(source, reading, progress, abort.signal, audioEnded), abort.signal, false)) {
          answered = true;
          waits.reset();
          for (const reply of replies) if (reply.kind !== 'done') takeReply(tracker, reply, offset, now());
        }
        tracker.endOfSpeech(now());
        if (progress.audioEnded || abort.signal.aborted) return events.end();
        // The service ended a request that was working (its duration limit): the next one starts at once.
        if (answered) {
          this.log.info({ engine: this.engine, atSeconds: now() }, 'speech engine ended its request; starting the next');
          continue;
        }
        throw new BridgeError('ASR_ENGINE_FAILED', `${this.engine} ended the request before answering`);
      } catch (err) {
        if (this.closed || events.isEnded) return;
        const failure = err instanceof BridgeError ? err : new BridgeError('ASR_ENGINE_FAILED', `${this.engine}: ${String(err)}`);
        if (!failure.retryable) return events.fail(failure);
        tracker.endOfSpeech(now());
        const delay = waits.next();
        if (delay === undefined) {
          return events.fail(new BridgeError('ASR_ENGINE_FAILED', `${this.engine}: request failed and not back after ${waits.retries} attempts (${failure.message})`));
        }
        this.log.warn({ engine: this.engine, err: failure.message, atSeconds: now() }, 'speech engine request failed; starting a new one');
        await pause(delay);
      } finally {
        clearTimeout(endTimer);
        abort.abort();
      }
    }
  }

  /** The stream's audio for one request, in frames; silence while none comes; stops taking audio once `signal` ends. */
  private async *frames(
    source: AsyncIterator<AudioItem>,
    reading: { next?: Promise<IteratorResult<AudioItem>> },
    progress: { sentSamples: number; audioEnded: boolean },
    signal: AbortSignal,
    audioEnded: () => void,
  ): AsyncGenerator<Int16Array> {
    let parts: Int16Array[] = [];
    let samples = 0;
    const frame = (): Int16Array => {
      const joined = joinSamples(parts);
      progress.sentSamples += samples;
      this.stats.audioSeconds += samples / PCM_SAMPLE_RATE;
      parts = [];
      samples = 0;
      return joined;
    };
    for (;;) {
      reading.next ??= source.next();
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<'idle'>((resolve) => (timer = setTimeout(resolve, this.idleSilenceMs, 'idle')));
      const next = await Promise.race([reading.next, idle]).finally(() => clearTimeout(timer));
      // This request is over (failed or stopped): what was read stays for the next one.
      if (signal.aborted) return;
      if (next === 'idle') {
        parts.push(new Int16Array(FRAME_SAMPLES));
        samples += FRAME_SAMPLES;
        yield frame();
        continue;
      }
      reading.next = undefined;
      if (next.done) {
        progress.audioEnded = true;
        audioEnded();
        if (samples > 0) yield frame();
        return;
      }
      if (!isSamples(next.value)) continue;
      parts.push(next.value);
      samples += next.value.length;
      if (samples >= FRAME_SAMPLES) yield frame();
    }
  }
}
