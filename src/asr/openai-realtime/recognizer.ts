import { BridgeError } from '../../errors.js';
import { PCM_SAMPLE_RATE } from '../../audio.js';
import type { Logger } from '../../log.js';
import { Resampler } from '../../util/resampler.js';
import { WebSocketRecognizer, type CloudEngineOptions, type WebSocketEndpoint } from '../remote/websocket-recognizer.js';
import type { WireReply, WireSession } from '../remote/wire-stream.js';
import { spreadWords, type RecognizedWord, type RecognizerCapabilities } from '../types.js';
import { withWrittenForms } from '../written-forms.js';

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

interface RealtimeEvent {
  type?: string;
  item_id?: string;
  delta?: string;
  transcript?: string;
  audio_start_ms?: number;
  audio_end_ms?: number;
  error?: { type?: string; code?: string; message?: string };
}

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

  protected endpoint(): WebSocketEndpoint {
    return { url: this.options.url ?? OPENAI_REALTIME_URL, headers: { Authorization: `Bearer ${this.options.apiKey}`, 'OpenAI-Beta': 'realtime=v1' } };
  }

  protected session(): WireSession {
    const resampler = new Resampler(PCM_SAMPLE_RATE, WIRE_RATE);
    /** Items being spoken or transcribed, by id: where they are in the stream, and their text so far. */
    const items = new Map<string, { start?: number; end?: number; text: string }>();
    let ending = false;
    let pending = 0;
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
      answersOpen: (raw) => ['session.updated', 'transcription_session.updated'].includes((JSON.parse(raw) as RealtimeEvent).type ?? ''),
      finalizeMessage: JSON.stringify({ type: 'input_audio_buffer.commit' }),
      endMessage: JSON.stringify({ type: 'input_audio_buffer.commit' }),
      encodeAudio: (pcm) => {
        const wire = resampler.process(pcm);
        return JSON.stringify({ type: 'input_audio_buffer.append', audio: Buffer.from(wire.buffer, wire.byteOffset, wire.byteLength).toString('base64') });
      },
      onMessage: (raw): WireReply[] => {
        const event = JSON.parse(raw) as RealtimeEvent;
        switch (event.type) {
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
            return turn.text.trim() ? [{ kind: 'interim', text: turn.text.trim(), words: words(turn.text, turn) }] : [];
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
          case 'error': {
            // The end's commit finds nothing left to transcribe: the stream is over.
            if (event.error?.code === 'input_audio_buffer_commit_empty') return thenDoneIfLast([]);
            if (event.error?.code === 'invalid_api_key') throw new BridgeError('ASR_AUTH_FAILED', `openai-realtime refused the API key: ${event.error.message ?? ''}`);
            if (event.error?.code === 'unknown_event' && event.error.message?.includes(form)) {
              const other = this.options.sessionForm === 'session' ? 'transcription_session' : 'session';
              throw new BridgeError('ASR_ENGINE_REJECTED', `openai-realtime: the server does not take ${form} (${event.error.message}); set asr.realtimeSession: ${other}`);
            }
            throw new BridgeError('ASR_ENGINE_FAILED', `openai-realtime: ${event.error?.message ?? event.error?.code ?? 'error'}`);
          }
          default:
            return [];
        }
      },
      ending: () => {
        ending = true;
      },
    };
  }

  /** The session: transcription only, PCM16 at 24 kHz, server VAD with the meeting's silence, vocabulary as a prompt. */
  private sessionUpdate(): Record<string, unknown> {
    const { model, language, endpointSilenceMs, phrases, sessionForm } = this.options;
    const transcription = { model, language: language.split('-')[0], ...(phrases.length > 0 ? { prompt: `Vocabulary: ${phrases.join(', ')}.` } : {}) };
    const vad = { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: endpointSilenceMs };
    if (sessionForm === 'transcription_session') {
      return { type: 'transcription_session.update', session: { input_audio_format: 'pcm16', input_audio_transcription: transcription, turn_detection: vad } };
    }
    return { type: 'session.update', session: { type: 'transcription', audio: { input: { format: { type: 'audio/pcm', rate: WIRE_RATE }, transcription, turn_detection: vad } } } };
  }

  protected override refusal(code: number, reason: string): BridgeError | undefined {
    if (code === 4001 || code === 1008) return new BridgeError('ASR_AUTH_FAILED', `openai-realtime refused the API key: ${reason || code}`);
    return undefined;
  }
}
