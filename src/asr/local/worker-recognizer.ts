import { BridgeError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { FINALIZE, isSamples, PCM_SAMPLE_RATE, type AudioItem } from '../../audio.js';
import { AsyncQueue } from '../../util/async-queue.js';
import type { RecognizerCapabilities, RecognizerStats, SpeechEvent, SpeechRecognizer } from '../types.js';
import { sharedDecoderPool, type DecoderPool, type DecoderRequest, type PooledDecoder } from './decoder-pool.js';
import type { LocalEngineSpec } from './protocol.js';

/** Chunks sent to the decoder thread but not yet processed. Past this, reading audio waits: backpressure. */
const MAX_CHUNKS_IN_FLIGHT = 8;

/**
 * An in-process engine (pocketsphinx, sherpa-onnx): this meeting's decoder, on a thread of the decoder pool, so
 * recognition never blocks ingest, HTTP or the caption sender. A decoder that fails (or whose thread dies) fails
 * its stream, and a new one is opened for the next stream.
 */
export class WorkerRecognizer implements SpeechRecognizer {
  readonly engine: string;
  readonly stats: RecognizerStats = { audioSeconds: 0, cpuMs: 0 };
  private decoder: PooledDecoder | undefined;
  private starting: Promise<void> | undefined;
  private listener: ((message: { id: number; events: SpeechEvent[]; cpuMs: number }) => void) | undefined;
  private failure: BridgeError | undefined;
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly spec: LocalEngineSpec,
    readonly capabilities: RecognizerCapabilities,
    private readonly log: Logger,
    private readonly pool: DecoderPool = sharedDecoderPool(),
  ) {
    this.engine = spec.kind;
  }

  start(): Promise<void> {
    if (this.closed) return Promise.reject(new BridgeError('CLOSED', 'recognizer is closed'));
    this.starting ??= this.open().catch((err: unknown) => {
      this.starting = undefined; // the next stream tries again
      throw err;
    });
    return this.starting;
  }

  private async open(): Promise<void> {
    const decoder = await this.pool.open(this.spec);
    if (this.closed) return decoder.close();
    this.failure = undefined;
    for (const notice of decoder.notices) this.log.warn({ engine: this.engine }, notice);
    decoder.onMessage(
      (message) => this.listener?.(message),
      (failure) => this.onDecoderGone(decoder, failure),
    );
    this.decoder = decoder;
  }

  private onDecoderGone(decoder: PooledDecoder, failure: BridgeError): void {
    if (this.decoder !== decoder) return;
    this.decoder = undefined;
    this.starting = undefined;
    if (this.closed) return;
    this.failure = failure;
    this.log.error({ code: failure.code, err: failure.message }, 'speech engine stopped; it restarts with the next stream');
    this.listener?.({ id: -1, events: [], cpuMs: 0 });
  }

  async *transcribe(audio: AsyncIterable<AudioItem>): AsyncIterable<SpeechEvent> {
    await this.start();
    const decoder = this.decoder!;
    const send = (message: DecoderRequest): void => decoder.send(message);
    const output = new AsyncQueue<SpeechEvent>();
    let inFlight = 0;
    let creditWaiter: (() => void) | undefined;
    let finishId = -2;

    this.listener = (message) => {
      if (this.failure) {
        output.fail(this.failure);
        creditWaiter?.();
        return;
      }
      inFlight -= 1;
      this.stats.cpuMs += message.cpuMs;
      for (const event of message.events) output.push(event);
      if (message.id === finishId) output.end();
      creditWaiter?.();
    };

    // Set when this stream's consumer is gone (done, failed, or stopped early): the pump must not feed a later stream.
    let abandoned = false;
    send({ type: 'reset' });
    const pump = async (): Promise<void> => {
      try {
        for await (const item of audio) {
          if (item !== FINALIZE && !isSamples(item)) continue;
          while (inFlight >= MAX_CHUNKS_IN_FLIGHT && !this.failure && !abandoned) await new Promise<void>((r) => (creditWaiter = r));
          if (this.failure || abandoned) return;
          inFlight += 1;
          if (item === FINALIZE) {
            send({ type: 'finalize', id: this.nextId++ });
          } else {
            this.stats.audioSeconds += item.length / PCM_SAMPLE_RATE;
            send({ type: 'audio', id: this.nextId++, pcm: item });
          }
        }
      } catch (err) {
        this.log.warn({ err }, 'audio source failed; settling what was heard');
      }
      if (abandoned) return;
      finishId = this.nextId++;
      inFlight += 1;
      send({ type: 'finish', id: finishId });
    };
    void pump();
    try {
      yield* output;
    } finally {
      // Not awaited: after an engine failure the audio source may stay open until its owner closes it.
      abandoned = true;
      this.listener = undefined;
      creditWaiter?.();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const decoder = this.decoder;
    this.decoder = undefined;
    decoder?.close();
  }
}
