import { errorMessage, isBridgeError } from '../errors.js';
import { PCM_SAMPLE_RATE, type AudioItem } from '../audio.js';
import type { Logger } from '../log.js';
import { shiftWords, type RecognizerCapabilities, type RecognizerStats, type SpeechEvent, type SpeechRecognizer } from './types.js';

/** How soon a failed engine is tried again (for the next stream) after it failed. */
const RETRY_FAILED_AFTER_MS = 30_000;

/**
 * Several engines in order of preference. When the one in use fails mid-stream, the next takes over the same
 * stream at once (its event times shifted to the stream's timeline), so captions keep flowing; the failed one is
 * retried in the background and used again from the next stream on once it starts.
 */
export class FallbackRecognizer implements SpeechRecognizer {
  readonly engine: string;
  readonly capabilities: RecognizerCapabilities;
  private active = 0;
  private readonly available: boolean[];
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  /** The operator asked for the next engine: the stream in progress moves at its next event. */
  private switchRequested = false;

  constructor(
    private readonly engines: SpeechRecognizer[],
    private readonly log: Logger,
  ) {
    this.engine = `fallback(${engines.map((e) => e.engine).join(', ')})`;
    this.capabilities = engines[0]!.capabilities;
    this.available = engines.map(() => false);
  }

  get stats(): RecognizerStats {
    const all = this.engines.map((e) => e.stats ?? { audioSeconds: 0, cpuMs: 0 });
    return { audioSeconds: all.reduce((a, s) => a + s.audioSeconds, 0), cpuMs: all.reduce((a, s) => a + s.cpuMs, 0) };
  }

  /** Starts every engine so the fallbacks are warm; fails only if none starts. */
  async start(): Promise<void> {
    const results = await Promise.allSettled(this.engines.map((e) => e.start()));
    results.forEach((r, i) => {
      this.available[i] = r.status === 'fulfilled';
      if (r.status === 'rejected') {
        this.log.warn({ engine: this.engines[i]!.engine, err: errorMessage(r.reason) }, 'engine unavailable at start; retrying in the background');
        this.retryLater(i);
      }
    });
    const first = this.available.indexOf(true);
    if (first < 0) throw (results[0] as PromiseRejectedResult).reason;
    this.active = first;
  }

  async *transcribe(audio: AsyncIterable<AudioItem>): AsyncIterable<SpeechEvent> {
    // A switch asked for between streams is already done (`active`): it must not cut this one.
    this.switchRequested = false;
    const source = audio[Symbol.asyncIterator]();
    let samples = 0;
    let session = 0;
    /** Audio an engine's read took after that engine was left: nobody heard it yet, so the next engine hears it first. */
    const handedOver: AudioItem[] = [];
    // Reads are taken one after another (across engines), so audio handed over is heard before anything newer.
    let reading: Promise<unknown> = Promise.resolve();
    // Every engine reads the same stream; one that stops reading (it failed) must not end it for the next.
    const input = (mine: number): AsyncIterable<AudioItem> => ({
      [Symbol.asyncIterator]: () => ({
        next: () => {
          const read = reading.then(async (): Promise<IteratorResult<AudioItem>> => {
            if (mine !== session) return { done: true, value: undefined };
            const result: IteratorResult<AudioItem> = handedOver.length > 0 ? { done: false, value: handedOver.shift()! } : await source.next();
            if (mine !== session) {
              if (!result.done) handedOver.push(result.value);
              return { done: true, value: undefined };
            }
            if (!result.done && result.value instanceof Int16Array) samples += result.value.length;
            return result;
          });
          reading = read.catch(() => undefined);
          return read;
        },
        return: async () => ({ done: true as const, value: undefined }),
      }),
    });
    for (;;) {
      const index = this.active;
      const engine = this.engines[index]!;
      const offset = samples / PCM_SAMPLE_RATE;
      const mine = ++session;
      try {
        let switched = false;
        try {
          for await (const event of engine.transcribe(input(mine))) {
            yield shift(event, offset);
            if (this.switchRequested) {
              this.switchRequested = false;
              switched = true;
              break;
            }
          }
        } finally {
          // This engine is left (or done): a read it still has pending hands its audio to the next one.
          if (session === mine) session += 1;
        }
        if (!switched) return;
        this.log.info({ from: engine.engine, to: this.engines[this.active]!.engine, atSeconds: samples / PCM_SAMPLE_RATE }, 'speech engine switched by the operator');
        // As after a failure: what the old engine had not finalised is gone; the utterance closes.
        yield { type: 'end_of_speech', time: samples / PCM_SAMPLE_RATE };
      } catch (err) {
        const next = this.nextAvailable(index);
        // Any engine failure (a dropped server, a revoked key) hands over; a bug elsewhere does not.
        if (!isBridgeError(err) || !err.engineFailure || next === undefined) throw err;
        this.log.warn({ failed: engine.engine, next: this.engines[next]!.engine, atSeconds: samples / PCM_SAMPLE_RATE, err: errorMessage(err) }, 'speech engine failed: switching');
        this.available[index] = false;
        this.active = next;
        this.retryLater(index);
        // What the failed engine had not finalised is gone; close its utterance so the segmenter sends what was settled.
        yield { type: 'end_of_speech', time: samples / PCM_SAMPLE_RATE };
      }
    }
  }

  usePhrases(words: readonly string[]): void {
    for (const engine of this.engines) engine.usePhrases?.(words);
  }

  get activeEngine(): string {
    return this.engines[this.active]!.engine;
  }

  switchEngine(): string | undefined {
    const next = this.nextAvailable(this.active);
    if (next === undefined) return undefined;
    this.active = next;
    this.switchRequested = true;
    return this.engines[next]!.engine;
  }

  async close(): Promise<void> {
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    await Promise.all(this.engines.map((e) => e.close()));
  }

  private nextAvailable(failed: number): number | undefined {
    for (let step = 1; step < this.engines.length; step++) {
      const candidate = (failed + step) % this.engines.length;
      if (this.available[candidate]) return candidate;
    }
    return undefined;
  }

  /** Back in service once it starts again; preferred engines win for the next stream. */
  private retryLater(index: number): void {
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.engines[index]!.start().then(
        () => {
          this.available[index] = true;
          if (index < this.active) this.active = index;
          this.log.info({ engine: this.engines[index]!.engine }, 'speech engine back; used from the next stream');
        },
        () => this.retryLater(index),
      );
    }, RETRY_FAILED_AFTER_MS);
    timer.unref();
    this.retryTimers.add(timer);
  }
}

function shift(event: SpeechEvent, offset: number): SpeechEvent {
  if (offset === 0) return event;
  if (event.type === 'final') return { ...event, time: event.time + offset, words: shiftWords(event.words, offset) };
  if (event.type === 'interim') return { ...event, time: event.time + offset, ...(event.words ? { words: shiftWords(event.words, offset) } : {}) };
  return { ...event, time: event.time + offset };
}
