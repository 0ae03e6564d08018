// Runs on the audio thread: mono float samples in, 100 ms chunks of signed 16-bit PCM out to the page,
// with their RMS level for the meter.
class PcmChunker extends AudioWorkletProcessor {
  constructor() {
    super();
    this.size = Math.round(sampleRate / 10);
    this.chunk = new Int16Array(this.size);
    this.filled = 0;
    this.sumSquares = 0;
  }

  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (!channel) return true;
    for (let i = 0; i < channel.length; i++) {
      const sample = Math.max(-1, Math.min(1, channel[i]));
      this.sumSquares += sample * sample;
      this.chunk[this.filled++] = sample < 0 ? sample * 0x8000 : sample * 0x7fff;
      if (this.filled === this.size) {
        const level = Math.sqrt(this.sumSquares / this.size);
        // Transferred, not copied: the old array is detached (length 0) afterwards, hence this.size.
        this.port.postMessage({ pcm: this.chunk.buffer, level }, [this.chunk.buffer]);
        this.chunk = new Int16Array(this.size);
        this.filled = 0;
        this.sumSquares = 0;
      }
    }
    return true;
  }
}
registerProcessor('pcm-chunker', PcmChunker);
