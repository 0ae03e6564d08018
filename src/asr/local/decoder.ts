import type { SpeechEvent } from '../types.js';

/** A synchronous, CPU-bound streaming decoder: it runs in a worker thread, never on the event loop. */
export interface LocalDecoder {
  /** Begin a new stream: audio time starts again from zero. */
  resetStream(): void;
  process(pcm: Int16Array): SpeechEvent[];
  /** End of the audio (or a client's Finalize): settle whatever is being said now. */
  finish(): SpeechEvent[];
  free(): void;
  /** Things the operator should know about the configuration (words the engine cannot boost, say). */
  readonly notices?: string[];
}
