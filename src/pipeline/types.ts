import type { DeskView } from './desk.js';
import type { SenderStats, SinkResult } from '../caption/sink.js';
import type { DisplayMode } from '../display/types.js';
import type { MeetingState, StreamSummary } from '../ingest/target.js';

/**
 * What the rest of the daemon may know of a meeting. Sources feed a `StreamTarget` (ingest/target.ts); the HTTP server, metrics and
 * the console watch a `MeetingView` (its events and snapshot). Neither needs the pipeline class, so the data path
 * keeps flowing one way.
 */

/** Typed events a meeting emits as things happen; watchers subscribe, the pipeline never calls them by name. */
export interface MeetingEvents {
  'stream-started': [{ publisher: string }];
  'stream-ended': [{ publisher: string; summary: StreamSummary }];
  /** Audio taken by the recognizer: its length, and its loudness (RMS, dBFS). */
  audio: [{ seconds: number; levelDb: number }];
  /** What the recognizer hears, as it hears it: words still changing (interim) or settled by the segmenter. */
  /** interim: the engine's whole utterance so far; settled: words settled now (settledWords: how many of the engine's words they are; endsUtterance: the utterance's last). */
  speech: [{ interim?: string; settled?: string; settledWords?: number; endsUtterance?: boolean }];
  'audio-dropped': [{ seconds: number }];
  /**
   * One destination's outcome for one caption (`index` in the meeting's destinations); `wordLatencies` (s) from
   * each word spoken to Zoom's acceptance.
   */
  /** A caption's outcome at one destination: its kind (zoom, file, stdout) and its place in the meeting's captions list. */
  delivered: [{ kind: string; index: number; text: string; result: SinkResult; wordLatencies: number[] }];
  /** Something an operator did (console), already logged and written to the archive. */
  operator: [{ who: string; did: string }];
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
  /** Audio waiting for the recognizer now, in seconds: how far the captions lag because the machine is busy. */
  behindSeconds: number;
  /** Wall-clock ms the last stream ended (a publisher reconnecting soon after is the same meeting going on). */
  lastStreamEndedAt?: number;
  stats: MeetingStats;
  recognizerCpuSeconds: number;
  destinations: DestinationSnapshot[];
}

/** What an operator can do to a meeting from the console. */
export type ConsoleAction =
  | { action: 'pause' }
  | { action: 'resume' }
  | { action: 'end-stream' }
  | { action: 'next-engine' }
  | { action: 'caption'; text: string }
  | { action: 'replacement'; from: string; to: string }
  // The captioner's desk (pipeline/desk.ts).
  | { action: 'hold'; ms: number }
  | { action: 'take-pen' }
  | { action: 'edit'; id: number; text: string }
  | { action: 'drop'; id: number }
  | { action: 'split'; id: number; at: number }
  | { action: 'join'; id: number }
  | { action: 'correct-sent'; seq: number; text: string }
  | { action: 'answer-offer'; from: string; to: string; accept: boolean };

export interface CaptionPost {
  seq?: number;
  text: string;
  /** Wall-clock ms the destination took it (Zoom's 200, or written). */
  at: number;
}

/** The console's live view of a meeting: the snapshot, plus what the audience and the engine are doing now. */
export interface ConsoleView extends Omit<MeetingSnapshot, 'destinations'> {
  paused: boolean;
  /** A publisher (or Zoom) is sending audio now. */
  streaming: boolean;
  canSwitchEngine: boolean;
  /** The captioner's desk: the hold, who holds the pen, the captions held now, words offered as replacements. */
  desk: DeskView;
  /** Loudness of the last second of audio, dBFS (-60 when silent or none). */
  audioLevelDb: number;
  /** The newest settled words, and the words being recognised (not settled yet). */
  words: { settled: string; interim: string };
  /**
   * Each destination as its audience reads it: its recent POSTs (or written captions), and the latency (s) of their
   * newest words, from spoken to delivered (Zoom's 200, or written), oldest first.
   */
  destinations: (DestinationSnapshot & { recentPosts: CaptionPost[]; recentLatencies: number[] })[];
}

/** A meeting the console can watch and steer. */
export interface MeetingControl {
  readonly id: string;
  consoleView(): ConsoleView;
  /** Does it, logs it with who, writes it to the archive; resolves with a sentence for the operator. */
  act(action: ConsoleAction, who: string): Promise<string>;
}

export interface MeetingView {
  readonly id: string;
  readonly state: MeetingState;
  snapshot(): MeetingSnapshot;
  on<E extends keyof MeetingEvents>(event: E, listener: (...args: MeetingEvents[E]) => void): unknown;
  off<E extends keyof MeetingEvents>(event: E, listener: (...args: MeetingEvents[E]) => void): unknown;
}
