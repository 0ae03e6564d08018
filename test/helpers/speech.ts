import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Real human read speech shipped by Debian's pocketsphinx-testdata, with its reference transcript. */
export const LIBRIVOX_DIR = '/usr/share/pocketsphinx/test/data/librivox';

export interface SpeechClip {
  name: string;
  path: string;
  transcript: string;
}

export function librivoxClips(): SpeechClip[] {
  const lines = readFileSync(join(LIBRIVOX_DIR, 'transcription'), 'utf8').trim().split('\n');
  return lines.map((line) => {
    const match = /^<s>\s*(.*?)\s*<\/s>\s*\((.+)\)$/.exec(line.trim());
    if (!match) throw new Error(`unexpected transcription line: ${line}`);
    return { name: match[2]!, path: join(LIBRIVOX_DIR, `${match[2]}.wav`), transcript: match[1]! };
  });
}

/** Low background noise, as a real microphone gives between sentences (digital silence upsets the engine). */
export function roomNoise(seconds: number, seed = 1): Int16Array {
  const out = new Int16Array(Math.round(seconds * 16_000));
  let state = seed;
  for (let i = 0; i < out.length; i++) {
    state = (state * 1_103_515_245 + 12_345) & 0x7fffffff;
    out[i] = ((state / 0x7fffffff) * 2 - 1) * 60;
  }
  return out;
}

export function concatSamples(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
