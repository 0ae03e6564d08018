import { BridgeError } from '../../errors.js';
import { PCM_SAMPLE_RATE } from '../../audio.js';
import type { Logger } from '../../log.js';
import { WebSocketRecognizer, type CloudEngineOptions, type WebSocketEndpoint } from '../remote/websocket-recognizer.js';
import { UtterancePieces } from '../remote/pieces.js';
import type { WireSession } from '../remote/wire-stream.js';
import type { RecognizedWord, RecognizerCapabilities } from '../types.js';
// The vendor's own published types (@deepgram/sdk 5.13.0, a dev dependency read by the type checker only): a query
// parameter or message that drifts from Deepgram's fails `npm run typecheck`.
import type { Deepgram } from '@deepgram/sdk';
import type { V1Client } from '@deepgram/sdk/listen/v1';

type ListenV1 = Deepgram.listen.v1.ListenV1Results;
/** The live API's query parameters, as the SDK's own connect() takes them (less its client-side options). */
type ListenQuery = Omit<V1Client.ConnectArgs, 'Authorization' | 'protocols' | 'queryParams' | 'headers' | 'debug' | 'reconnectAttempts' | 'connectionTimeoutInSeconds' | 'abortSignal' | 'shouldReconnect'>;
/** What Deepgram sends: the SDK's four live messages, and its error message (not in the SDK's types). */
type DeepgramMessage =
  | ListenV1
  | Deepgram.listen.v1.ListenV1UtteranceEnd
  | Deepgram.listen.v1.ListenV1SpeechStarted
  | Deepgram.listen.v1.ListenV1Metadata
  | { type: 'Error'; description?: string; message?: string };
type DeepgramWord = ListenV1['channel']['alternatives'][number]['words'][number];

export const DEEPGRAM_URL = 'wss://api.deepgram.com/v1/listen';

export interface DeepgramOptions extends CloudEngineOptions {
  /** KeepAlive after this long without audio (Deepgram closes a connection idle for 10 s). */
  keepAliveMs?: number;
  /** Ask Deepgram who speaks (diarize): a change of speaker starts a new caption block. */
  diarize?: boolean;
}

/**
 * Deepgram's live streaming API. Deepgram finalises an utterance in pieces (`is_final` results), and says the
 * utterance ended with `speech_final`, an `UtteranceEnd`, or a Finalize answer (`from_finalize`); the pieces are
 * joined here so the segmenter sees one growing interim and one final per utterance, like every other engine.
 */
export class DeepgramRecognizer extends WebSocketRecognizer {
  readonly engine = 'deepgram';
  readonly capabilities: RecognizerCapabilities;

  constructor(
    private readonly options: DeepgramOptions,
    log: Logger,
  ) {
    super(log);
    this.capabilities = {
      streaming: true,
      interimResults: true,
      wordTimings: true,
      languages: [options.language],
      // Interims come about a second apart, so waiting for a word to repeat in the next one (the default 200 ms of
      // agreement) costs a second; a word settled on its first interim still takes the engine's newer answers until
      // a display shows it, and the newest word is held back as with every engine. Its blocks then fill in bursts,
      // and 1.8 s is the shortest hold with no sentence end left alone on the tuning talk (docs/measurements.md,
      // "A speaker who never pauses").
      settleAfterMs: 0,
      blockHoldMs: 1_800,
    };
    this.keepAliveMs = options.keepAliveMs ?? 4_000;
  }

  protected endpoint(): WebSocketEndpoint {
    const { model, language, endpointSilenceMs, diarize } = this.options;
    const phrases = this.vocabulary(this.options.phrases);
    const listen = {
      model,
      language,
      encoding: 'linear16',
      sample_rate: PCM_SAMPLE_RATE,
      channels: 1,
      interim_results: 'true',
      vad_events: 'true',
      endpointing: endpointSilenceMs,
      // The smallest value Deepgram accepts; a backstop for when endpointing misses the end of speech in noise.
      utterance_end_ms: 1000,
      // Punctuation and casing (punctuated_word) let sentence ends cut caption blocks; words stay plain otherwise,
      // so the meeting's own text rules (numbers, replacements) still apply: no smart_format.
      smart_format: 'false',
      punctuate: 'true',
      diarize: diarize ? 'true' : undefined,
      // Nova-3 takes key terms; earlier models take boosted keywords.
      keyterm: model.startsWith('nova-3') ? phrases : undefined,
      keywords: model.startsWith('nova-3') ? undefined : phrases.map((phrase) => `${phrase}:2`),
    } satisfies ListenQuery;
    const url = new URL(this.options.url ?? DEEPGRAM_URL);
    for (const [name, value] of Object.entries(listen)) {
      url.searchParams.delete(name);
      for (const one of [value ?? []].flat()) url.searchParams.append(name, String(one));
    }
    return { url: url.toString(), headers: { Authorization: `Token ${this.options.apiKey}` } };
  }

  protected session(): WireSession {
    const pieces = new UtterancePieces();
    return {
      finalizeMessage: JSON.stringify({ type: 'Finalize' } satisfies Deepgram.listen.v1.ListenV1Finalize),
      keepAliveMessage: JSON.stringify({ type: 'KeepAlive' } satisfies Deepgram.listen.v1.ListenV1KeepAlive),
      endMessage: JSON.stringify({ type: 'CloseStream' } satisfies Deepgram.listen.v1.ListenV1CloseStream),
      onMessage: (raw) => {
        const message = JSON.parse(raw) as DeepgramMessage;
        switch (message.type) {
          case 'Results': {
            const words = (message.channel?.alternatives?.[0]?.words ?? []).map(toWord);
            if (!message.is_final) return pieces.interim(words);
            pieces.settle(words);
            if (message.speech_final || message.from_finalize) return pieces.end();
            return pieces.interim();
          }
          case 'UtteranceEnd':
            return [...pieces.end(), { kind: 'utterance-end' }];
          case 'SpeechStarted':
            return [{ kind: 'speech-started' }];
          case 'Metadata':
            // Deepgram's last message after CloseStream.
            return [...pieces.end(), { kind: 'done' }];
          case 'Error':
            throw new BridgeError('ASR_ENGINE_FAILED', `deepgram: ${message.description ?? message.message ?? 'error'}`);
          default:
            return [];
        }
      },
    };
  }

  /** Deepgram closes with 1008 when it cannot use what it was sent: a bug or wrong options, not a network blip. */
  protected override refusal(code: number, reason: string): BridgeError | undefined {
    if (code === 1008) return new BridgeError('ASR_ENGINE_REJECTED', `deepgram refused the stream: ${reason || 'policy violation'}`);
    return undefined;
  }
}

function toWord(w: DeepgramWord): RecognizedWord {
  return {
    word: w.word,
    start: w.start,
    end: w.end,
    ...(w.punctuated_word ? { display: w.punctuated_word } : {}),
    ...(typeof w.speaker === 'number' ? { speaker: String(w.speaker) } : {}),
  };
}
