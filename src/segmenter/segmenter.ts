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

/**
 * Tuned with the segmenter rows of bench/display-sweep.bench.ts (bench/results/display-sweep-*.json; the first
 * tuning, bench/results/segmenter-sweep-2026-11-23T20-18-29.json, came from a bench since folded into it).
 */
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
  /** Wall-clock ms when its last word was said, when the source stamps its audio (Zoom does). */
  saidAt?: number;
  /** Who said it, when the engine tells speakers apart. */
  speaker?: string;
  /** Their name, when the source gives it (display.speakerNames). */
  speakerName?: string;
}

/** What one engine event settles: new tokens, and whether the utterance (so the sentence) ended with them. */
export interface SettledPiece {
  tokens: SettledToken[];
  endsUtterance: boolean;
  /**
   * The engine changed words of this utterance that earlier pieces released: every token released so far in the
   * utterance, as the engine now hears it (its final, when it ended). A display replaces those it has not shown yet,
   * so what a viewer reads is the engine's newest answer for each word; what is on screen already stays.
   */
  revised?: SettledToken[];
}

type SettledWord = RecognizedWord;

/**
 * Decides which recognised words are settled: an engine's interims are revised as it hears more, and a caption
 * cannot be taken back once posted (each POST is a line of Zoom's saved transcript). Settled words leave at once,
 * as readable tokens; how they are laid out and paced on screen is the display stage's job. Synchronous, so every
 * decision is testable; `settleWords` runs it against a live event stream.
 */
export class Segmenter {
  /** Words of the current utterance released as tokens, as the engine last heard them. */
  private released: SettledWord[] = [];
  /** Settled words the text rules hold back (a number or a replacement that may go on). */
  private pending: SettledWord[] = [];
  /** The released words changed since the last piece: it carries them again (`revised`). */
  private revisedSince = false;
  /** The engine dropped released words in this utterance: every piece carries the released words from then on. */
  private shrunk = false;
  /** Whether the current utterance began a sentence (its first word capitalised). */
  private utteranceStartsSentence = true;
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
        const covered = this.revise(words);
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
    // A word the engine itself calls stable will not change: it settles at once, newest word or not.
    while (stable < words.length && (words[stable]!.stable || (stable < limit && audioTime - this.agreedSince[stable]! >= stableSeconds))) stable++;

    const covered = this.revise(words);
    for (let i = covered; i < stable; i++) this.settle(words[i]!);
  }

  /**
   * Takes the engine's newest answer for the words already settled (released or held): a settled word still
   * changes until a display shows it. Returns how many words of `words` the settled ones cover.
   */
  private revise(words: readonly SettledWord[]): number {
    const heard = words.map((w) => w.word);
    const settled = [...this.released, ...this.pending];
    const covered = coveredPrefixLength(settled.map((w) => w.word), heard);
    const releasedCover = coveredPrefixLength(this.released.map((w) => w.word), heard.slice(0, covered));
    const newest = words.slice(0, releasedCover);
    // An answer with fewer words (an interim cut short for a moment) revises them too: from then on every piece of
    // the utterance carries them all, so a display sees words settled again as the same words, never twice.
    if (newest.length < this.released.length) this.shrunk = true;
    if (this.shrunk || newest.some((w, i) => w.word !== this.released[i]!.word || w.display !== this.released[i]!.display)) this.revisedSince = true;
    this.released = newest;
    this.pending = words.slice(releasedCover, covered);
    return covered;
  }

  private settle(word: SettledWord): void {
    this.pending.push(word);
  }

  private endUtterance(): void {
    if (this.released.length > 0 || this.pending.length > 0) this.utteranceEnded = true;
    this.agreedSince = [];
    this.lastInterim = [];
  }

  private release(now: number): SettledPiece | undefined {
    const endsUtterance = this.utteranceEnded;
    // Noted before the utterance's first word goes out (not again when the engine dropped every released word).
    if (this.released.length === 0 && !this.shrunk) this.utteranceStartsSentence = this.sentenceStart;
    const revised = this.revisedSince || (this.shrunk && this.pending.length > 0) ? this.tokensOf(this.released, true, now, this.utteranceStartsSentence).tokens : undefined;
    this.revisedSince = false;
    // The revised tokens set the sentence state the new ones continue from (none: fillers only, or all dropped).
    if (revised) this.sentenceStart = revised.length > 0 ? /[.?!]$/.test(revised.at(-1)!.text) : this.utteranceStartsSentence;
    const { tokens: settled, consumed } = this.tokensOf(this.pending, endsUtterance, now, this.sentenceStart);
    this.released.push(...this.pending.splice(0, consumed));
    if (settled.length > 0) this.sentenceStart = /[.?!]$/.test(settled.at(-1)!.text);
    // Pocketsphinx gives no punctuation: an utterance ends a sentence.
    const last = settled.at(-1) ?? (endsUtterance ? revised?.at(-1) : undefined);
    if (endsUtterance && last && !/[.?!]$/.test(last.text)) last.text += '.';
    if (endsUtterance) {
      this.utteranceEnded = false;
      this.sentenceStart = true;
      this.released = [];
      this.pending = [];
      this.shrunk = false;
    }
    if (settled.length === 0 && !endsUtterance && !revised) return undefined;
    return { tokens: settled, endsUtterance, ...(revised ? { revised } : {}) };
  }

  /** Words as readable tokens under the text rules; `complete`: nothing more follows, so nothing is held back. */
  private tokensOf(words: readonly SettledWord[], complete: boolean, now: number, startsSentence: boolean): { tokens: SettledToken[]; consumed: number } {
    const { tokens, consumed } = this.rules.render(words.map((w) => w.word), complete);
    const settled = tokens.map((token, i): SettledToken => {
      const span = words.slice(token.from, token.to);
      let text = withEnginePunctuation(token.text, span);
      if (i === 0 && startsSentence) text = capitalize(text);
      const { speaker, speakerName } = span[0]!;
      return {
        text,
        words: span.map((w) => w.word),
        start: span[0]!.start,
        end: span.at(-1)!.end,
        settledAt: now,
        ...(speaker === undefined ? {} : { speaker }),
        ...(speakerName === undefined ? {} : { speakerName }),
      };
    });
    return { tokens: settled, consumed };
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
