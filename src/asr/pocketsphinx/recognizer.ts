import type { Logger } from '../../log.js';
import { WorkerRecognizer } from '../local/worker-recognizer.js';
import type { PocketsphinxOptions } from './binding.js';

/** The embedded engine: one pocketsphinx decoder in its own worker thread per meeting. */
export class PocketsphinxRecognizer extends WorkerRecognizer {
  constructor(options: PocketsphinxOptions, log: Logger) {
    super({ kind: 'pocketsphinx', options }, { streaming: true, interimResults: true, wordTimings: true, languages: ['en-US'] }, log);
  }
}
