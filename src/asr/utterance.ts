import type { RecognizedWord, SpeechEvent } from './types.js';

/**
 * Turns an engine's hypotheses into well-formed events: every utterance opens with start_of_speech, carries
 * interims that changed, and closes with at most one final and then end_of_speech. Engines report these in
 * different shapes (a Turn that ends, a result after a partial, a UtteranceEnd without any words); adapters
 * say what they heard and this keeps the order the segmenter relies on.
 */
export class UtteranceTracker {
  private inUtterance = false;
  private lastInterim = '';

  constructor(private readonly emit: (event: SpeechEvent) => void) {}

  get speaking(): boolean {
    return this.inUtterance;
  }

  startOfSpeech(time: number): void {
    if (this.inUtterance) return;
    this.inUtterance = true;
    this.lastInterim = '';
    this.emit({ type: 'start_of_speech', time });
  }

  interim(text: string, words: RecognizedWord[] | undefined, time: number): void {
    if (!text || text === this.lastInterim) return;
    this.startOfSpeech(time);
    this.lastInterim = text;
    this.emit(words ? { type: 'interim', text, words, time } : { type: 'interim', text, time });
  }

  /** The settled words of the utterance; the utterance ends with them. */
  final(text: string, words: RecognizedWord[], time: number): void {
    if (text) {
      this.startOfSpeech(time);
      this.emit({ type: 'final', text, words, time });
    }
    this.endOfSpeech(time);
  }

  /** The speaker stopped (or the engine went away): whatever was not finalised will not be. */
  endOfSpeech(time: number): void {
    if (!this.inUtterance) return;
    this.inUtterance = false;
    this.lastInterim = '';
    this.emit({ type: 'end_of_speech', time });
  }
}
