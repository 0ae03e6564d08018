import type { RecognizedWord, SpeechEvent } from '../asr/types.js';
import { capitalize } from '../util/text.js';
import { normalizeWords } from '../util/wer.js';
import { coveredPrefixLength } from './align.js';
import { TextRules } from './text-rules.js';

export interface SegmenterOptions {
  /** An interim word is settled once it and every word before it stayed unchanged for this much audio. */
  stableMs: number;
  /** The last words of an interim are still being heard; never settle these from an interim. */
  holdBackWords: number;
}

/** Tuned with bench/segmenter-sweep.bench.ts (results in bench/results/segmenter-sweep-*.json). */
export const DEFAULT_SEGMENTER_OPTIONS: SegmenterOptions = {
  stableMs: 200,
  holdBackWords: 1,
};

/** A piece of readable text whose words will not change any more. */
export interface SettledToken {
  /** As shown: after the text rules, capitalised at a sentence start, with the full stop that ends an utterance. */
  text: string;
  /** The recognised words it stands for, as the engine spelled them. */
  words: string[];
  /** Stream audio seconds: when its first word began and its last one ended. */
  start: number;
  end: number;
  /** Wall-clock ms when the segmenter settled it. */
  settledAt: number;
  /** Who said it, when the engine tells speakers apart. */
  speaker?: string;
}

/** What one engine event settles: new tokens, and whether the utterance (so the sentence) ended with them. */
export interface SettledPiece {
  tokens: SettledToken[];
  endsUtterance: boolean;
}

type SettledWord = RecognizedWord;

/**
 * Decides which recognised words are settled: an engine's interims are revised as it hears more, and a caption
 * cannot be taken back once posted (each POST is a line of Zoom's saved transcript). Settled words leave at once,
 * as readable tokens; how they are laid out and paced on screen is the display stage's job. Synchronous, so every
 * decision is testable; `settleWords` runs it against a live event stream.
 */
export class Segmenter {
  /** Words of the current utterance already settled (released or waiting in `pending`). */
  private settledInUtterance: string[] = [];
  /** Settled words the text rules hold back (a number or a replacement that may go on). */
  private pending: SettledWord[] = [];
  /** For each position of the last interim: audio time since which it and its prefix have been unchanged. */
  private agreedSince: number[] = [];
  private lastInterim: string[] = [];
  private sentenceStart = true;
  private utteranceEnded = false;

  constructor(
    private readonly options: SegmenterOptions = DEFAULT_SEGMENTER_OPTIONS,
    private readonly rules: TextRules = new TextRules(),
  ) {}

  onEvent(event: SpeechEvent, now: number): SettledPiece | undefined {
    switch (event.type) {
      case 'start_of_speech':
        return undefined;
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

  /** End of the stream: everything settled goes out. */
  flush(now: number): SettledPiece | undefined {
    this.endUtterance();
    return this.release(now);
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
  }

  private endUtterance(): void {
    if (this.settledInUtterance.length > 0 || this.pending.length > 0) this.utteranceEnded = true;
    this.settledInUtterance = [];
    this.agreedSince = [];
    this.lastInterim = [];
  }

  private release(now: number): SettledPiece | undefined {
    const endsUtterance = this.utteranceEnded;
    const { tokens, consumed } = this.rules.render(this.pending.map((w) => w.word), endsUtterance);
    const words = this.pending.splice(0, consumed);
    const settled: SettledToken[] = tokens.map((token, i) => {
      const span = words.slice(token.from, token.to);
      let text = withEnginePunctuation(token.text, span);
      if (i === 0 && this.sentenceStart) text = capitalize(text);
      this.sentenceStart = /[.?!]$/.test(text);
      const speaker = span[0]!.speaker;
      return { text, words: span.map((w) => w.word), start: span[0]!.start, end: span.at(-1)!.end, settledAt: now, ...(speaker === undefined ? {} : { speaker }) };
    });
    // Pocketsphinx gives no punctuation: an utterance ends a sentence.
    const last = settled.at(-1);
    if (endsUtterance && last && !/[.?!]$/.test(last.text)) last.text += '.';
    if (endsUtterance) {
      this.utteranceEnded = false;
      this.sentenceStart = true;
    }
    return settled.length > 0 || endsUtterance ? { tokens: settled, endsUtterance } : undefined;
  }
}

/**
 * An engine that punctuates and cases (Deepgram's punctuated_word) keeps its casing for a plain word and its
 * punctuation after the token's last word; the text rules' own forms (digits, replacements, masks) stay as made.
 */
function withEnginePunctuation(ruled: string, span: readonly SettledWord[]): string {
  const written = span.at(-1)!.display;
  if (written === undefined) return ruled;
  const punctuation = /[.,;:?!]+$/.exec(written)?.[0] ?? '';
  const bare = written.slice(0, written.length - punctuation.length);
  const cased = span.length === 1 && bare.toLowerCase() === ruled.toLowerCase() ? bare : ruled;
  return cased + punctuation;
}

/** Engines that give no word timings get the event's time for every word. */
function wordsOf(event: { text: string; words?: RecognizedWord[]; time: number }): SettledWord[] {
  if (event.words && event.words.length > 0) return event.words.map((w) => ({ ...w, word: w.word.toLowerCase() }));
  return normalizeWords(event.text).map((word) => ({ word, start: event.time, end: event.time }));
}
