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
