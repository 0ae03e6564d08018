import type { AudioItem } from '../audio.js';
import { normalizeWords } from '../util/wer.js';

/** A word with its place in the stream's audio, in seconds from the stream's first sample. */
export interface RecognizedWord {
  word: string;
  start: number;
  end: number;
  /** The engine's own written form, when it punctuates and cases ("Hello,"): `word` stays the plain word. */
  display?: string;
  /** Who said it, when the engine tells speakers apart (diarization) or the source does (Zoom's active speaker). */
  speaker?: string;
  /** Their name, when the source gives it and the meeting shows names (display.speakerNames). */
  speakerName?: string;
  /** The engine promises this word of an interim will not change any more (AWS's partial-result stabilisation). */
  stable?: boolean;
}

/** Words moved `offsetSeconds` later: an engine's times counted from its own start, put on the stream's timeline. */
export function shiftWords<W extends RecognizedWord>(words: readonly W[], offsetSeconds: number): W[] {
  return words.map((w) => ({ ...w, start: w.start + offsetSeconds, end: w.end + offsetSeconds }));
}

/**
 * Words for a protocol that gives a span of speech but no word times (OpenAI's realtime turns, WhisperLive without
 * word timestamps): spread evenly over the span, in order; without an end, about 0.3 s a word.
 */
export function spreadWords(text: string, start: number, end?: number): RecognizedWord[] {
  const plain = normalizeWords(text);
  const until = Math.max(end ?? start + plain.length * 0.3, start);
  const step = plain.length > 0 ? (until - start) / plain.length : 0;
  return plain.map((word, i) => ({ word, start: start + i * step, end: start + (i + 1) * step }));
}

/** Work a recognizer has done, for metrics: audio taken and CPU spent on it. */
export interface RecognizerStats {
  audioSeconds: number;
  cpuMs: number;
}

/**
 * What a recognizer reports while listening (after LiveKit agents' SpeechEventType). Times are seconds of
 * stream audio, so latency can be measured against the moment a word was spoken.
 */
export type SpeechEvent =
  | { type: 'start_of_speech'; time: number }
  /** The engine's current best guess for the utterance so far; any word may still change. */
  | { type: 'interim'; text: string; words?: RecognizedWord[]; time: number }
  /** The settled text of one utterance. Words that were in interims but not here were mis-heard. */
  | { type: 'final'; text: string; words: RecognizedWord[]; time: number }
  | { type: 'end_of_speech'; time: number };

export interface RecognizerCapabilities {
  streaming: boolean;
  interimResults: boolean;
  wordTimings: boolean;
  languages: string[];
  /**
   * How long an interim word must stay unchanged before the segmenter settles it, for an engine whose interims
   * revise less than most (pocketsphinx's come from its final's own pass); `segmenter.stableMs` in the config wins.
   */
  settleAfterMs?: number;
  /**
   * How long a caption block waits for more words with this engine, when `display.maxHoldMs` is unset: an engine
   * that settles words one by one fills blocks slowly and needs longer to reach readable blocks; one whose words
   * come in bursts a second apart has already waited. Unset: DEFAULT_DISPLAY_OPTIONS.maxHoldMs (docs/measurements.md,
   * "Readability on talk nobody tuned for").
   */
  blockHoldMs?: number;
}

/**
 * The block hold for engines that send an interim with every new word (measured with a perfect engine on two talks
 * nobody tuned on: 31-32 characters a POST, no sentence end alone, word p95 ~3.0 s, where 1.6 s gave ~24 characters).
 */
export const WORD_BY_WORD_BLOCK_HOLD_MS = 2_400;

/** One engine instance for one meeting. Streams are transcribed one after another, never at once. */
export interface SpeechRecognizer {
  readonly engine: string;
  readonly capabilities: RecognizerCapabilities;
  /** Work done so far, for metrics. */
  readonly stats?: RecognizerStats;
  /** Load the model or connect; resolves when audio can be taken. */
  start(): Promise<void>;
  /** Consume one stream of 16 kHz mono audio; ends after the last final once the audio ends. */
  transcribe(audio: AsyncIterable<AudioItem>): AsyncIterable<SpeechEvent>;
  /** Safe to call twice. */
  close(): Promise<void>;
  /** Engines with fallbacks: the one in use now. */
  readonly activeEngine?: string;
  /** Engines with fallbacks: move to the next available one (the operator's choice); its name, or undefined if none. */
  switchEngine?(): string | undefined;
  /**
   * The meeting's own words (topic, agenda, participants' names), besides the configured phrases, for engines that
   * take a vocabulary while a meeting runs: asked for on every connection from now on, and a stream's connection is
   * renewed at its next pause. Engines without it keep the vocabulary they started with.
   */
  usePhrases?(words: readonly string[]): void;
}
