import type { RecognizedWord, SpeechEvent } from '../../src/asr/types.js';
import { normalizeWords } from '../../src/util/wer.js';
import type { Hearing } from './fake-engine-server.js';

const RATE = 16_000;

/** One utterance of a script: its words with their times (seconds from the stream's first sample). */
export interface ScriptedUtterance {
  words: RecognizedWord[];
}

/** A piece of speech in a longer recording: where its samples are and what is said in it. */
export interface SpokenPiece {
  start: number;
  end: number;
  transcript: string;
}

/**
 * When each word of a recording is said, from where each sentence's audio is and what it says: the sentence's voiced
 * span (its leading and trailing quiet trimmed by level) shared among its words by their length in letters. Sentences
 * closer than the endpoint's quiet run together into one utterance, as they would in an engine listening live.
 */
export function scriptOf(samples: Int16Array, pieces: readonly SpokenPiece[], endpointSeconds = 0.5, maxUtteranceSeconds = 15): ScriptedUtterance[] {
  const utterances: ScriptedUtterance[] = [];
  for (const piece of pieces) {
    const { start, end } = voicedSpan(samples, piece.start, piece.end);
    const plain = normalizeWords(piece.transcript);
    const letters = plain.reduce((sum, word) => sum + word.length + 1, 0);
    let at = start;
    const words = plain.map((word) => {
      const span = ((end - start) * (word.length + 1)) / letters;
      const timed = { word, start: at / RATE, end: (at + span) / RATE };
      at += span;
      return timed;
    });
    const last = utterances.at(-1)?.words;
    const gap = last && words[0] ? words[0].start - last.at(-1)!.end : Infinity;
    const length = last && words[0] ? words.at(-1)!.end - last[0]!.start : 0;
    if (last && gap < endpointSeconds && length < maxUtteranceSeconds) {
      last.push(...words);
      // Two people talking over each other: an engine hears their words in the order they are said.
      if (gap < 0) last.sort((a, b) => a.start - b.start);
    } else if (words.length > 0) utterances.push({ words });
  }
  return utterances;
}

/** The first and last 10 ms frames of a piece whose level is above the room's noise. */
function voicedSpan(samples: Int16Array, from: number, to: number): { start: number; end: number } {
  const frame = RATE / 100;
  const loud = (at: number): boolean => {
    let sum = 0;
    for (let i = at; i < Math.min(at + frame, to); i++) sum += samples[i]! * samples[i]!;
    return Math.sqrt(sum / frame) > 500;
  };
  let start = from;
  while (start + frame < to && !loud(start)) start += frame;
  let end = to;
  while (end - frame > start && !loud(end - frame)) end -= frame;
  return { start, end };
}

/**
 * A recognizer that hears every word of a known script: each word is heard once its audio has arrived, interims come
 * every 100 ms of audio while words arrive (every fourth word first misheard, then put right in the next interim, as
 * engines revise their newest word), and an utterance's final comes half a second after its last word. So a
 * stand-in with this hearing tests the bridge with a perfect engine: every word lost, doubled or changed is the
 * bridge's, and its latency is measured from the moment each word was said.
 */
export class ScriptedHearing implements Hearing {
  private samples = 0;
  private utterance = 0;
  private shown = '';
  private lastInterimAt = 0;
  private started = false;
  /** The utterances still to come (an utterance ended early by finish() goes on as a new one). */
  private readonly script: ScriptedUtterance[];

  constructor(
    script: readonly ScriptedUtterance[],
    private readonly endpointSeconds = 0.5,
  ) {
    this.script = script.map((u) => ({ words: [...u.words] }));
  }

  process(pcm: Int16Array): SpeechEvent[] {
    this.samples += pcm.length;
    const now = this.samples / RATE;
    const events: SpeechEvent[] = [];
    for (let current = this.script[this.utterance]; current; current = this.script[this.utterance]) {
      const heard = current.words.filter((w) => w.end <= now);
      if (heard.length === 0) break;
      if (!this.started) {
        this.started = true;
        events.push({ type: 'start_of_speech', time: heard[0]!.start });
      }
      if (now >= current.words.at(-1)!.end + this.endpointSeconds) {
        events.push({ type: 'final', text: current.words.map((w) => w.word).join(' '), words: current.words, time: now }, { type: 'end_of_speech', time: now });
        this.nextUtterance();
        continue;
      }
      if (now - this.lastInterimAt >= 0.1) {
        const words = this.misheardNewest(heard);
        const text = words.map((w) => w.word).join(' ');
        if (text !== this.shown) {
          events.push({ type: 'interim', text, words, time: now });
          this.shown = text;
          this.lastInterimAt = now;
        }
      }
      break;
    }
    return events;
  }

  /** Ends the utterance under way with the words heard so far (a client's "finalize now"); its rest is a new utterance. */
  finish(): SpeechEvent[] {
    const current = this.script[this.utterance];
    const now = this.samples / RATE;
    const heard = current?.words.filter((w) => w.end <= now) ?? [];
    if (heard.length === 0) return [];
    current!.words.splice(0, heard.length);
    if (current!.words.length === 0) this.nextUtterance();
    else this.restartUtterance();
    return [
      { type: 'final', text: heard.map((w) => w.word).join(' '), words: heard, time: now },
      { type: 'end_of_speech', time: now },
    ];
  }

  free(): void {}

  /** Every fourth word of an utterance is heard wrong the first time it is newest (a revision the bridge must follow). */
  private misheardNewest(heard: RecognizedWord[]): RecognizedWord[] {
    const newest = heard.length - 1;
    if (newest % 4 !== 3 || this.shown.split(' ').length > newest) return heard;
    const wrong = heard[newest]!;
    return [...heard.slice(0, newest), { ...wrong, word: wrong.word.length > 3 ? wrong.word.slice(0, -2) : `${wrong.word}s` }];
  }

  private nextUtterance(): void {
    this.utterance += 1;
    this.restartUtterance();
  }

  private restartUtterance(): void {
    this.shown = '';
    this.started = false;
    this.lastInterimAt = 0;
  }
}

/** Samples a connection's first audio is matched by: enough that room noise makes the match unique. */
const ALIGN_SAMPLES = 480;

/**
 * A perfect hearing for a connection that may begin anywhere in the stream (a connection renewed at a pause hears
 * the stream from there): it finds where by matching its first audio, sample for sample, in the stream's own
 * samples, then hears the script from that point on its own timeline.
 */
export class AlignedHearing implements Hearing {
  private inner: ScriptedHearing | undefined;
  private readonly head: Int16Array[] = [];
  /** Where in the stream this connection's audio began (samples), once found. */
  offset: number | undefined;

  constructor(
    private readonly script: readonly ScriptedUtterance[],
    private readonly stream: Int16Array,
  ) {}

  process(pcm: Int16Array): SpeechEvent[] {
    if (this.inner) return this.inner.process(pcm);
    this.head.push(pcm);
    const received = this.head.reduce((n, p) => n + p.length, 0);
    if (received < ALIGN_SAMPLES) return [];
    const first = new Int16Array(received);
    let at = 0;
    for (const part of this.head) {
      first.set(part, at);
      at += part.length;
    }
    // Room noise repeats between sentences: the match must be the only one, else more audio decides.
    const matches = findSamples(this.stream, first);
    if (matches.length === 0) throw new Error('AlignedHearing: this audio is not in the stream');
    if (matches.length > 1) return [];
    this.offset = matches[0]!;
    const from = this.offset / RATE;
    const shifted = this.script
      .map((u) => ({ words: u.words.filter((w) => w.start >= from - 0.01).map((w) => ({ ...w, start: w.start - from, end: w.end - from })) }))
      .filter((u) => u.words.length > 0);
    this.inner = new ScriptedHearing(shifted);
    return this.inner.process(first);
  }

  finish(): SpeechEvent[] {
    return this.inner?.finish() ?? [];
  }

  free(): void {}
}

/** Where `needle` occurs in `haystack` (at most two places: enough to tell one from several). */
function findSamples(haystack: Int16Array, needle: Int16Array): number[] {
  const found: number[] = [];
  outer: for (let i = 0; i + needle.length <= haystack.length && found.length < 2; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    found.push(i);
  }
  return found;
}
