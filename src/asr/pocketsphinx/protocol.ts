import type { SpeechEvent } from '../types.js';
import type { PocketsphinxOptions } from './binding.js';

/** Messages between the recognizer (event loop) and its decoder thread. */
export type ToWorker =
  | { type: 'reset' }
  | { type: 'audio'; id: number; pcm: Int16Array }
  | { type: 'finalize'; id: number }
  | { type: 'finish'; id: number };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'failed'; code: string; message: string }
  /** `id` acknowledges the request that produced the events, so the sender can bound what is in flight. */
  | { type: 'events'; id: number; events: SpeechEvent[]; cpuMs: number };

export interface WorkerData {
  options: PocketsphinxOptions;
}
