import type { AudioItem } from '../audio.js';
import type { SpeechEvent } from '../asr/types.js';
import type { SenderStats, SinkResult } from '../caption/sink.js';
import type { DisplayMode } from '../display/types.js';

/**
 * What the rest of the daemon may know of a meeting. Sources feed a `StreamTarget`; the HTTP server, metrics and
 * the console watch a `MeetingView` (its events and snapshot). Neither needs the pipeline class, so the data path
 * keeps flowing one way.
 */

export type MeetingState = 'starting' | 'ready' | 'streaming' | 'failed' | 'closed';

export interface StreamSummary {
  captions: number;
  words: number;
  audioSeconds: number;
}

/** What ingest feeds: one publisher's audio at a time; a second stream waits until the first has flushed. */
export interface StreamTarget {
  readonly id: string;
  readonly state: MeetingState;
  /** Transcribe one stream; resolves after its last caption was delivered or given up. */
  runStream(audio: AsyncIterable<AudioItem>, publisher: string, onSpeech?: (event: SpeechEvent) => void): Promise<StreamSummary>;
  /** Audio the source dropped because the recognizer fell behind (it never reached `runStream`). */
  audioDropped(seconds: number): void;
  /** What keeps the source from delivering audio, as a sentence saying what to change; undefined when fine. */
  sourceProblem(sentence: string | undefined): void;
}

/** Typed events a meeting emits as things happen; watchers subscribe, the pipeline never calls them by name. */
export interface MeetingEvents {
  'stream-started': [{ publisher: string }];
  'stream-ended': [{ publisher: string; summary: StreamSummary }];
  /** Audio taken by the recognizer, in seconds. */
  audio: [{ seconds: number }];
  'audio-dropped': [{ seconds: number }];
  /** One destination's outcome for one caption; `wordLatencies` (s) from each word spoken to Zoom's acceptance. */
  delivered: [{ destination: string; result: SinkResult; wordLatencies: number[] }];
}

export interface DestinationSnapshot {
  kind: string;
  description: string;
  display: DisplayMode;
  lastPost?: { text: string; seq?: number; at: number };
  sender?: SenderStats;
  problem?: string;
}

export interface MeetingStats {
  streams: number;
  captions: number;
  words: number;
  audioSeconds: number;
  droppedSeconds: number;
}

/** A meeting as /meetings, /metrics and the console show it, read when asked. */
export interface MeetingSnapshot {
  id: string;
  state: MeetingState;
  source: string;
  /** What keeps the source from delivering audio (a Zoom live stream Zoom would not start, say). */
  sourceProblem?: string;
  engine: string;
  stats: MeetingStats;
  recognizerCpuSeconds: number;
  destinations: DestinationSnapshot[];
}

export interface MeetingView {
  readonly id: string;
  readonly state: MeetingState;
  snapshot(): MeetingSnapshot;
  on<E extends keyof MeetingEvents>(event: E, listener: (...args: MeetingEvents[E]) => void): unknown;
}
