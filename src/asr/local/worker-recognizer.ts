import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BridgeError, isErrorCode } from '../../errors.js';
import type { Logger } from '../../log.js';
import { FINALIZE, PCM_SAMPLE_RATE, type AudioItem } from '../../audio.js';
import { AsyncQueue } from '../../util/async-queue.js';
import type { RecognizerCapabilities, SpeechEvent, SpeechRecognizer } from '../types.js';
import type { FromWorker, LocalEngineSpec, ToWorker } from './protocol.js';

/** Chunks sent to the decoder thread but not yet processed. Past this, reading audio waits: backpressure. */
const MAX_CHUNKS_IN_FLIGHT = 8;

/**
 * Under vitest the code runs from src/*.ts, but a worker thread needs JavaScript: use the built copy then
 * (`npm test` builds first).
 */
function workerFile(): URL {
  const beside = new URL('./worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  const built = new URL(beside.href.replace('/src/', '/dist/'));
  if (existsSync(fileURLToPath(built))) return built;
  throw new BridgeError('ASR_ENGINE_FAILED', `speech engine worker not found at ${fileURLToPath(beside)}: run npm run build`);
}

export interface RecognizerStats {
  audioSeconds: number;
  cpuMs: number;
}

/**
 * An in-process engine (pocketsphinx, sherpa-onnx): one decoder in its own worker thread per meeting, so
 * recognition never blocks ingest, HTTP or the caption sender. A crashed thread fails its stream and is started
 * again for the next one.
 */
export class WorkerRecognizer implements SpeechRecognizer {
  readonly engine: string;
  readonly stats: RecognizerStats = { audioSeconds: 0, cpuMs: 0 };
  private worker: Worker | undefined;
  private starting: Promise<void> | undefined;
  private listener: ((message: FromWorker) => void) | undefined;
  private failure: BridgeError | undefined;
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly spec: LocalEngineSpec,
    readonly capabilities: RecognizerCapabilities,
    private readonly log: Logger,
  ) {
    this.engine = spec.kind;
  }

  start(): Promise<void> {
    if (this.closed) return Promise.reject(new BridgeError('CLOSED', 'recognizer is closed'));
    this.starting ??= this.spawn().catch((err: unknown) => {
      this.starting = undefined; // the next stream tries again
      throw err;
    });
    return this.starting;
  }

  private spawn(): Promise<void> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(workerFile(), { workerData: this.spec });
      this.failure = undefined;
      let ready = false;
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'ready') {
          ready = true;
          for (const notice of message.notices) this.log.warn({ engine: this.engine }, notice);
          this.worker = worker;
          resolve();
        } else if (message.type === 'failed') {
          // The code carries whether it is worth retrying (one definition per code), so nothing is lost crossing the thread.
          reject(new BridgeError(isErrorCode(message.code) ? message.code : 'ASR_ENGINE_FAILED', message.message));
        } else {
          this.listener?.(message);
        }
      });
      worker.on('error', (err) => {
        const failure = new BridgeError('ASR_ENGINE_FAILED', `${this.engine} worker crashed: ${err.message}`, { cause: err });
        if (!ready) reject(failure);
        this.onWorkerGone(worker, failure);
      });
      worker.on('exit', (exitCode) => {
        const failure = new BridgeError('ASR_ENGINE_FAILED', `${this.engine} worker exited (${exitCode})`);
        if (!ready) reject(failure);
        this.onWorkerGone(worker, failure);
      });
    });
  }

  private onWorkerGone(worker: Worker, failure: BridgeError): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.starting = undefined;
    if (this.closed) return;
    this.failure = failure;
    this.log.error({ code: failure.code, err: failure.message }, 'speech engine stopped; it restarts with the next stream');
    this.listener?.({ type: 'events', id: -1, events: [], cpuMs: 0 });
  }

  async *transcribe(audio: AsyncIterable<AudioItem>): AsyncIterable<SpeechEvent> {
    await this.start();
    const worker = this.worker!;
    const send = (message: ToWorker): void => worker.postMessage(message);
    const output = new AsyncQueue<SpeechEvent>();
    let inFlight = 0;
    let creditWaiter: (() => void) | undefined;
    let finishId = -2;

    this.listener = (message) => {
      if (message.type !== 'events') return;
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
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }
}
