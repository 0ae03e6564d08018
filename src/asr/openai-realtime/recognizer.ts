import { BridgeError } from '../../errors.js';
import { PCM_SAMPLE_RATE } from '../../audio.js';
import type { Logger } from '../../log.js';
import { Resampler } from '../../util/resampler.js';
import { WebSocketRecognizer, type CloudEngineOptions, type WebSocketEndpoint } from '../remote/websocket-recognizer.js';
import type { WireReply, WireSession } from '../remote/wire-stream.js';
import { spreadWords, type RecognizedWord, type RecognizerCapabilities } from '../types.js';
import { withWrittenForms } from '../written-forms.js';
// The vendor's own published types (openai 7.55.0, a dev dependency read by the type checker only): a message that
// drifts from what OpenAI documents fails `npm run typecheck`.
import type {
  InputAudioBufferAppendEvent,
  InputAudioBufferCommitEvent,
  AudioTranscription as InputAudioTranscription,
  RealtimeErrorEvent,
  RealtimeServerEvent,
  SessionUpdateEvent,
} from 'openai/resources/realtime/realtime';
import type { TranscriptionSessionUpdate } from 'openai/resources/beta/realtime/realtime';

type OlderTranscription = NonNullable<TranscriptionSessionUpdate['session']['input_audio_transcription']>;

export const OPENAI_REALTIME_URL = 'wss://api.openai.com/v1/realtime?intent=transcription';
/** The realtime API takes PCM16 at 24 kHz, mono, base64 in JSON. */
const WIRE_RATE = 24_000;

export interface OpenAiRealtimeOptions extends CloudEngineOptions {
  /**
   * How the session is configured: `session.update` of type transcription (the current API), or the older
   * `transcription_session.update` that self-hosted servers (speaches, SenseVoice servers) still speak.
   */
  sessionForm: 'session' | 'transcription_session';
}

/**
 * A server event as read: OpenAI's own union, widened by the older transcription session's two events that
 * self-hosted servers still send. Fields are read defensively (a server may leave any of them out).
 */
type ServerEvent = RealtimeServerEvent | { type: 'transcription_session.created' | 'transcription_session.updated' };
/** Our session update carries this id: an `error` naming it is the server refusing the session (its form, model, ...). */
const SESSION_EVENT_ID = 'caption-bridge-session';
/** Errors that end the session: the key refused. Every other error event OpenAI documents leaves the session open. */
const FATAL_ERROR_CODES = new Set(['invalid_api_key']);

/**
 * OpenAI's realtime transcription (`/v1/realtime?intent=transcription`) and every server that speaks it. The
 * session asks for server VAD; audio goes as base64 PCM16 at 24 kHz in `input_audio_buffer.append`. Each speech turn
 * is an item: `speech_started` (its start in the stream), `...input_audio_transcription.delta` (text that only
 * grows), `speech_stopped`, and `...completed` with the whole transcript, punctuated. Deltas are interims; the
 * completion settles the turn. Servers that send no deltas are fine: the segmenter settles on completions. The
 * protocol gives no word times: a turn's words are spread over its speech, in order.
 * Finalize commits the buffer (the turn so far is transcribed now); the end of a stream commits and waits for what
 * is still being transcribed.
 */
export class OpenAiRealtimeRecognizer extends WebSocketRecognizer {
  readonly engine = 'openai-realtime';
  readonly capabilities: RecognizerCapabilities;

  constructor(
    private readonly options: OpenAiRealtimeOptions,
    log: Logger,
  ) {
    super(log);
    this.capabilities = { streaming: true, interimResults: true, wordTimings: false, languages: [options.language] };
  }

  /**
   * No `OpenAI-Beta` header: OpenAI removed the realtime beta interface (deprecations page: "realtime API beta",
   * removed 2026-05-12) and refuses a connection that asks for it. Self-hosted servers take the GA connection too.
   */
  protected endpoint(): WebSocketEndpoint {
    return { url: this.options.url ?? OPENAI_REALTIME_URL, headers: { Authorization: `Bearer ${this.options.apiKey}` } };
  }

  protected session(): WireSession {
    const resampler = new Resampler(PCM_SAMPLE_RATE, WIRE_RATE);
    /** Items being spoken or transcribed, by id: where they are in the stream, and their text so far. */
    const items = new Map<string, { start?: number; end?: number; text: string }>();
    let ending = false;
    let pending = 0;
    /** Until the server says the session is set up, an error is its refusal of the session (a server may not name it). */
    let configured = false;
    const item = (id: string | undefined): { start?: number; end?: number; text: string } => {
      const key = id ?? '';
      let found = items.get(key);
      if (!found) items.set(key, (found = { text: '' }));
      return found;
    };
    const words = (text: string, span: { start?: number; end?: number }): RecognizedWord[] => spreadWords(text, span.start ?? 0, span.end);
    // From the end's commit on, the answer that leaves nothing being transcribed is the stream's last.
    const thenDoneIfLast = (replies: WireReply[]): WireReply[] => (ending && pending === 0 ? [...replies, { kind: 'done' }] : replies);
    const turnOver = (id: string | undefined): void => {
      items.delete(id ?? '');
      pending = Math.max(0, pending - 1);
    };
    const form = this.options.sessionForm === 'session' ? 'session.update' : 'transcription_session.update';
    return {
      openMessage: JSON.stringify(this.sessionUpdate()),
      answersOpen: (raw) => ['session.updated', 'transcription_session.updated'].includes((JSON.parse(raw) as ServerEvent).type),
      finalizeMessage: JSON.stringify({ type: 'input_audio_buffer.commit' } satisfies InputAudioBufferCommitEvent),
      endMessage: JSON.stringify({ type: 'input_audio_buffer.commit' } satisfies InputAudioBufferCommitEvent),
      encodeAudio: (pcm) => {
        const wire = resampler.process(pcm);
        return JSON.stringify({ type: 'input_audio_buffer.append', audio: Buffer.from(wire.buffer, wire.byteOffset, wire.byteLength).toString('base64') } satisfies InputAudioBufferAppendEvent);
      },
      onMessage: (raw): WireReply[] => {
        const event = JSON.parse(raw) as ServerEvent;
        switch (event.type) {
          case 'session.updated':
          case 'transcription_session.updated':
            configured = true;
            return [];
          case 'input_audio_buffer.speech_started':
            item(event.item_id).start = (event.audio_start_ms ?? 0) / 1000;
            return [{ kind: 'speech-started' }];
          case 'input_audio_buffer.speech_stopped':
            item(event.item_id).end = (event.audio_end_ms ?? 0) / 1000;
            return [];
          case 'input_audio_buffer.committed':
            pending += 1;
            return [];
          case 'conversation.item.input_audio_transcription.delta': {
            const turn = item(event.item_id);
            turn.text += event.delta ?? '';
            const text = turn.text.trim();
            // The deltas are written text (cased, punctuated): the interim's words keep it, as the final's do. Deltas
            // only add (OpenAI never revises one), so every word but one a delta may have cut short is the engine's
            // last word on it: stable, settled without waiting to be seen again.
            const lastWordEnded = /\s$/.test(turn.text);
            const heard = withWrittenForms(words(text, turn), text).map((w, i, all) => (lastWordEnded || i < all.length - 1 ? { ...w, stable: true } : w));
            return text ? [{ kind: 'interim', text, words: heard }] : [];
          }
          case 'conversation.item.input_audio_transcription.completed': {
            const turn = item(event.item_id);
            turnOver(event.item_id);
            const transcript = (event.transcript ?? turn.text).trim();
            const heard = words(transcript, turn);
            return thenDoneIfLast(heard.length > 0 ? [{ kind: 'final', text: transcript, words: withWrittenForms(heard, transcript) }] : [{ kind: 'utterance-end' }]);
          }
          case 'conversation.item.input_audio_transcription.failed': {
            // The turn could not be transcribed (the service says why): it ends without words rather than waiting forever.
            turnOver(event.item_id);
            this.log.warn({ engine: this.engine, err: event.error?.message ?? event.error?.code }, 'openai-realtime could not transcribe a turn: its words are lost');
            return thenDoneIfLast([{ kind: 'utterance-end' }]);
          }
          case 'error':
            return thenDoneIfLast(this.onError(event, form, configured));
          default:
            return [];
        }
      },
      ending: () => {
        ending = true;
      },
    };
  }

  /**
   * An error event. OpenAI documents most errors as recoverable (the session stays open): they are logged and the
   * stream goes on. The end's commit finding nothing left is the stream's end; a refused key, and an error that names
   * our session update (the server does not take its form, model or language), end the session with the reason.
   */
  private onError(event: RealtimeErrorEvent, form: string, configured: boolean): WireReply[] {
    const { code, message, event_id: about } = event.error ?? {};
    if (code === 'input_audio_buffer_commit_empty') return [];
    if (code && FATAL_ERROR_CODES.has(code)) throw new BridgeError('ASR_AUTH_FAILED', `openai-realtime refused the API key: ${message ?? ''}`);
    if (about === SESSION_EVENT_ID || !configured) {
      const other = this.options.sessionForm === 'session' ? 'transcription_session' : 'session';
      const hint = /invalid value|unknown|not allowed|unsupported/i.test(message ?? '') && message?.includes(form) ? `; if the server speaks the other form, set asr.realtimeSession: ${other}` : '';
      throw new BridgeError('ASR_ENGINE_REJECTED', `openai-realtime refused the session (${form}): ${message ?? code ?? 'error'}${hint}`);
    }
    this.log.warn({ engine: this.engine, code, err: message }, 'openai-realtime reported an error; the session goes on');
    return [];
  }

  /**
   * The session: transcription only, PCM16 at 24 kHz, server VAD with the meeting's silence, vocabulary as a prompt.
   * OpenAI takes the GA form (`session.update` of type transcription); the older `transcription_session.update` is
   * for self-hosted servers that still speak only it (speaches, SenseVoice servers).
   */
  private sessionUpdate(): SessionUpdateEvent | TranscriptionSessionUpdate {
    const { model, language, endpointSilenceMs, sessionForm } = this.options;
    const phrases = this.vocabulary(this.options.phrases);
    // OpenAI's types list three models; the service also takes newer ones (gpt-realtime-whisper), and a self-hosted
    // server its own model names: the name is the config's, the rest of the shape is checked.
    const transcription = {
      model: model as NonNullable<InputAudioTranscription['model']>,
      language: language.split('-')[0],
      ...(phrases.length > 0 ? { prompt: `Vocabulary: ${phrases.join(', ')}.` } : {}),
    };
    const vad = { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: endpointSilenceMs } as const;
    if (sessionForm === 'transcription_session') {
      return {
        type: 'transcription_session.update',
        event_id: SESSION_EVENT_ID,
        session: {
          input_audio_format: 'pcm16',
          input_audio_transcription: { ...transcription, model: model as NonNullable<OlderTranscription['model']> },
          turn_detection: vad,
        },
      } satisfies TranscriptionSessionUpdate;
    }
    return {
      type: 'session.update',
      event_id: SESSION_EVENT_ID,
      session: { type: 'transcription', audio: { input: { format: { type: 'audio/pcm', rate: WIRE_RATE }, transcription, turn_detection: vad } } },
    } satisfies SessionUpdateEvent;
  }

  protected override refusal(code: number, reason: string): BridgeError | undefined {
    if (code === 4001 || code === 1008) return new BridgeError('ASR_AUTH_FAILED', `openai-realtime refused the API key: ${reason || code}`);
    return undefined;
  }
}
