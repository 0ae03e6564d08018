import type { StreamTarget } from '../pipeline/types.js';
import { AsyncQueue } from '../util/async-queue.js';
import { FINALIZE, PCM_SAMPLE_RATE, type AudioItem, type AudioStream } from '../audio.js';

/** Audio held for a stream whose recognizer lags; beyond it the oldest is dropped (and counted). */
const BUFFER_SECONDS = 10;

/**
 * One publisher's audio on its way to the meeting's recognizer, whatever it came by (WebSocket, RTMP, a pull):
 * bounded, dropping the oldest when the recognizer lags (live captions want the present); drops are reported to
 * the target (the audio it takes, it counts itself).
 */
export class StreamBuffer {
  readonly audio: AsyncQueue<AudioItem>;
  private dropped = 0;
  private received = 0;

  constructor(target: Pick<StreamTarget, 'audioDropped'>) {
    this.audio = new AsyncQueue<AudioItem>({
      capacity: BUFFER_SECONDS * PCM_SAMPLE_RATE,
      sizeOf: (item) => (item === FINALIZE ? 0 : item.length),
      onDrop: (item) => {
        if (item === FINALIZE) return;
        this.dropped += item.length;
        target.audioDropped(item.length / PCM_SAMPLE_RATE);
      },
    });
  }

  /** What the meeting's recognizer reads: the queued audio, and how much of it is waiting. */
  get stream(): AudioStream {
    const { audio } = this;
    return {
      [Symbol.asyncIterator]: () => audio[Symbol.asyncIterator](),
      get backlogSeconds() {
        return audio.queuedSize / PCM_SAMPLE_RATE;
      },
    };
  }

  get receivedSeconds(): number {
    return this.received / PCM_SAMPLE_RATE;
  }

  get droppedSeconds(): number {
    return this.dropped / PCM_SAMPLE_RATE;
  }

  push(samples: Int16Array): void {
    if (this.audio.isEnded) return;
    this.received += samples.length;
    this.audio.push(samples);
  }
}
