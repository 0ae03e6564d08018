import { samplesFromBytes } from '../audio.js';
import { requireWithoutProcessHandlers } from '../process-policy.js';

// A CommonJS package whose class is `exports.default`; require() reads it the same under Node and under vitest.
const { default: SpeexResampler } = requireWithoutProcessHandlers<typeof import('speex-resampler')>('speex-resampler', import.meta.url);
type SpeexResampler = InstanceType<typeof SpeexResampler>;
await SpeexResampler.initPromise;

/** speex quality 5 of 10: transparent for speech recognition at a fraction of the cost of 10. */
const QUALITY = 5;

/**
 * Mono 16-bit PCM from one rate to another (speex, as Opus and WebRTC use it). Stateful: the filter carries over
 * between chunks, so chunk boundaries leave no clicks. One per stream.
 */
export class Resampler {
  private readonly speex: SpeexResampler | undefined;

  constructor(
    readonly fromRate: number,
    readonly toRate: number,
  ) {
    this.speex = fromRate === toRate ? undefined : new SpeexResampler(1, fromRate, toRate, QUALITY);
  }

  /** s16le bytes in, s16le bytes out. */
  processBytes(bytes: Buffer): Buffer {
    return this.speex ? this.speex.processChunk(bytes) : bytes;
  }

  process(samples: Int16Array): Int16Array {
    if (!this.speex) return samples;
    return samplesFromBytes(this.speex.processChunk(Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength)));
  }
}
