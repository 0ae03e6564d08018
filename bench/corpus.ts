import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWav } from '../src/util/wav.js';
import { librivoxClips, roomNoise } from '../test/helpers/speech.js';

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

/** Talk the team never tuned on: a project review with dates, names, requests and a question or two. */
const HELD_OUT_SCRIPT = [
  'hello and welcome to the project review for the second quarter',
  'i will start with the budget and then hand over to maria for the schedule',
  'we spent a little less than we planned because two vendors lowered their prices',
  'the design work is finished and the building permit arrived on monday',
  'maria do you want to walk us through the timeline',
  'yes thank you the foundation work starts in april and should take six weeks',
  'after that the steel frame goes up over the summer',
  'the biggest risk is the weather so we added two weeks of buffer',
  'does anyone have a question about the schedule',
  'what happens if the steel delivery is late',
  'then we move the interior work forward and the opening date stays the same',
  'good we will meet again at the end of next month',
  'please send your comments on the report by friday',
];

/**
 * Talk the display was never tuned on, written after the held-out set showed what tuning missed: pauses that fall
 * inside sentences (a speaker breathing mid-thought) and sentences that run on without one, long and short ones
 * mixed, in voices neither other set uses. Each line is what one breath says; the pause comes after it.
 */
const UNTUNED_SCRIPT = [
  'good evening and welcome to the council meeting on the new library',
  'before we start I want to thank the volunteers who kept the old building open',
  'all through the winter',
  'the plan has three parts',
  'a reading room on the ground floor with long opening hours and a small cafe',
  'a children\'s floor above it',
  'and a quiet floor for study at the top',
  'construction would begin in the autumn if the budget passes tonight',
  'we expect it to take about eighteen months',
  'the architect is here to answer questions about the design and the cost',
  'who would like to go first',
  'I live on the corner of the market square and I have a question about parking',
  'will there be more spaces or fewer than today',
  'fewer at first but the new bus stop will be right at the front door',
];

export interface Segment {
  samples: Int16Array;
  transcript: string;
  kind: 'librivox' | 'espeak' | 'flite';
  /** The synthetic voice that says it, where the set has several: a conversation's speakers (bench/speakers.bench.ts). */
  voice?: string;
}

export interface Corpus {
  samples: Int16Array;
  transcript: string;
  speechSeconds: number;
  /** Sample offsets of each segment and what is said in it (a scripted hearing's script, see scriptOf). */
  segments: { kind: string; start: number; end: number; transcript: string; voice?: string }[];
}

function espeak(text: string, dir: string, index: number, wordsPerMinute: number, voice = 'en-us'): Int16Array {
  const raw = join(dir, `s${index}.wav`);
  const resampled = join(dir, `s${index}-16k.wav`);
  execFileSync('espeak-ng', ['-v', voice, '-s', String(wordsPerMinute), '-w', raw, text]);
  // -D: no dither, so the corpus is the same sample for sample on every run.
  execFileSync('sox', ['-D', raw, '-r', '16000', '-c', '1', '-b', '16', resampled]);
  return readWav(resampled).samples;
}

export const WITH_PAUSES = [0.3, 0.8, 1.5, 0.5];
export const WITHOUT_PAUSES = [0.1, 0.15];

export type CorpusName = 'meeting' | 'held-out' | 'untuned' | 'names';

/**
 * A few minutes of speech with pauses of room noise between sentences, some short (a speaker who barely pauses)
 * and some long. 'meeting' (what the defaults were tuned on): the librivox clips (human read speech) and
 * espeak-ng meeting talk. 'held-out': other talk in other voices (flite), never used for tuning. 'untuned': a
 * third talk whose pauses fall inside sentences too, in espeak-ng's other English voices, never used for tuning.
 */
export function buildCorpus(rounds = 2, pauses: readonly number[] = WITH_PAUSES, name: CorpusName = 'meeting'): Corpus {
  const dir = mkdtempSync(join(tmpdir(), 'cb-corpus-'));
  try {
    const segments: Segment[] = [];
    const segmentsOf = { meeting: meetingSegments, 'held-out': heldOutSegments, untuned: untunedSegments, names: namesSegments }[name];
    for (let round = 0; round < rounds; round++) segments.push(...segmentsOf(dir, round));
    return assemble(segments, pauses);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function meetingSegments(dir: string, round: number): Segment[] {
  const human = librivoxClips().map((clip): Segment => ({ samples: readWav(clip.path).samples, transcript: clip.transcript, kind: 'librivox' }));
  const talk = MEETING_SCRIPT.map((line, i): Segment => ({ samples: espeak(line, dir, round * 100 + i, round === 0 ? 160 : 185), transcript: line, kind: 'espeak' }));
  return [...human, ...talk];
}

/**
 * Voices of the held-out set: flite's American woman and two American men, and a Scottish man. The engine hears
 * them far better than espeak-ng (finals WER ~0.05-0.17 on their own, measured), the regime of a cloud engine,
 * where every word the bridge loses shows.
 */
const HELD_OUT_VOICES = ['slt', 'rms', 'awb', 'kal16'];

function heldOutSegments(dir: string, round: number): Segment[] {
  return HELD_OUT_SCRIPT.map((line, i): Segment => {
    const voice = HELD_OUT_VOICES[(i + round) % HELD_OUT_VOICES.length]!;
    // Paces from a calm 140 to a brisk 190 words a minute (flite speaks at about 170).
    const stretch = [1.2, 1, 0.9][(i + round) % 3]!;
    return { samples: flite(line, dir, 1_000 + round * 100 + i, voice, stretch), transcript: line, kind: 'flite', voice };
  });
}

/** Voices of the untuned set: espeak-ng's British (received pronunciation), Caribbean and West Midlands English. */
const UNTUNED_VOICES = ['en-gb-x-rp', 'en-029', 'en-gb-x-gbcwmd'];

/**
 * A meeting that names its people and its projects (bench/meeting-words.bench.ts): the participants' names and the
 * agenda's terms are the words a general model mishears. Not used for tuning.
 */
const NAMES_SCRIPT = [
  'good morning everyone and welcome to the falcon budget review',
  'priya could you start with the kestrel migration',
  'thanks tomasz the kestrel migration finished on monday',
  'ngozi found two problems and siobhan fixed both of them',
  'next is the norland lease which okafor will explain',
  'siobhan please send the notes to priya and tomasz after the meeting',
];

function namesSegments(dir: string, round: number): Segment[] {
  return NAMES_SCRIPT.map((line, i): Segment => {
    const voice = UNTUNED_VOICES[(i + round) % UNTUNED_VOICES.length]!;
    return { samples: espeak(line, dir, 3_000 + round * 100 + i, 165, voice), transcript: line, kind: 'espeak', voice };
  });
}

function untunedSegments(dir: string, round: number): Segment[] {
  return UNTUNED_SCRIPT.map((line, i): Segment => {
    const voice = UNTUNED_VOICES[(i + round) % UNTUNED_VOICES.length]!;
    // 150 to 195 words a minute, changing with every breath.
    const pace = [150, 175, 195][(i + 2 * round) % 3]!;
    return { samples: espeak(line, dir, 2_000 + round * 100 + i, pace, voice), transcript: line, kind: 'espeak', voice };
  });
}

function flite(text: string, dir: string, index: number, voice: string, stretch: number): Int16Array {
  const raw = join(dir, `f${index}.wav`);
  const resampled = join(dir, `f${index}-16k.wav`);
  execFileSync('flite', ['-voice', voice, '--setf', `duration_stretch=${stretch}`, '-t', text, '-o', raw]);
  execFileSync('sox', ['-D', raw, '-r', '16000', '-c', '1', '-b', '16', resampled]);
  return readWav(resampled).samples;
}

/**
 * The segments one after another with a pause of room noise after each (seconds, in turn from `pauses`); a negative
 * pause makes the next segment start that long before the previous one ends, the two voices mixed (people talking
 * over each other).
 */
function assemble(segments: readonly Segment[], pauses: readonly number[]): Corpus {
  const pieces: { at: number; samples: Int16Array }[] = [{ at: 0, samples: roomNoise(1) }];
  const placed: Corpus['segments'] = [];
  let offset = pieces[0]!.samples.length;
  let speech = 0;
  segments.forEach((segment, i) => {
    pieces.push({ at: offset, samples: segment.samples });
    placed.push({ kind: segment.kind, start: offset, end: offset + segment.samples.length, transcript: segment.transcript, ...(segment.voice ? { voice: segment.voice } : {}) });
    offset += segment.samples.length;
    speech += segment.samples.length / 16_000;
    const pause = pauses[i % pauses.length]!;
    if (pause >= 0) {
      const noise = roomNoise(pause, i + 7);
      pieces.push({ at: offset, samples: noise });
      offset += noise.length;
    } else offset = Math.max(placed.at(-1)!.start + 1, offset + Math.round(pause * 16_000));
  });
  const samples = new Int16Array(Math.max(...pieces.map((p) => p.at + p.samples.length)));
  for (const { at, samples: part } of pieces) {
    for (let i = 0; i < part.length; i++) samples[at + i] = Math.max(-32_768, Math.min(32_767, samples[at + i]! + part[i]!));
  }
  return { samples, transcript: segments.map((s) => s.transcript).join(' '), speechSeconds: speech, segments: placed };
}
