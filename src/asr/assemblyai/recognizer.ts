import { BridgeError } from '../../errors.js';
import { PCM_SAMPLE_RATE } from '../../audio.js';
import type { Logger } from '../../log.js';
import { WebSocketRecognizer, type CloudEngineOptions, type WebSocketEndpoint } from '../remote/websocket-recognizer.js';
import type { WireReply, WireSession } from '../remote/wire-stream.js';
import { WORD_BY_WORD_BLOCK_HOLD_MS, type RecognizedWord, type RecognizerCapabilities } from '../types.js';
import { withWrittenForms } from '../written-forms.js';
// The vendor's own published types (assemblyai 4.41.5, a dev dependency read by the type checker only): a message or
// connection parameter that drifts from AssemblyAI's fails `npm run typecheck`.
import type {
  AudioEncoding,
  BeginEvent,
  ErrorEvent,
  SpeechStartedEvent,
  StreamingForceEndpoint,
  StreamingTerminateSession,
  StreamingUpdateConfiguration,
  TerminationEvent,
  TurnEvent,
} from 'assemblyai';

/**
 * The connection's query parameters. The SDK types its own camelCase options; on the wire they are the snake_case
 * names its client writes (src/services/streaming/service.ts: `min_turn_silence` for both of its silence options;
 * `min_end_of_turn_silence_when_confident` is deprecated), the same names `UpdateConfiguration` carries.
 */
type StreamingQuery = Pick<StreamingUpdateConfiguration, 'min_turn_silence' | 'format_turns'> & { speech_model: string; sample_rate: number; encoding: AudioEncoding; keyterms_prompt?: string };
/** What AssemblyAI sends (a server newer than the types may send more: ignored). */
type AssemblyAiMessage = BeginEvent | TurnEvent | TerminationEvent | ErrorEvent | SpeechStartedEvent;

export const ASSEMBLYAI_URL = 'wss://streaming.assemblyai.com/v3/ws';

/**
 * AssemblyAI Universal-Streaming (v3): `Begin`, growing `Turn`s with word times in milliseconds, a Turn with
 * `end_of_turn` that settles it, `ForceEndpoint` for a client's Finalize, `Terminate` -> `Termination`.
 * With `format_turns` each ended turn comes once more, formatted (punctuation, casing): its sentence ends cut
 * caption blocks, so the turn's final waits for it. A session that expires (they last at most a few hours) is
 * simply reconnected by the base.
 */
export class AssemblyAiRecognizer extends WebSocketRecognizer {
  readonly engine = 'assemblyai';
  readonly capabilities: RecognizerCapabilities;

  constructor(
    private readonly options: CloudEngineOptions,
    log: Logger,
  ) {
    super(log);
    this.capabilities = { streaming: true, interimResults: true, wordTimings: true, languages: [options.language], blockHoldMs: WORD_BY_WORD_BLOCK_HOLD_MS };
    // The API takes 50 ms to 1 s of audio per message.
    this.chunkMs = 100;
    this.minChunkMs = 50;
  }

  protected endpoint(): WebSocketEndpoint {
    const { model, endpointSilenceMs } = this.options;
    const phrases = this.vocabulary(this.options.phrases);
    const streaming = {
      speech_model: model,
      sample_rate: PCM_SAMPLE_RATE,
      encoding: 'pcm_s16le',
      format_turns: true,
      min_turn_silence: endpointSilenceMs,
      keyterms_prompt: phrases.length > 0 ? JSON.stringify(phrases) : undefined,
    } satisfies StreamingQuery;
    const url = new URL(this.options.url ?? ASSEMBLYAI_URL);
    for (const [name, value] of Object.entries(streaming)) if (value !== undefined) url.searchParams.set(name, String(value));
    return { url: url.toString(), headers: { Authorization: this.options.apiKey } };
  }

  protected session(): WireSession {
    // An ended turn whose formatted copy has not come yet: its words are known, its punctuation is not.
    let ended: { order: number | undefined; words: RecognizedWord[]; transcript: string } | undefined;
    // The last turn settled without its formatted copy: a copy arriving after all must not settle it twice.
    let settledUnformatted: number | undefined;
    const settleEnded = (): WireReply[] => {
      const turn = ended;
      ended = undefined;
      if (!turn) return [];
      settledUnformatted = turn.order;
      return [{ kind: 'final', text: turn.transcript, words: turn.words }];
    };
    return {
      finalizeMessage: JSON.stringify({ type: 'ForceEndpoint' } satisfies StreamingForceEndpoint),
      endMessage: JSON.stringify({ type: 'Terminate' } satisfies StreamingTerminateSession),
      onMessage: (raw) => {
        const message = JSON.parse(raw) as AssemblyAiMessage;
        if ('error' in message && message.error) throw new BridgeError('ASR_ENGINE_FAILED', `assemblyai: ${message.error}`);
        switch (message.type) {
          case 'Turn': {
            const words = (message.words ?? []).map((w) => ({ word: w.text, start: w.start / 1000, end: w.end / 1000 }));
            const text = words.map((w) => w.word).join(' ');
            if (message.turn_is_formatted) {
              if (!ended && message.turn_order !== undefined && message.turn_order === settledUnformatted) return [];
              // The formatted copy of the turn just ended: its written forms go on the words as the engine heard them.
              const heard = ended;
              ended = undefined;
              const plain = heard?.words ?? words.map((w) => ({ ...w, word: w.word.toLowerCase().replace(/[^\p{L}\p{N}']/gu, '') }));
              return [{ kind: 'final', text: message.transcript || text, words: withWrittenForms(plain, message.transcript ?? '') }];
            }
            // Anything else after an ended turn means its formatted copy is not coming first (formatting off, or the next
            // turn began): the turn settles as it was heard.
            const before = settleEnded();
            if (!message.end_of_turn) return [...before, { kind: 'interim', text, words }];
            ended = { order: message.turn_order, words, transcript: message.transcript || text };
            // Every word of the ended turn is final: shown as the engine's answer while its formatting is made.
            return [...before, { kind: 'interim', text, words }];
          }
          case 'Termination':
            return [...settleEnded(), { kind: 'done' }];
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
