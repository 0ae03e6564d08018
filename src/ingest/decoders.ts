import { once } from 'node:events';
import { createRequire } from 'node:module';
import { PassThrough, type Transform } from 'node:stream';
import { MAX_LEAD_SECONDS } from '../audio.js';
import { PcmConverter } from './pcm-converter.js';

// CommonJS, loaded the same way under Node and vitest. prism-media picks its Opus backend itself:
// @discordjs/opus when installed, else opusscript (pure WebAssembly, always present).
const prism = createRequire(import.meta.url)('prism-media') as {
  opus: {
    Decoder: new (options: { rate: number; channels: number; frameSize: number }) => Transform;
    OggDemuxer: new () => Transform;
    WebmDemuxer: new () => Transform;
  };
};

export type Encoding = 'linear16' | 'opus' | 'ogg-opus' | 'webm-opus';
export const ENCODINGS: readonly Encoding[] = ['linear16', 'opus', 'ogg-opus', 'webm-opus'];

/** Opus always decodes at 48 kHz; asking for one channel folds stereo packets to mono inside the decoder. */
const OPUS_RATE = 48_000;
const OPUS_FRAME_SIZE = 960;

/** Bytes from the socket in, 16 kHz mono samples out (through `onSamples`), in order. */
export interface AudioDecoder {
  write(bytes: Buffer): void;
  /** No more input: resolves once everything written has come out. */
  end(): Promise<void>;
}

export function createDecoder(
  format: { encoding: Encoding; sampleRate: number; channels: number },
  onSamples: (samples: Int16Array) => void,
  onError: (reason: string) => void,
): AudioDecoder {
  if (format.encoding === 'linear16') {
    const converter = new PcmConverter(format.sampleRate, format.channels);
    return { write: (bytes) => onSamples(converter.convert(bytes)), end: async () => {} };
  }
  const converter = new PcmConverter(OPUS_RATE, 1);
  const input = new PassThrough();
  const decoder = new prism.opus.Decoder({ rate: OPUS_RATE, channels: 1, frameSize: OPUS_FRAME_SIZE });
  const demuxer = format.encoding === 'ogg-opus' ? new prism.opus.OggDemuxer() : format.encoding === 'webm-opus' ? new prism.opus.WebmDemuxer() : undefined;
  const stages: Transform[] = demuxer ? [demuxer, decoder] : [decoder];
  let failed = false;
  const fail = (what: string) => (err: Error) => {
    if (failed) return;
    failed = true;
    onError(`${what}: ${err.message}`.slice(0, 120));
  };
  input.on('error', fail('input'));
  demuxer?.on('error', fail(`corrupt or truncated ${format.encoding} container`));
  decoder.on('error', fail('corrupt Opus data'));
  stages.reduce<NodeJS.ReadableStream>((from, to) => from.pipe(to), input);
  let bytesIn = 0;
  let decodedAny = false;
  const startedAt = Date.now();
  let decodedSeconds = 0;
  decoder.on('data', (pcm: Buffer) => {
    if (failed) return;
    decodedAny = true;
    decodedSeconds += pcm.length / 2 / OPUS_RATE;
    // The stream buffer holds every source to the lead and ends the stream first (it counts from the first audio,
    // this from the decoder's start); Opus stops decoding here too, since a 1 MiB message of tiny packets is hours of
    // audio to decode on the main thread.
    onSamples(converter.convert(pcm));
    if (decodedSeconds > (Date.now() - startedAt) / 1000 + MAX_LEAD_SECONDS) {
      fail('decode limit')(new Error(`audio arrives more than ${MAX_LEAD_SECONDS} s faster than real time`));
      // Drop what is still queued instead of decoding it.
      for (const stream of [input, ...stages]) stream.destroy();
    }
  });
  let ending: Promise<void> | undefined;
  // Raw `opus`: one packet per WebSocket message, so each write must stay one chunk (object-like boundaries).
  return {
    write: (bytes) => {
      if (failed) return;
      bytesIn += bytes.length;
      input.write(bytes);
    },
    // Idempotent: the input may end by CloseStream and then by the socket closing; the 'end' event fires once.
    end() {
      ending ??= (async () => {
        if (failed) return;
        input.end();
        await Promise.race([once(decoder, 'end'), once(decoder, 'close'), once(decoder, 'error')]).catch(() => undefined);
        // A container a demuxer cannot read does not always make it fail: it just finds nothing. Say so.
        if (!failed && bytesIn > 0 && !decodedAny) {
          failed = true;
          onError(`no Opus audio found: not a ${format.encoding} stream, or truncated`);
        }
      })();
      return ending;
    },
  };
}
