import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { workerFile } from '../../util/worker-file.js';
import { Worker } from 'node:worker_threads';
import { BridgeError, isErrorCode } from '../../errors.js';
import type { FromWorker, LocalEngineSpec, ToWorker } from './protocol.js';

function decoderWorkerFile(): URL {
  const file = workerFile('./worker.js', import.meta.url);
  if (!file) throw new BridgeError('ASR_ENGINE_FAILED', `speech engine worker not found at ${fileURLToPath(new URL('./worker.js', import.meta.url))}: run npm run build`);
  return file;
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
  /** Opened ahead for the next meeting of its spec; no meeting has it yet. */
  spare?: boolean;
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
  /**
   * Keep one decoder opened ahead per engine spec in use, so the next meeting of that spec starts at once: a fleet
   * taking a meeting over, an account meeting Zoom starts (their audio waits for the engine meanwhile).
   */
  keepSpares?: boolean;
  /** How long after a meeting took a decoder the next spare of its spec is opened (tests shorten it). */
  spareAfterMs?: number;
  /** A thread takes this many decoders before another thread is started (each new thread loads its own models). */
  decodersBeforeNewThread?: number;
}

/**
 * Measured with the fast profile: a meeting costs about 0.11 of a core, so three share one core with room for
 * bursts (0.75 of a core with balanced); one more thread would cost its own copy of the language model.
 */
const DECODERS_BEFORE_NEW_THREAD = 3;
/** How long after a meeting took a decoder the next spare of its spec is opened. */
const SPARE_AFTER_MS = 5_000;

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
  keepSpares: boolean;
  private readonly spareAfterMs: number;
  /** The decoder opened ahead for each spec (by its JSON), and its place. */
  private readonly spares = new Map<string, { opening: Promise<PooledDecoder>; hosted: Hosted }>();

  constructor(options: DecoderPoolOptions = {}) {
    this.size = options.threads ?? usableCores();
    this.decodersBeforeNewThread = options.decodersBeforeNewThread ?? DECODERS_BEFORE_NEW_THREAD;
    this.keepSpares = options.keepSpares ?? false;
    this.spareAfterMs = options.spareAfterMs ?? SPARE_AFTER_MS;
  }

  /** Decoders opened ahead, waiting for a meeting. */
  get spareCount(): number {
    return this.spares.size;
  }

  /** The meetings' decoders each thread hosts now (for the capacity figures and tests; spares not counted). */
  get load(): number[] {
    return this.threads.map(meetingsOn);
  }

  /** A decoder for one meeting: the spare of its spec when there is one (then another is opened ahead). */
  open(spec: LocalEngineSpec): Promise<PooledDecoder> {
    const key = JSON.stringify(spec);
    const spare = this.spares.get(key);
    this.spares.delete(key);
    if (spare) spare.hosted.spare = false;
    const opening = spare ? spare.opening.catch(() => this.openOn(spec).opening) : this.openOn(spec).opening;
    // Later, not now: the thread's next work should be this meeting's first audio (a takeover's replayed burst), not
    // loading another decoder.
    if (this.keepSpares) void opening.then(() => setTimeout(() => this.openSpare(key, spec), this.spareAfterMs).unref(), () => undefined);
    return opening;
  }

  private openSpare(key: string, spec: LocalEngineSpec): void {
    // Only beside running meetings: one that ended meanwhile (the daemon stopping) must not start a thread for it.
    if (!this.keepSpares || this.spares.has(key) || !this.threads.some((t) => meetingsOn(t) > 0)) return;
    const entry = this.openOn(spec, true);
    const { opening } = entry;
    this.spares.set(key, entry);
    const drop = (): void => {
      if (this.spares.get(key) === entry) this.spares.delete(key);
    };
    // A spare whose thread ends while it waits is forgotten; the next meeting opens its own.
    void opening.then((decoder) => decoder.onMessage(() => undefined, drop), drop);
  }

  private openOn(spec: LocalEngineSpec, spare = false): { opening: Promise<PooledDecoder>; hosted: Hosted } {
    const thread = this.pickThread(spare);
    const id = this.nextDecoder++;
    let hosted!: Hosted;
    const opening = new Promise<PooledDecoder>((resolve, reject) => {
      hosted = {
        spare,
        opened: (notices) => resolve(this.handle(thread, id, hosted, notices)),
        refused: (failure) => {
          thread.decoders.delete(id);
          this.stopIfIdle(thread);
          reject(failure);
        },
      };
    });
    thread.decoders.set(id, hosted);
    this.post(thread, { type: 'open', decoder: id, spec });
    return { opening, hosted };
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

  /**
   * The thread hosting the fewest meetings; a new one when that one is full enough and cores are left. A spare
   * never starts a thread (a thread costs its own models): it waits on one that runs meetings.
   */
  private pickThread(spare: boolean): Thread {
    const least = this.threads.reduce<Thread | undefined>((best, t) => (!best || meetingsOn(t) < meetingsOn(best) ? t : best), undefined);
    if (!least || (!spare && meetingsOn(least) >= this.decodersBeforeNewThread && this.threads.length < this.size)) return this.spawn();
    return least;
  }

  private spawn(): Thread {
    const thread: Thread = { worker: new Worker(decoderWorkerFile()), decoders: new Map() };
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

  /** A thread with no meeting left stops, its spares with it: an idle daemon holds no model. */
  private stopIfIdle(thread: Thread): void {
    if (meetingsOn(thread) > 0) return;
    const index = this.threads.indexOf(thread);
    if (index < 0) return;
    this.threads.splice(index, 1);
    for (const [key, entry] of this.spares) if ([...thread.decoders.values()].includes(entry.hosted)) this.spares.delete(key);
    thread.decoders.clear();
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

function meetingsOn(thread: Thread): number {
  let count = 0;
  for (const hosted of thread.decoders.values()) if (!hosted.spare) count += 1;
  return count;
}

let shared: DecoderPool | undefined;

/** The process's pool: every meeting's in-process engine draws from it. */
export function sharedDecoderPool(): DecoderPool {
  shared ??= new DecoderPool();
  return shared;
}
