import { BridgeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { EngineConfig, MeetingConfig } from '../config/schema.js';
import { FallbackRecognizer } from './fallback.js';
import { PocketsphinxRecognizer } from './pocketsphinx/recognizer.js';
import { VoskServerRecognizer } from './vosk-server/recognizer.js';
import type { SpeechRecognizer } from './types.js';

export function createRecognizer(asr: MeetingConfig['asr'], log: Logger): SpeechRecognizer {
  if (asr.fallback.length === 0) return createEngine(asr, log);
  return new FallbackRecognizer([createEngine(asr, log), ...asr.fallback.map((engine) => createEngine(engine, log))], log);
}

function createEngine(asr: EngineConfig, log: Logger): SpeechRecognizer {
  switch (asr.engine) {
    case 'pocketsphinx':
      return new PocketsphinxRecognizer(
        {
          modelDir: asr.modelDir,
          endpointSilenceMs: asr.endpointSilenceMs,
          partialIntervalMs: asr.partialIntervalMs,
          maxUtteranceMs: asr.maxUtteranceMs,
        },
        log,
      );
    case 'vosk-server':
      // The schema requires asr.url for this engine.
      return new VoskServerRecognizer(asr.url!, log);
    default:
      throw new BridgeError('ASR_UNKNOWN_ENGINE', `unknown ASR engine "${asr.engine}"`);
  }
}
