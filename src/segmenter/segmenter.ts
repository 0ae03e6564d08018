import type { RecognizedWord, SpeechEvent } from '../asr/types.js';
import { normalizeWords } from '../util/wer.js';
import { coveredPrefixLength } from './align.js';
import { layoutCaption, type LayoutOptions } from './format.js';
import { TextRules } from './text-rules.js';

export interface SegmenterOptions extends LayoutOptions {
  /** An interim word is settled once it and every word before it stayed unchanged for this much audio. */
  stableMs: number;
  /** The last words of an interim are still being heard; never settle these from an interim. */
  holdBackWords: number;
  /**
   * While an utterance goes on, captions are spaced at least this far apart (each POST is a transcript line, and
   * a flicker of one-word captions is hard to read). Settled words wait at most this long; the end of an
   * utterance or a full caption goes out at once.
   */
  minIntervalMs: number;
}

/** Tuned with bench/segmenter-sweep.bench.ts (results in bench/results/segmenter-sweep-*.json). */
export const DEFAULT_SEGMENTER_OPTIONS: SegmenterOptions = {
  maxLineChars: 32,
  maxLines: 2,
  stableMs: 200,
  holdBackWords: 1,
  minIntervalMs: 850,
};

export interface Caption {
  /** What is posted: at most maxLines lines of at most maxLineChars, joined by \n. */
  text: string;
  /** The recognised words it carries, as the engine spelled them (fillers included). */
  words: string[];
  /** Stream audio seconds: when the first word began and the last one ended. */
  audioStart: number;
  audioEnd: number;
  /** Wall-clock ms when the segmenter let it go. */
  releasedAt: number;
}

interface SettledWord {
  word: string;
  start: number;
  end: number;
}

/**
 * Turns an engine's interims and finals into caption text that is never revised: a caption cannot be taken
 * back once posted (each POST is a line of Zoom's saved transcript). Synchronous and clock-injected, so every
 * decision is testable; `segmentCaptions` runs it against a live event stream with timers.
 */
export class Segmenter {
  /** Words of the current utterance already settled (sent or waiting in `pending`). */
  private settledInUtterance: string[] = [];
  private pending: SettledWord[] = [];
  /** For each position of the last interim: audio time since which it and its prefix have been unchanged. */
  private agreedSince: number[] = [];
  private lastInterim: string[] = [];
  private sentenceStart = true;
  private utteranceEnded = false;
  private lastReleaseAt = -Infinity;

  constructor(
    private readonly options: SegmenterOptions = DEFAULT_SEGMENTER_OPTIONS,
    private readonly rules: TextRules = new TextRules(),
  ) {}

  onEvent(event: SpeechEvent, now: number): Caption[] {
    switch (event.type) {
      case 'start_of_speech':
        return [];
      case 'interim':
        this.onInterim(wordsOf(event), event.time);
        return this.release(now);
      case 'final': {
        const words = wordsOf(event);
        const covered = coveredPrefixLength(this.settledInUtterance, words.map((w) => w.word));
        for (const w of words.slice(covered)) this.settle(w);
        this.endUtterance();
        return this.release(now);
      }
      case 'end_of_speech':
        this.endUtterance();
        return this.release(now);
    }
  }

  /** Call when `nextDeadline()` passes with no event. */
  onTick(now: number): Caption[] {
    return this.release(now);
  }

  /** End of the stream: everything settled goes out. */
  flush(now: number): Caption[] {
    this.endUtterance();
    return this.release(now);
  }

  /**
   * Wall-clock ms at which waiting words must be released even if no event arrives. Words the text rules hold
   * back (a number that may go on) wait for the next event instead: no timer can complete them.
   */
  nextDeadline(): number | undefined {
    if (this.pending.length === 0) return undefined;
    const releasable = this.utteranceEnded || this.rules.render(this.pending.map((w) => w.word), false).consumed > 0;
    return releasable ? this.lastReleaseAt + this.options.minIntervalMs : undefined;
  }

  private onInterim(words: SettledWord[], audioTime: number): void {
    let same = 0;
    while (same < words.length && same < this.lastInterim.length && words[same]!.word === this.lastInterim[same]) same++;
    this.agreedSince = words.map((_, i) => (i < same ? this.agreedSince[i]! : audioTime));
    this.lastInterim = words.map((w) => w.word);

    const stableSeconds = this.options.stableMs / 1000;
    let stable = 0;
    const limit = Math.max(0, words.length - this.options.holdBackWords);
    while (stable < limit && audioTime - this.agreedSince[stable]! >= stableSeconds) stable++;

    const covered = coveredPrefixLength(this.settledInUtterance, this.lastInterim);
    for (let i = covered; i < stable; i++) this.settle(words[i]!);
  }

  private settle(word: SettledWord): void {
    this.settledInUtterance.push(word.word);
    this.pending.push(word);
    this.utteranceEnded = false;
  }

  private endUtterance(): void {
    if (this.settledInUtterance.length > 0) this.utteranceEnded = true;
    this.settledInUtterance = [];
    this.agreedSince = [];
    this.lastInterim = [];
  }

  private release(now: number): Caption[] {
    const captions: Caption[] = [];
    const endOfUtterance = this.utteranceEnded;
    while (this.pending.length > 0) {
      const { tokens, consumed } = this.rules.render(this.pending.map((w) => w.word), endOfUtterance);
      if (tokens.length === 0) {
        if (consumed === 0) break; // all held back until the phrase is complete
        // Only fillers: nothing to show, nothing to wait for.
        this.pending.splice(0, consumed);
        continue;
      }
      const texts = tokens.map((t) => t.text);
      if (this.sentenceStart) texts[0] = texts[0]!.charAt(0).toUpperCase() + texts[0]!.slice(1);
      const everything = consumed === this.pending.length;
      // Pocketsphinx gives no punctuation: an utterance ends a sentence.
      if (endOfUtterance && everything && !/[.?!]$/.test(texts.at(-1)!)) texts[texts.length - 1] += '.';

      const { taken, lines } = layoutCaption(texts, this.options);
      const full = taken < tokens.length;
      if (!endOfUtterance && !full && now - this.lastReleaseAt < this.options.minIntervalMs) break;
      // A caption that holds every token also takes the words after the last one (dropped fillers).
      const wordCount = taken === tokens.length ? consumed : tokens[taken]!.from;
      const words = this.pending.splice(0, wordCount);
      captions.push({
        text: lines.join('\n'),
        words: words.map((w) => w.word),
        audioStart: words[0]!.start,
        audioEnd: words.at(-1)!.end,
        releasedAt: now,
      });
      this.lastReleaseAt = now;
      this.sentenceStart = false;
      if (!full && !everything) break; // the rest is held back by the text rules
    }
    if (endOfUtterance && this.pending.length === 0) {
      this.utteranceEnded = false;
      this.sentenceStart = true;
    }
    return captions;
  }
}

/** Engines that give no word timings get the event's time for every word. */
function wordsOf(event: { text: string; words?: RecognizedWord[]; time: number }): SettledWord[] {
  if (event.words && event.words.length > 0) return event.words.map((w) => ({ word: w.word.toLowerCase(), start: w.start, end: w.end }));
  return normalizeWords(event.text).map((word) => ({ word, start: event.time, end: event.time }));
}
