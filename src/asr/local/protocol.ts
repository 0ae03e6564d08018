import type { PocketsphinxOptions } from '../pocketsphinx/binding.js';
import type { SherpaOnnxOptions } from '../sherpa-onnx/decoder.js';
import type { SpeechEvent } from '../types.js';


/** Which in-process engine a worker thread runs, with its options (structured-cloned into the thread). */
export type LocalEngineSpec = { kind: 'pocketsphinx'; options: PocketsphinxOptions } | { kind: 'sherpa-onnx'; options: SherpaOnnxOptions };

/** Messages between the recognizer (event loop) and its decoder thread. */
export type ToWorker =
  | { type: 'reset' }
  | { type: 'audio'; id: number; pcm: Int16Array }
  | { type: 'finalize'; id: number }
  | { type: 'finish'; id: number };

export type FromWorker =
  | { type: 'ready'; notices: string[] }
  | { type: 'failed'; code: string; message: string }
  /** `id` acknowledges the request that produced the events, so the sender can bound what is in flight. */
  | { type: 'events'; id: number; events: SpeechEvent[]; cpuMs: number };
