import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BridgeError, isErrorCode } from '../../errors.js';
import type { FromWorker, LocalEngineSpec, ToWorker } from './protocol.js';

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

type DecoderMessage = Extract<FromWorker, { type: 'events' }>;

/** One meeting's decoder on a pooled thread. */
export interface PooledDecoder {
  readonly notices: string[];
  send(message: DecoderRequest): void;
  /** Events for this decoder, or its end: `failure` once it (or its whole thread) is gone. */
  onMessage(listener: (message: DecoderMessage) => void, onGone: (failure: BridgeError) => void): void;
  close(): void;
}

export type DecoderRequest =
  | { type: 'reset' }
  | { type: 'audio'; id: number; pcm: Int16Array }
  | { type: 'finalize'; id: number }
  | { type: 'finish'; id: number };

interface Thread {
  worker: Worker;
  decoders: Map<number, Hosted>;
}

interface Hosted {
  opened: (notices: string[]) => void;
  refused: (failure: BridgeError) => void;
  listener?: (message: DecoderMessage) => void;
  onGone?: (failure: BridgeError) => void;
}

/**
 * The cores this process may use: the machine's, or fewer when a container's CPU quota (cgroup v2 cpu.max, e.g.
 * "150000 100000") says so. Node's availableParallelism() sees the machine's cores only.
 */
export function usableCores(cpuMaxFile = '/sys/fs/cgroup/cpu.max'): number {
  const cores = availableParallelism();
  try {
    const [quota, period] = readFileSync(cpuMaxFile, 'utf8').trim().split(/\s+/);
    if (quota === 'max' || !quota || !period) return cores;
    return Math.max(1, Math.min(cores, Math.ceil(Number(quota) / Number(period))));
  } catch {
    return cores;
  }
}

export interface DecoderPoolOptions {
  /** At most this many threads (default: the usable cores). */
  threads?: number;
  /** A thread takes this many decoders before another thread is started (each new thread loads its own models). */
  decodersBeforeNewThread?: number;
}

/**
 * Measured with the fast profile: a meeting costs about 0.11 of a core, so three share one core with room for
 * bursts (0.75 of a core with balanced); one more thread would cost its own copy of the language model.
 */
const DECODERS_BEFORE_NEW_THREAD = 3;

/**
 * Decoder threads shared by all meetings: at most one per core, each hosting several decoders. One thread per
 * meeting cost a JavaScript runtime each and made twelve threads contend for two cores; and decoders on one thread
 * can share what is read-only between them (pocketsphinx's language model, see shared-model.ts). A thread with no
 * decoder left is stopped, so an idle daemon holds no model.
 */
export class DecoderPool {
  private readonly threads: Thread[] = [];
  private nextDecoder = 1;

  readonly size: number;
  private readonly decodersBeforeNewThread: number;

  constructor(options: DecoderPoolOptions = {}) {
    this.size = options.threads ?? usableCores();
    this.decodersBeforeNewThread = options.decodersBeforeNewThread ?? DECODERS_BEFORE_NEW_THREAD;
  }

  /** The decoders each thread hosts now (for the capacity figures and tests). */
  get load(): number[] {
    return this.threads.map((t) => t.decoders.size);
  }

  open(spec: LocalEngineSpec): Promise<PooledDecoder> {
    const thread = this.pickThread();
    const id = this.nextDecoder++;
    return new Promise((resolve, reject) => {
      const hosted: Hosted = {
        opened: (notices) => resolve(this.handle(thread, id, hosted, notices)),
        refused: (failure) => {
          thread.decoders.delete(id);
          this.stopIfIdle(thread);
          reject(failure);
        },
      };
      thread.decoders.set(id, hosted);
      this.post(thread, { type: 'open', decoder: id, spec });
    });
  }

  private handle(thread: Thread, id: number, hosted: Hosted, notices: string[]): PooledDecoder {
    let closed = false;
    return {
      notices,
      send: (message: DecoderRequest) => {
        if (!closed) this.post(thread, { ...message, decoder: id });
      },
      onMessage: (listener, onGone) => {
        hosted.listener = listener;
        hosted.onGone = onGone;
      },
      close: () => {
        if (closed) return;
        closed = true;
        if (thread.decoders.delete(id)) this.post(thread, { type: 'close', decoder: id });
        this.stopIfIdle(thread);
      },
    };
  }

  private post(thread: Thread, message: ToWorker): void {
    thread.worker.postMessage(message);
  }

  /** The thread hosting the fewest decoders; a new one when that one is full enough and cores are left. */
  private pickThread(): Thread {
    const least = this.threads.reduce<Thread | undefined>((best, t) => (!best || t.decoders.size < best.decoders.size ? t : best), undefined);
    if (!least || (least.decoders.size >= this.decodersBeforeNewThread && this.threads.length < this.size)) return this.spawn();
    return least;
  }

  private spawn(): Thread {
    const thread: Thread = { worker: new Worker(workerFile()), decoders: new Map() };
    this.threads.push(thread);
    thread.worker.on('message', (message: FromWorker) => {
      const hosted = thread.decoders.get(message.decoder);
      if (!hosted) return;
      if (message.type === 'opened') hosted.opened(message.notices);
      else if (message.type === 'events') hosted.listener?.(message);
      else {
        // The code carries whether it is worth retrying (one definition per code), so nothing is lost crossing the thread.
        const failure = new BridgeError(isErrorCode(message.code) ? message.code : 'ASR_ENGINE_FAILED', message.message);
        hosted.refused(failure);
        hosted.onGone?.(failure);
      }
    });
    const gone = (failure: BridgeError): void => {
      const index = this.threads.indexOf(thread);
      if (index < 0) return;
      this.threads.splice(index, 1);
      // Every meeting on the thread loses its decoder; each gets a new one with its next stream.
      for (const hosted of thread.decoders.values()) {
        hosted.refused(failure);
        hosted.onGone?.(failure);
      }
      thread.decoders.clear();
    };
    thread.worker.on('error', (err) => gone(new BridgeError('ASR_ENGINE_FAILED', `speech engine thread crashed: ${err.message}`, { cause: err })));
    thread.worker.on('exit', (exitCode) => gone(new BridgeError('ASR_ENGINE_FAILED', `speech engine thread exited (${exitCode})`)));
    return thread;
  }

  private stopIfIdle(thread: Thread): void {
    if (thread.decoders.size > 0) return;
    const index = this.threads.indexOf(thread);
    if (index < 0) return;
    this.threads.splice(index, 1);
    // The thread frees its native memory and ends by itself (terminate would leak the models).
    this.post(thread, { type: 'stop' });
    thread.worker.unref();
  }

  /** Kills every thread at once, as a crash would (tests; the daemon's threads stop with their last meeting). */
  async terminate(): Promise<void> {
    // Each thread's exit fails the decoders it hosted (see spawn).
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }
}

let shared: DecoderPool | undefined;

/** The process's pool: every meeting's in-process engine draws from it. */
export function sharedDecoderPool(): DecoderPool {
  shared ??= new DecoderPool();
  return shared;
}
