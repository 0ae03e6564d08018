import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWav } from '../src/util/wav.js';
import { concatSamples, librivoxClips, roomNoise } from '../test/helpers/speech.js';

/** Meeting-like talk for espeak-ng: short and long sentences, numbers, names, questions. */
const MEETING_SCRIPT = [
  'good morning everyone and thanks for joining the weekly all hands meeting',
  'we have three topics today so let us get started',
  'first the new office opens in march and everyone is welcome to visit',
  'the team shipped the mobile release last week and the feedback has been very good',
  'second we are hiring two more engineers for the platform group',
  'if you know someone who would be a good fit please send them our way',
  'third the quarterly planning session moves to thursday afternoon',
  'please bring your project updates and any questions you have',
  'are there any questions before we move on',
  'thank you all for the great work this month',
  'the support team answered more tickets than ever before and customers noticed',
  'we will share the slides and the recording after the meeting',
  'that is all for today see you next week',
];

export interface Segment {
  samples: Int16Array;
  transcript: string;
  kind: 'librivox' | 'espeak';
}

export interface Corpus {
  samples: Int16Array;
  transcript: string;
  speechSeconds: number;
  /** Sample offsets of each segment, for reporting. */
  segments: { kind: string; start: number; end: number }[];
}

function espeak(text: string, dir: string, index: number, wordsPerMinute: number): Int16Array {
  const raw = join(dir, `s${index}.wav`);
  const resampled = join(dir, `s${index}-16k.wav`);
  execFileSync('espeak-ng', ['-v', 'en-us', '-s', String(wordsPerMinute), '-w', raw, text]);
  // -D: no dither, so the corpus is the same sample for sample on every run.
  execFileSync('sox', ['-D', raw, '-r', '16000', '-c', '1', '-b', '16', resampled]);
  return readWav(resampled).samples;
}

export const WITH_PAUSES = [0.3, 0.8, 1.5, 0.5];
export const WITHOUT_PAUSES = [0.1, 0.15];

/**
 * A few minutes of speech: the librivox clips (human read speech) and espeak-ng meeting talk, with pauses
 * of room noise between sentences, some short (a speaker who barely pauses) and some long.
 */
export function buildCorpus(rounds = 2, pauses: readonly number[] = WITH_PAUSES): Corpus {
  const dir = mkdtempSync(join(tmpdir(), 'cb-corpus-'));
  try {
    const segments: Segment[] = [];
    const human = librivoxClips();
    for (let round = 0; round < rounds; round++) {
      human.forEach((clip) => segments.push({ samples: readWav(clip.path).samples, transcript: clip.transcript, kind: 'librivox' }));
      MEETING_SCRIPT.forEach((line, i) =>
        segments.push({ samples: espeak(line, dir, round * 100 + i, round === 0 ? 160 : 185), transcript: line, kind: 'espeak' }),
      );
    }
    const parts: Int16Array[] = [roomNoise(1)];
    const placed: Corpus['segments'] = [];
    let offset = parts[0]!.length;
    let speech = 0;
    segments.forEach((segment, i) => {
      parts.push(segment.samples);
      placed.push({ kind: segment.kind, start: offset, end: offset + segment.samples.length });
      offset += segment.samples.length;
      speech += segment.samples.length / 16_000;
      // By default pauses from 0.3 s (run-on) to 1.5 s (end of a thought); a speaker who never stops gets ~0.1 s.
      const pause = roomNoise(pauses[i % pauses.length]!, i + 7);
      parts.push(pause);
      offset += pause.length;
    });
    return { samples: concatSamples(parts), transcript: segments.map((s) => s.transcript).join(' '), speechSeconds: speech, segments: placed };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
