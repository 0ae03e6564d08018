import { PCM_SAMPLE_RATE, samplesFromBytes } from '../audio.js';
import { Resampler } from '../util/resampler.js';

export const MIN_SAMPLE_RATE = 8_000;
export const MAX_SAMPLE_RATE = 48_000;
export const MAX_CHANNELS = 2;

/**
 * Interleaved s16le at the sender's rate and channel count to the pipeline's 16 kHz mono. Stateful: a frame
 * (one sample for every channel) split across messages is carried over, and the resampler keeps its filter
 * state between chunks, so chunk boundaries leave no clicks.
 */
export class PcmConverter {
  private readonly frameBytes: number;
  private carry = Buffer.alloc(0);
  private readonly resampler: Resampler;

  constructor(
    readonly sampleRate: number,
    readonly channels: number,
  ) {
    this.frameBytes = 2 * channels;
    this.resampler = new Resampler(sampleRate, PCM_SAMPLE_RATE);
  }

  convert(bytes: Buffer): Int16Array {
    const data = this.carry.length > 0 ? Buffer.concat([this.carry, bytes]) : bytes;
    const whole = data.length - (data.length % this.frameBytes);
    this.carry = Buffer.from(data.subarray(whole));
    const frames = whole / this.frameBytes;
    const mono = Buffer.alloc(frames * 2);
    for (let f = 0; f < frames; f++) {
      let sum = 0;
      for (let c = 0; c < this.channels; c++) sum += data.readInt16LE(f * this.frameBytes + c * 2);
      mono.writeInt16LE(Math.round(sum / this.channels), f * 2);
    }
    return samplesFromBytes(this.resampler.processBytes(mono));
  }
}
