import type { Logger } from '../../log.js';
import type { DecoderPool } from '../local/decoder-pool.js';
import { WorkerRecognizer } from '../local/worker-recognizer.js';
import type { PocketsphinxOptions } from './binding.js';
import { latticePartialsApply } from './partial-lattice.js';

/**
 * Partials from the lattice pass (partial-lattice.ts) change less after they are shown, so words settle after 100 ms
 * of agreement instead of the segmenter's 200: measured through the daemon on the held-out corpus, word latency p50
 * 1.55 / 1.83 s (pauses / continuous) instead of 1.72 / 2.10 s at 200, captions within a point of the finals at
 * both (bench/results/accuracy-held-out-2026-12-02T07-30-51-lattice.json, ...T07-26-03-lattice-settle200.json).
 */
const LATTICE_PARTIALS_SETTLE_MS = 100;

/** The embedded engine: this meeting's pocketsphinx decoder, on a thread of the decoder pool. */
export class PocketsphinxRecognizer extends WorkerRecognizer {
  constructor(options: PocketsphinxOptions, log: Logger, pool?: DecoderPool) {
    const settling = latticePartialsApply(options) ? { settleAfterMs: LATTICE_PARTIALS_SETTLE_MS } : {};
    super({ kind: 'pocketsphinx', options }, { streaming: true, interimResults: true, wordTimings: true, languages: ['en-US'], ...settling }, log, pool);
  }
}
