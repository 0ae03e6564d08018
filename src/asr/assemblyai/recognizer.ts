import { BridgeError } from '../../errors.js';
import { PCM_SAMPLE_RATE } from '../../audio.js';
import type { Logger } from '../../log.js';
import { WebSocketRecognizer, type CloudEngineOptions, type WebSocketEndpoint } from '../remote/websocket-recognizer.js';
import type { WireSession } from '../remote/wire-stream.js';
import type { RecognizerCapabilities } from '../types.js';

export const ASSEMBLYAI_URL = 'wss://streaming.assemblyai.com/v3/ws';

interface AssemblyAiWord {
  text: string;
  start: number;
  end: number;
}
interface AssemblyAiMessage {
  type?: string;
  end_of_turn?: boolean;
  transcript?: string;
  words?: AssemblyAiWord[];
  error?: string;
}

/**
 * AssemblyAI Universal-Streaming (v3): `Begin`, growing `Turn`s with word times in milliseconds, a Turn with
 * `end_of_turn` that settles it, `ForceEndpoint` for a client's Finalize, `Terminate` -> `Termination`.
 * A session that expires (they last at most a few hours) is simply reconnected by the base.
 */
export class AssemblyAiRecognizer extends WebSocketRecognizer {
  readonly engine = 'assemblyai';
  readonly capabilities: RecognizerCapabilities;

  constructor(
    private readonly options: CloudEngineOptions,
    log: Logger,
  ) {
    super(log);
    this.capabilities = { streaming: true, interimResults: true, wordTimings: true, languages: [options.language] };
    // The API takes 50 ms to 1 s of audio per message.
    this.chunkMs = 100;
    this.minChunkMs = 50;
  }

  protected endpoint(): WebSocketEndpoint {
    const url = new URL(this.options.url ?? ASSEMBLYAI_URL);
    const query = url.searchParams;
    query.set('speech_model', this.options.model);
    query.set('sample_rate', String(PCM_SAMPLE_RATE));
    query.set('encoding', 'pcm_s16le');
    // Unformatted words: the segmenter applies the meeting's text rules; formatting would also send each turn twice.
    query.set('format_turns', 'false');
    query.set('min_end_of_turn_silence_when_confident', String(this.options.endpointSilenceMs));
    if (this.options.phrases.length > 0) query.set('keyterms_prompt', JSON.stringify(this.options.phrases));
    return { url: url.toString(), headers: { Authorization: this.options.apiKey } };
  }

  protected session(): WireSession {
    return {
      finalizeMessage: JSON.stringify({ type: 'ForceEndpoint' }),
      endMessage: JSON.stringify({ type: 'Terminate' }),
      onMessage: (raw) => {
        const message = JSON.parse(raw) as AssemblyAiMessage;
        if (message.error) throw new BridgeError('ASR_ENGINE_FAILED', `assemblyai: ${message.error}`);
        switch (message.type) {
          case 'Turn': {
            const words = (message.words ?? []).map((w) => ({ word: w.text, start: w.start / 1000, end: w.end / 1000 }));
            const text = words.map((w) => w.word).join(' ');
            if (!message.end_of_turn) return [{ kind: 'interim', text, words }];
            return [{ kind: 'final', text: message.transcript || text, words }];
          }
          case 'Termination':
            return [{ kind: 'done' }];
          default:
            return [];
        }
      },
    };
  }

  protected override refusal(code: number, reason: string): BridgeError | undefined {
    if (code === 1008 || code === 4001) return new BridgeError('ASR_AUTH_FAILED', `assemblyai refused the API key: ${reason || code}`);
    // 3005: the session reached its maximum duration; a new one continues the meeting.
    if (code === 3005) return undefined;
    if (code >= 3000 && code < 5000) return new BridgeError('ASR_ENGINE_REJECTED', `assemblyai refused the stream (${code}): ${reason}`);
    return undefined;
  }
}
