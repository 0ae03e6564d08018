import { BridgeError } from '../../errors.js';
import { PCM_SAMPLE_RATE } from '../../audio.js';
import type { Logger } from '../../log.js';
import { WebSocketRecognizer, type CloudEngineOptions, type WebSocketEndpoint } from '../remote/websocket-recognizer.js';
import { UtterancePieces } from '../remote/pieces.js';
import type { WireSession } from '../remote/wire-stream.js';
import type { RecognizedWord, RecognizerCapabilities } from '../types.js';

export const DEEPGRAM_URL = 'wss://api.deepgram.com/v1/listen';

export interface DeepgramOptions extends CloudEngineOptions {
  /** KeepAlive after this long without audio (Deepgram closes a connection idle for 10 s). */
  keepAliveMs?: number;
  /** Ask Deepgram who speaks (diarize): a change of speaker starts a new caption block. */
  diarize?: boolean;
}

interface DeepgramWord {
  word: string;
  start: number;
  end: number;
  punctuated_word?: string;
  speaker?: number;
}
interface DeepgramMessage {
  type?: string;
  is_final?: boolean;
  speech_final?: boolean;
  from_finalize?: boolean;
  channel?: { alternatives?: { transcript?: string; words?: DeepgramWord[] }[] };
  description?: string;
  message?: string;
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
    this.capabilities = { streaming: true, interimResults: true, wordTimings: true, languages: [options.language] };
    this.keepAliveMs = options.keepAliveMs ?? 4_000;
  }

  protected endpoint(): WebSocketEndpoint {
    const url = new URL(this.options.url ?? DEEPGRAM_URL);
    const query = url.searchParams;
    query.set('model', this.options.model);
    query.set('language', this.options.language);
    query.set('encoding', 'linear16');
    query.set('sample_rate', String(PCM_SAMPLE_RATE));
    query.set('channels', '1');
    query.set('interim_results', 'true');
    query.set('vad_events', 'true');
    query.set('endpointing', String(this.options.endpointSilenceMs));
    // The smallest value Deepgram accepts; a backstop for when endpointing misses the end of speech in noise.
    query.set('utterance_end_ms', '1000');
    // Punctuation and casing (punctuated_word) let sentence ends cut caption blocks; words stay plain otherwise,
    // so the meeting's own text rules (numbers, replacements) still apply: no smart_format.
    query.set('smart_format', 'false');
    query.set('punctuate', 'true');
    if (this.options.diarize) query.set('diarize', 'true');
    for (const phrase of this.options.phrases) {
      // Nova-3 takes key terms; earlier models take boosted keywords.
      if (this.options.model.startsWith('nova-3')) query.append('keyterm', phrase);
      else query.append('keywords', `${phrase}:2`);
    }
    return { url: url.toString(), headers: { Authorization: `Token ${this.options.apiKey}` } };
  }

  protected session(): WireSession {
    const pieces = new UtterancePieces();
    return {
      finalizeMessage: JSON.stringify({ type: 'Finalize' }),
      keepAliveMessage: JSON.stringify({ type: 'KeepAlive' }),
      endMessage: JSON.stringify({ type: 'CloseStream' }),
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
