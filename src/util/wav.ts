import { readFileSync } from 'node:fs';
import { samplesFromBytes } from '../audio.js';

export interface WavAudio {
  sampleRate: number;
  channels: number;
  samples: Int16Array;
}

/** Reads a PCM s16le WAV, walking the RIFF chunks (headers are not always 44 bytes). */
export function readWav(path: string): WavAudio {
  const file = readFileSync(path);
  if (file.toString('ascii', 0, 4) !== 'RIFF' || file.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error(`${path} is not a WAV file`);
  }
  let offset = 12;
  let sampleRate = 0;
  let channels = 0;
  while (offset + 8 <= file.length) {
    const id = file.toString('ascii', offset, offset + 4);
    const size = file.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      const format = file.readUInt16LE(body);
      channels = file.readUInt16LE(body + 2);
      sampleRate = file.readUInt32LE(body + 4);
      const bits = file.readUInt16LE(body + 14);
      if (format !== 1 || bits !== 16) throw new Error(`${path}: only 16-bit PCM WAV is supported`);
    } else if (id === 'data') {
      const end = Math.min(file.length, body + size);
      return { sampleRate, channels, samples: samplesFromBytes(file.subarray(body, end)) };
    }
    offset = body + size + (size % 2);
  }
  throw new Error(`${path}: no data chunk`);
}
