import type { Logger } from '../../log.js';
import type { DecoderPool } from '../local/decoder-pool.js';
import { WorkerRecognizer } from '../local/worker-recognizer.js';
import type { PocketsphinxOptions } from './binding.js';

/** The embedded engine: this meeting's pocketsphinx decoder, on a thread of the decoder pool. */
export class PocketsphinxRecognizer extends WorkerRecognizer {
  constructor(options: PocketsphinxOptions, log: Logger, pool?: DecoderPool) {
    super({ kind: 'pocketsphinx', options }, { streaming: true, interimResults: true, wordTimings: true, languages: ['en-US'] }, log, pool);
  }
}
