import { BridgeError } from '../../errors.js';
import { PCM_SAMPLE_RATE } from '../../audio.js';
import type { Logger } from '../../log.js';
import { WebSocketRecognizer, type CloudEngineOptions, type WebSocketEndpoint } from '../remote/websocket-recognizer.js';
import { UtterancePieces } from '../remote/pieces.js';
import type { WireReply, WireSession } from '../remote/wire-stream.js';
import { WORD_BY_WORD_BLOCK_HOLD_MS, type RecognizedWord, type RecognizerCapabilities } from '../types.js';
import { wordsOfItems } from '../written-forms.js';

/** The endpoint Speechmatics' own real-time client defaults to. */
export const SPEECHMATICS_URL = 'wss://eu2.rt.speechmatics.com/v2';

export interface SpeechmaticsOptions extends CloudEngineOptions {
  /** Ask who speaks (diarization "speaker"): a change of speaker starts a new caption block. */
  diarize?: boolean;
}

// The vendor's own published types (@speechmatics/real-time-client 8.5.1, a dev dependency read by the type checker
// only): a message that drifts from Speechmatics' fails `npm run typecheck`.
import type { EndOfStream, ForceEndOfUtterance, RealtimeServerMessage, RecognitionResult, StartRecognition } from '@speechmatics/real-time-client';

/** One entry of `results` (a word, or punctuation attached to its neighbour). */
type SpeechmaticsResult = RecognitionResult;
/** A server message as read: any field may be missing from a server newer or older than the types. */
type SpeechmaticsMessage = Partial<{ message: RealtimeServerMessage['message']; results: SpeechmaticsResult[]; type: string; reason: string }>;

/** Error types by which Speechmatics refuses the request itself: sending it again cannot help. */
const REFUSED_TYPES = new Set(['invalid_message', 'invalid_model', 'invalid_language', 'invalid_config', 'invalid_audio_type', 'invalid_output_format', 'not_allowed']);

/**
 * Speechmatics real-time (`/v2`): `StartRecognition` (raw pcm_s16le 16 kHz; language, partials, punctuation,
 * vocabulary as `additional_vocab`, speakers, end of utterance after the meeting's silence), answered by
 * `RecognitionStarted` before any audio goes; audio as binary frames, each acknowledged by `AudioAdded`.
 * `AddTranscript` settles words piece by piece and `AddPartialTranscript` says what follows them; both are joined
 * here into one growing interim per utterance, which `EndOfUtterance` (or `ForceEndOfUtterance`'s answer) makes
 * final. Punctuation comes as its own results attached to a word: it becomes that word's written form, so sentence
 * ends cut blocks. `EndOfStream` names the last audio frame sent; `EndOfTranscript` ends the stream.
 */
export class SpeechmaticsRecognizer extends WebSocketRecognizer {
  readonly engine = 'speechmatics';
  readonly capabilities: RecognizerCapabilities;

  constructor(
    private readonly options: SpeechmaticsOptions,
    log: Logger,
  ) {
    super(log);
    this.capabilities = { streaming: true, interimResults: true, wordTimings: true, languages: [options.language], blockHoldMs: WORD_BY_WORD_BLOCK_HOLD_MS };
  }

  protected endpoint(): WebSocketEndpoint {
    return { url: this.options.url ?? SPEECHMATICS_URL, headers: { Authorization: `Bearer ${this.options.apiKey}` } };
  }

  protected session(): WireSession {
    let framesSent = 0;
    const pieces = new UtterancePieces();
    return {
      openMessage: JSON.stringify(this.startRecognition()),
      answersOpen: (raw) => (JSON.parse(raw) as SpeechmaticsMessage).message === 'RecognitionStarted',
      finalizeMessage: JSON.stringify({ message: 'ForceEndOfUtterance' } satisfies ForceEndOfUtterance),
      // EndOfStream names the last frame sent on this connection (frames are counted from 1, as AudioAdded does).
      get endMessage() {
        return JSON.stringify({ message: 'EndOfStream', last_seq_no: framesSent } satisfies EndOfStream);
      },
      encodeAudio: (pcm) => {
        framesSent += 1;
        return Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
      },
      onMessage: (raw): WireReply[] => {
        const message = JSON.parse(raw) as SpeechmaticsMessage;
        switch (message.message) {
          case 'AddPartialTranscript':
            return pieces.interim(wordsOf(message.results));
          case 'AddTranscript':
            // Punctuation at the head of a piece belongs to the last word settled before it.
            for (const mark of leadingPunctuation(message.results)) pieces.punctuateLast(mark);
            pieces.settle(wordsOf(message.results));
            return pieces.interim();
          case 'EndOfUtterance':
            return [...pieces.end(), { kind: 'utterance-end' }];
          case 'EndOfTranscript':
            return [...pieces.end(), { kind: 'done' }];
          case 'Warning':
            this.log.warn({ engine: this.engine, type: message.type, reason: message.reason }, 'speechmatics warns');
            return [];
          case 'Error': {
            const reason = `${message.type ?? 'error'}: ${message.reason ?? ''}`;
            if (message.type === 'not_authorised') throw new BridgeError('ASR_AUTH_FAILED', `speechmatics refused the API key (${reason})`);
            if (REFUSED_TYPES.has(message.type ?? '')) throw new BridgeError('ASR_ENGINE_REJECTED', `speechmatics refused the request (${reason}); check the asr options`);
            throw new BridgeError('ASR_ENGINE_FAILED', `speechmatics: ${reason}`);
          }
          default:
            return [];
        }
      },
    };
  }

  private startRecognition(): StartRecognition {
    const { language, model, endpointSilenceMs, diarize } = this.options;
    const phrases = this.vocabulary(this.options.phrases);
    const [base, region] = language.split('-');
    return {
      message: 'StartRecognition',
      audio_format: { type: 'raw', encoding: 'pcm_s16le', sample_rate: PCM_SAMPLE_RATE },
      transcription_config: {
        language: base ?? language,
        // Spelling of English output (en-US, en-GB, en-AU are the locales Speechmatics writes).
        ...(base === 'en' && ['US', 'GB', 'AU'].includes(region ?? '') ? { output_locale: language } : {}),
        // standard or enhanced (the config's model); the types (8.5.1) also list melia-1.
        operating_point: model as NonNullable<StartRecognition['transcription_config']['operating_point']>,
        enable_partials: true,
        max_delay: 2,
        ...(phrases.length > 0 ? { additional_vocab: phrases.map((content) => ({ content })) } : {}),
        ...(diarize ? { diarization: 'speaker' } : {}),
        conversation_config: { end_of_utterance_silence_trigger: endpointSilenceMs / 1000 },
      },
    } satisfies StartRecognition;
  }

  /** Speechmatics closes with 4001 for a key it does not accept (after an in-band `not_authorised`). */
  protected override refusal(code: number, reason: string): BridgeError | undefined {
    if (code === 4001) return new BridgeError('ASR_AUTH_FAILED', `speechmatics refused the API key: ${reason || code}`);
    return undefined;
  }
}

/** The words of a result list, each with the punctuation attached to it as its written form (entities are skipped). */
function wordsOf(results: SpeechmaticsResult[] | undefined): RecognizedWord[] {
  return wordsOfItems(
    (results ?? [])
      .filter((result) => result.type === 'word' || result.type === 'punctuation')
      .map((result) => {
        const speaker = result.alternatives?.[0]?.speaker;
        return {
          content: result.alternatives?.[0]?.content ?? '',
          punctuation: result.type === 'punctuation',
          opensNext: result.attaches_to === 'next',
          start: result.start_time ?? 0,
          end: result.end_time ?? result.start_time ?? 0,
          // UU: a speaker Speechmatics could not tell.
          ...(speaker && speaker !== 'UU' ? { speaker } : {}),
        };
      }),
  );
}

/** The punctuation a piece opens with that attaches to what came before it. */
function leadingPunctuation(results: SpeechmaticsResult[] | undefined): string[] {
  const marks: string[] = [];
  for (const result of results ?? []) {
    if (result.type !== 'punctuation' || result.attaches_to === 'next') break;
    marks.push(result.alternatives?.[0]?.content ?? '');
  }
  return marks;
}
