/** The one audio format between every source and every recognizer: 16 kHz, mono, signed 16-bit samples. */
export const PCM_SAMPLE_RATE = 16_000;

export type PcmChunk = Int16Array;

/**
 * Samples from little-endian s16 bytes, copied: a view at an odd offset is not a valid Int16Array, and the bytes'
 * buffer may be reused by whoever handed it over. A trailing odd byte is dropped.
 */
export function samplesFromBytes(bytes: Buffer): Int16Array {
  const samples = new Int16Array(Math.floor(bytes.length / 2));
  for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(i * 2);
  return samples;
}

/** Consecutive chunks as one, padded with silence up to `length` when that is longer (a protocol's shortest message). */
export function joinSamples(parts: readonly Int16Array[], length = 0): Int16Array {
  const joined = new Int16Array(Math.max(length, parts.reduce((n, part) => n + part.length, 0)));
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return joined;
}

/**
 * A live stream is real time. A source may run this far ahead of the wall clock (a sender catching up after a network
 * blip, a short recording sent at once), no further: past it the stream ends, whatever its encoding.
 */
export const MAX_LEAD_SECONDS = 60;
/** Audio a stream holds for a recognizer that lags; beyond it the oldest is dropped (and counted). */
export const MAX_BACKLOG_SECONDS = 10;

/** A client's request to settle what is being said now (Deepgram's Finalize), in order with the audio. */
export const FINALIZE = Symbol('finalize');

/**
 * A sentence of the source's own transcript (Zoom's, over RTMS), in order with the audio it came beside. Engines that
 * hear audio pass it by; the `zoom-transcript` engine reads only these.
 */
export interface SourceTranscript {
  readonly type: 'source-transcript';
  /** Which sentence: a later piece with the same key revises it. */
  readonly sentence: string;
  /**
   * new: a sentence begins (and may be revised); update: its newest text; delete: it was not speech; whole: complete
   * as sent; unavailable: the source cannot send its transcript (`text` says why).
   */
  readonly change: 'new' | 'update' | 'delete' | 'whole' | 'unavailable';
  readonly text: string;
  /** Where it was said on this stream (seconds), when the source says. */
  readonly start?: number;
  readonly end?: number;
  /** Who said it (labelled, and named only where the meeting shows names). */
  readonly speaker?: SourceSpeaker;
}

export type AudioItem = PcmChunk | typeof FINALIZE | SourceTranscript;

/** Samples to hear, as opposed to a request (FINALIZE) or the source's own text. */
export function isSamples(item: AudioItem): item is PcmChunk {
  return item instanceof Int16Array;
}

/** A live stream that can say how much of its audio is waiting to be taken: how far the recognizer is behind. */
export interface AudioStream extends AsyncIterable<AudioItem> {
  readonly backlogSeconds?: number;
  /**
   * Who the source says was speaking at this point of the stream (seconds from its start), when it knows: Zoom
   * tells the active speaker over mixed meeting audio.
   */
  speakerAt?(seconds: number): SourceSpeaker | undefined;
  /**
   * When this point of the stream was said (wall-clock ms, this machine's clock), when the source stamps its audio:
   * Zoom does, so audio it replays after an interruption is known to be late however fast it arrives.
   */
  saidAt?(seconds: number): number | undefined;
}

/**
 * How far behind the audio a meeting's engine may be. Past WARN it is said once (and cleared under CLEAR); past
 * OVERLOADED the machine takes no new meeting; past MAX_BACKLOG_SECONDS the oldest audio is dropped.
 */
export const BEHIND = { WARN_SECONDS: 3, CLEAR_SECONDS: 1, OVERLOADED_SECONDS: 5 } as const;

/**
 * A speaker as a source tells them: `id` tells speakers apart (an anonymous label, "speaker 2"); `name` is how people
 * know them, given only where the meeting shows names (display.speakerNames: names are personal data).
 */
export interface SourceSpeaker {
  id: string;
  name?: string;
}
