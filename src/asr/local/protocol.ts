import type { PocketsphinxOptions } from '../pocketsphinx/binding.js';
import type { SherpaOnnxOptions } from '../sherpa-onnx/decoder.js';
import type { SpeechEvent } from '../types.js';

/** Which in-process engine a decoder runs, with its options (structured-cloned into the thread). */
export type LocalEngineSpec = { kind: 'pocketsphinx'; options: PocketsphinxOptions } | { kind: 'sherpa-onnx'; options: SherpaOnnxOptions };

/**
 * Messages between the recognizers (event loop) and a decoder thread. A thread hosts several decoders (one per
 * meeting); `decoder` says whose message it is.
 */
export type ToWorker =
  | { type: 'open'; decoder: number; spec: LocalEngineSpec }
  | { type: 'close'; decoder: number }
  /** The thread has no decoder left: free what remains and end. */
  | { type: 'stop' }
  | { type: 'reset'; decoder: number }
  | { type: 'audio'; decoder: number; id: number; pcm: Int16Array }
  | { type: 'finalize'; decoder: number; id: number }
  | { type: 'finish'; decoder: number; id: number };

export type FromWorker =
  | { type: 'opened'; decoder: number; notices: string[] }
  /** The decoder could not be made, or threw: it is gone; the thread and its other decoders go on. */
  | { type: 'failed'; decoder: number; code: string; message: string }
  /** `id` acknowledges the request that produced the events, so the sender can bound what is in flight. */
  | { type: 'events'; decoder: number; id: number; events: SpeechEvent[]; cpuMs: number };
