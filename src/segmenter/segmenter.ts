import type { SpeechEvent } from '../asr/types.js';
import { normalizeWords } from '../util/wer.js';
import { coveredPrefixLength } from './align.js';
import { displayWord, layoutCaption, type LayoutOptions } from './format.js';

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
  minIntervalMs: 1_000,
};

export interface Caption {
  /** What is posted: at most maxLines lines of at most maxLineChars, joined by \n. */
  text: string;
  /** The recognised words it carries, as the engine spelled them. */
  words: string[];
  /** Stream audio seconds: when the first word was heard and the last one ended (best estimate). */
  audioStart: number;
  audioEnd: number;
  /** Wall-clock ms when the segmenter let it go. */
  releasedAt: number;
}

interface SettledWord {
  word: string;
  display: string;
  audioStart: number;
  audioEnd: number;
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
  private lastReleaseAt = -Infinity;

  constructor(private readonly options: SegmenterOptions = DEFAULT_SEGMENTER_OPTIONS) {}

  onEvent(event: SpeechEvent, now: number): Caption[] {
    switch (event.type) {
      case 'start_of_speech':
        return [];
      case 'interim':
        this.onInterim(normalizeWords(event.text), event.time);
        return this.release(now, false);
      case 'final': {
        const words = event.words.length > 0 ? event.words : normalizeWords(event.text).map((word) => ({ word, start: event.time, end: event.time }));
        const covered = coveredPrefixLength(this.settledInUtterance, words.map((w) => w.word));
        for (const w of words.slice(covered)) this.settle(w.word, w.start, w.end);
        this.endUtterance();
        return this.release(now, true);
      }
      case 'end_of_speech':
        this.endUtterance();
        return this.release(now, true);
    }
  }

  /** Call when `nextDeadline()` passes with no event. */
  onTick(now: number): Caption[] {
    return this.release(now, false);
  }

  /** End of the stream: everything settled goes out. */
  flush(now: number): Caption[] {
    this.endUtterance();
    return this.release(now, true);
  }

  /** Wall-clock ms at which waiting words must be released even if no event arrives. */
  nextDeadline(): number | undefined {
    return this.pending.length > 0 ? this.lastReleaseAt + this.options.minIntervalMs : undefined;
  }

  private onInterim(words: string[], audioTime: number): void {
    let same = 0;
    while (same < words.length && same < this.lastInterim.length && words[same] === this.lastInterim[same]) same++;
    this.agreedSince = words.map((_, i) => (i < same ? this.agreedSince[i]! : audioTime));
    this.lastInterim = words;

    const stableSeconds = this.options.stableMs / 1000;
    let stable = 0;
    const limit = Math.max(0, words.length - this.options.holdBackWords);
    while (stable < limit && audioTime - this.agreedSince[stable]! >= stableSeconds) stable++;

    const covered = coveredPrefixLength(this.settledInUtterance, words);
    // When the engine first heard a word is the closest an interim comes to when it was spoken.
    for (let i = covered; i < stable; i++) this.settle(words[i]!, this.agreedSince[i]!, this.agreedSince[i]!);
  }

  private settle(word: string, audioStart: number, audioEnd: number): void {
    this.settledInUtterance.push(word);
    this.pending.push({ word, display: displayWord(word, this.sentenceStart), audioStart, audioEnd });
    this.sentenceStart = false;
  }

  private endUtterance(): void {
    const last = this.pending.at(-1);
    // Pocketsphinx gives no punctuation: an utterance ends a sentence. With nothing waiting, the previous caption
    // already ended without it; a lone "." would be a caption of its own, which reads worse than none.
    if (last && this.settledInUtterance.length > 0 && !/[.?!]$/.test(last.display)) last.display += '.';
    if (this.settledInUtterance.length > 0) this.sentenceStart = true;
    this.settledInUtterance = [];
    this.agreedSince = [];
    this.lastInterim = [];
  }

  private release(now: number, endOfUtterance: boolean): Caption[] {
    const captions: Caption[] = [];
    const full = (): boolean => layoutCaption(this.pending.map((w) => w.display), this.options).taken < this.pending.length;
    while (this.pending.length > 0) {
      if (!endOfUtterance && !full() && now - this.lastReleaseAt < this.options.minIntervalMs) break;
      const { taken, lines } = layoutCaption(this.pending.map((w) => w.display), this.options);
      const words = this.pending.splice(0, taken);
      captions.push({
        text: lines.join('\n'),
        words: words.map((w) => w.word),
        audioStart: words[0]!.audioStart,
        audioEnd: words.at(-1)!.audioEnd,
        releasedAt: now,
      });
      this.lastReleaseAt = now;
    }
    return captions;
  }
}
