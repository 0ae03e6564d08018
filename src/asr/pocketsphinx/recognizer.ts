import type { Logger } from '../../log.js';
import type { DecoderPool } from '../local/decoder-pool.js';
import { WorkerRecognizer } from '../local/worker-recognizer.js';
import type { PocketsphinxOptions } from './binding.js';
import { latticePartialsApply } from './partial-lattice.js';

/**
 * Partials from the lattice pass (partial-lattice.ts) change less after they are shown, so a word settles after
 * 100 ms of agreement instead of the segmenter's 200 (through the daemon on the held-out talk: word latency p50
 * 1.55 / 1.83 s against 1.72 / 2.10 s at 200, both within a point of the finals). 50 ms (the next partial still has
 * it) replayed and ran as well or better on the corpora (docs/measurements.md), but on the end-to-end test's real
 * speech it sent a block before a sentence's last word settled, which then went with a scrap of the next sentence
 * ("watts. He"): not taken.
 */
const LATTICE_PARTIALS_SETTLE_MS = 100;

/** The embedded engine: this meeting's pocketsphinx decoder, on a thread of the decoder pool. */
export class PocketsphinxRecognizer extends WorkerRecognizer {
  constructor(options: PocketsphinxOptions, log: Logger, pool?: DecoderPool) {
    const settling = latticePartialsApply(options) ? { settleAfterMs: LATTICE_PARTIALS_SETTLE_MS } : {};
    super({ kind: 'pocketsphinx', options }, { streaming: true, interimResults: true, wordTimings: true, languages: ['en-US'], ...settling }, log, pool);
  }
}
