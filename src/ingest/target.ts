import type { AudioStream } from '../audio.js';
import type { SpeechEvent } from '../asr/types.js';

/**
 * What a source of audio feeds: the meeting as ingest sees it. Ingest owns this contract and the pipeline
 * implements it, so ingest never imports the pipeline.
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
  runStream(audio: AudioStream, publisher: string, onSpeech?: (event: SpeechEvent) => void): Promise<StreamSummary>;
  /** Audio the source dropped because the recognizer fell behind (it never reached `runStream`). */
  audioDropped(seconds: number): void;
  /** What keeps the source from delivering audio, as a sentence saying what to change; undefined when fine. */
  sourceProblem(sentence: string | undefined): void;
}
