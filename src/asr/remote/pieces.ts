import type { RecognizedWord } from '../types.js';
import type { WireReply } from './wire-stream.js';

/**
 * An utterance an engine settles piece by piece (Deepgram's `is_final` results, Speechmatics' `AddTranscript`),
 * joined into what every other engine gives: one growing interim, then one final when the utterance ends.
 */
export class UtterancePieces {
  private settled: RecognizedWord[] = [];

  /** The settled words and what the engine hears after them. */
  interim(heard: readonly RecognizedWord[] = []): WireReply[] {
    const words = [...this.settled, ...heard];
    return words.length > 0 ? [{ kind: 'interim', text: textOf(words), words }] : [];
  }

  settle(words: readonly RecognizedWord[]): void {
    this.settled.push(...words);
  }

  /** Punctuation that came alone goes onto the last word settled (a copy: that word has been sent on already). */
  punctuateLast(mark: string): void {
    const last = this.settled.at(-1);
    if (last) this.settled[this.settled.length - 1] = { ...last, display: `${last.display ?? last.word}${mark}` };
  }

  /** The utterance is over: its final, if it had words. */
  end(): WireReply[] {
    const words = this.settled;
    this.settled = [];
    return words.length > 0 ? [{ kind: 'final', text: textOf(words), words }] : [];
  }
}

const textOf = (words: readonly RecognizedWord[]): string => words.map((w) => w.word).join(' ');
