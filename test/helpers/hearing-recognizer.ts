import { FINALIZE, isSamples, type AudioItem } from '../../src/audio.js';
import type { RecognizerCapabilities, SpeechEvent, SpeechRecognizer } from '../../src/asr/types.js';
import { BridgeError } from '../../src/errors.js';
import type { Hearing } from './fake-engine-server.js';

/**
 * A recognizer in the process that hears through a Hearing (a script heard perfectly, say): no model, no server, so a
 * test of what the bridge does with an engine's events (the pipeline, the registry) runs in milliseconds of CPU.
 */
export class HearingRecognizer implements SpeechRecognizer {
  readonly engine = 'scripted';
  readonly capabilities: RecognizerCapabilities = { streaming: true, interimResults: true, wordTimings: true, languages: ['en-US'] };
  readonly stats = { audioSeconds: 0, cpuMs: 0 };
  closed = 0;

  constructor(private readonly hearing: () => Hearing) {}

  async start(): Promise<void> {}

  async *transcribe(audio: AsyncIterable<AudioItem>): AsyncIterable<SpeechEvent> {
    if (this.closed > 0) throw new BridgeError('CLOSED', 'recognizer is closed');
    const hearing = this.hearing();
    try {
      for await (const item of audio) {
        if (item === FINALIZE) yield* hearing.finish();
        else if (isSamples(item)) {
          this.stats.audioSeconds += item.length / 16_000;
          yield* hearing.process(item);
        }
      }
      yield* hearing.finish();
    } finally {
      hearing.free();
    }
  }

  async close(): Promise<void> {
    this.closed += 1;
  }
}
