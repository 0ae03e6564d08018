import type { Logger } from '../../log.js';
import type { DecoderPool } from '../local/decoder-pool.js';
import { WorkerRecognizer } from '../local/worker-recognizer.js';
import type { PocketsphinxOptions } from './binding.js';
import { latticePartialsApply } from './partial-lattice.js';

/**
 * Partials from the lattice pass (partial-lattice.ts) change less after they are shown, so a word settles once the
 * next partial (100 ms of audio later, or more) still has it, instead of after the segmenter's 200 ms. Replayed on
 * both corpora (3 rounds, pauses and continuous), against the live search's partials at 200 ms: blocks lose at most
 * 0.3 points to the finals (was up to 2.7), roll-up at most 2.0 (was up to 3.8), word latency the same or less. At
 * 150 ms (two partials more) blocks show words 0.15-0.2 s later for no accuracy they need.
 */
const LATTICE_PARTIALS_SETTLE_MS = 50;

/** The embedded engine: this meeting's pocketsphinx decoder, on a thread of the decoder pool. */
export class PocketsphinxRecognizer extends WorkerRecognizer {
  constructor(options: PocketsphinxOptions, log: Logger, pool?: DecoderPool) {
    const settling = latticePartialsApply(options) ? { settleAfterMs: LATTICE_PARTIALS_SETTLE_MS } : {};
    super({ kind: 'pocketsphinx', options }, { streaming: true, interimResults: true, wordTimings: true, languages: ['en-US'], ...settling }, log, pool);
  }
}
