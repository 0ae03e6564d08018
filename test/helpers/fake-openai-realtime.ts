import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type {
  ConversationItemAdded,
  ConversationItemDone,
  ConversationItemInputAudioTranscriptionCompletedEvent,
  ConversationItemInputAudioTranscriptionDeltaEvent,
  InputAudioBufferCommittedEvent,
  InputAudioBufferSpeechStartedEvent,
  InputAudioBufferSpeechStoppedEvent,
  RealtimeConversationItemUserMessage,
  RealtimeErrorEvent,
  RealtimeServerEvent,
  SessionCreatedEvent,
  SessionUpdatedEvent,
} from 'openai/resources/realtime/realtime';
import type { SpeechEvent } from '../../src/asr/types.js';
import { Resampler } from '../../src/util/resampler.js';
import { FakeEngineServer, StablePrefix, writtenSentence, type EngineSession } from './fake-engine-server.js';

/** The older transcription session's two events, which self-hosted servers still send (openai's beta types). */
type OlderSessionEvent = { type: 'transcription_session.created' | 'transcription_session.updated'; session: Record<string, unknown> };
/**
 * What this stand-in sends: each event is checked where it is written (`satisfies`) against its own type of OpenAI's
 * published server events (openai 7.55.0); `RealtimeServerEvent` names the whole union they come from.
 */
type Sent = { type: RealtimeServerEvent['type']; [field: string]: unknown } | OlderSessionEvent;

/**
 * OpenAI's realtime transcription (`/v1/realtime?intent=transcription`) message for message, as the openai package's
 * published types (7.55.0, `resources/realtime`) and OpenAI's current API give it:
 * - `Authorization: Bearer KEY` checked at the upgrade (401 otherwise). A connection that asks for the retired beta
 *   interface (`OpenAI-Beta: realtime=v1`) is refused as OpenAI refuses it since the beta's removal: an `error`
 *   event `beta_api_shape_disabled`, then close 4000.
 * - `session.created`, then `session.update` of type transcription answered `session.updated`; the older
 *   `transcription_session.update` is answered with OpenAI's `invalid_value` error naming the client's `event_id`
 *   (`form: 'transcription_session'` makes a self-hosted server of the older protocol, which refuses the GA form).
 * - `input_audio_buffer.append` with base64 PCM16 at 24 kHz; server VAD: `speech_started`, `speech_stopped`,
 *   `committed`, then the turn's item (`conversation.item.added`), its transcript, and `conversation.item.done`.
 * - The transcript: with `deltas: 'after-commit'` (gpt-4o-transcribe, gpt-4o-mini-transcribe, whisper-1) the text
 *   comes once the turn is committed, as append-only `...delta` pieces then `...completed` (cased, punctuated, with
 *   `usage`); with `deltas: 'streaming'` (gpt-realtime-whisper) the words come as deltas while the audio arrives
 *   (deltas only grow: a word is sent once it has held through five interims and is no longer the newest), the rest and
 *   `...completed` at the turn's end; with `deltas: false` completions only, as several self-hosted servers do.
 * - `input_audio_buffer.commit` transcribes what was said so far, or answers `error` `input_audio_buffer_commit_empty`.
 */
export class FakeOpenAiRealtime extends FakeEngineServer {
  commits = 0;
  readonly sessionUpdates: Record<string, unknown>[] = [];

  constructor(
    readonly apiKey = 'sk-test-key',
    readonly options: {
      form?: 'session' | 'transcription_session';
      deltas?: 'after-commit' | 'streaming' | false;
      /** After this many appends, one recoverable error (as OpenAI sends for a bad event): the session stays open. */
      errorAfterAppends?: number;
    } = {},
  ) {
    super();
  }

  protected checkUpgrade(req: IncomingMessage, url: URL): number | undefined {
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) return 401;
    if (url.pathname !== '/v1/realtime' || url.searchParams.get('intent') !== 'transcription') return 404;
    return undefined;
  }

  protected serve(ws: WebSocket, session: EngineSession): void {
    const headers = this.requests.at(-1)!.headers;
    const form = this.options.form ?? 'session';
    const deltas = this.options.deltas ?? 'after-commit';
    const toEngine = new Resampler(24_000, 16_000);
    const send = (event: Sent): void => ws.send(JSON.stringify({ event_id: `event_${randomUUID()}`, ...event }));
    const fail = (code: string, message: string, about?: string): void =>
      send({ type: 'error', error: { type: 'invalid_request_error', code, message, param: null, event_id: about ?? null } } satisfies Omit<RealtimeErrorEvent, 'event_id'>);
    if (form === 'session' && String(headers['openai-beta'] ?? '').includes('realtime=v1')) {
      fail('beta_api_shape_disabled', 'The Realtime Beta API is no longer supported. Please use the GA API (remove the OpenAI-Beta header).');
      ws.close(4000, 'beta_api_shape_disabled');
      return;
    }
    let configured = false;
    let appends = 0;
    let previousItem: string | null = null;
    /** The turn being spoken: its item, and (streaming) the words sent as deltas so far. */
    let turn: { id: string; sent: number; words: string[] } | undefined;
    const held = new StablePrefix();
    const userItem = (id: string, transcript?: string): RealtimeConversationItemUserMessage => ({
      id,
      type: 'message',
      role: 'user',
      object: 'realtime.item',
      status: 'completed',
      content: [{ type: 'input_audio', ...(transcript === undefined ? {} : { transcript }) }],
    });
    const delta = (id: string, piece: string): void =>
      send({ type: 'conversation.item.input_audio_transcription.delta', item_id: id, content_index: 0, delta: piece } satisfies Omit<ConversationItemInputAudioTranscriptionDeltaEvent, 'event_id'>);
    const answer = (events: SpeechEvent[], committing = false): void => {
      let completed = false;
      for (const event of events) {
        if (event.type === 'start_of_speech') {
          turn = { id: `item_${randomUUID()}`, sent: 0, words: [] };
          held.reset();
          send({ type: 'input_audio_buffer.speech_started', audio_start_ms: Math.round(event.time * 1000), item_id: turn.id } satisfies Omit<InputAudioBufferSpeechStartedEvent, 'event_id'>);
        } else if (event.type === 'interim' && turn && deltas === 'streaming') {
          // A streaming model's text only grows: a word goes out once it has held and a newer one follows it.
          const words = writtenSentence(event.text).replace(/\.$/, '').split(' ').filter(Boolean);
          const stable = Math.min(held.update(words.map((w) => w.toLowerCase())), words.length - 1);
          for (; turn.sent < stable; turn.sent++) {
            turn.words.push(words[turn.sent]!);
            delta(turn.id, `${turn.sent === 0 ? '' : ' '}${words[turn.sent]}`);
          }
        } else if (event.type === 'final' && turn) {
          const id = turn.id;
          send({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: Math.round(event.time * 1000), item_id: id } satisfies Omit<InputAudioBufferSpeechStoppedEvent, 'event_id'>);
          send({ type: 'input_audio_buffer.committed', previous_item_id: previousItem, item_id: id } satisfies Omit<InputAudioBufferCommittedEvent, 'event_id'>);
          send({ type: 'conversation.item.added', previous_item_id: previousItem, item: userItem(id) } satisfies Omit<ConversationItemAdded, 'event_id'>);
          // A streaming model's text is what its deltas said: the words sent stay, the final's words after them follow.
          const written = writtenSentence(event.text).split(' ').filter(Boolean);
          const streamed = turn.words.slice(0, turn.sent);
          const transcript = deltas === 'streaming' ? [...streamed, ...written.slice(streamed.length)].join(' ') : written.join(' ');
          if (deltas === 'after-commit') for (const piece of transcript.split(/(?= )/)) delta(id, piece);
          if (deltas === 'streaming') {
            const rest = transcript.slice(streamed.join(' ').length);
            if (rest) delta(id, rest);
          }
          send({
            type: 'conversation.item.input_audio_transcription.completed',
            item_id: id,
            content_index: 0,
            transcript,
            usage: { type: 'duration', seconds: Math.max(0.1, event.time) },
          } satisfies Omit<ConversationItemInputAudioTranscriptionCompletedEvent, 'event_id'>);
          send({ type: 'conversation.item.done', previous_item_id: previousItem, item: userItem(id, transcript) } satisfies Omit<ConversationItemDone, 'event_id'>);
          previousItem = id;
          turn = undefined;
          completed = true;
        }
      }
      if (committing && !completed) fail('input_audio_buffer_commit_empty', 'Error committing input audio buffer: buffer too small. Expected at least 100ms of audio.');
    };
    if (form === 'session') send({ type: 'session.created', session: { type: 'transcription' } } satisfies Omit<SessionCreatedEvent, 'event_id'>);
    else send({ type: 'transcription_session.created', session: { id: `sess_${randomUUID()}` } });
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type?: string; event_id?: string; audio?: string; session?: Record<string, unknown> };
      switch (message.type) {
        case 'session.update':
        case 'transcription_session.update': {
          const expected = form === 'session' ? 'session.update' : 'transcription_session.update';
          if (message.type !== expected) {
            // OpenAI's answer to the removed form; a self-hosted server of the older protocol does not know the GA one.
            return form === 'session'
              ? fail('invalid_value', `Invalid value: '${message.type}'. Supported values are: 'session.update', 'input_audio_buffer.append', 'input_audio_buffer.commit', 'input_audio_buffer.clear', ...`, message.event_id)
              : fail('unknown_event', `Unknown event type ${message.type}`, message.event_id);
          }
          if (form === 'session' && (message.session as { type?: string } | undefined)?.type !== 'transcription') {
            return fail('invalid_value', 'session.type must be transcription', message.event_id);
          }
          this.sessionUpdates.push(message.session ?? {});
          configured = true;
          if (form === 'session') return send({ type: 'session.updated', session: message.session as unknown as SessionUpdatedEvent['session'] } satisfies Omit<SessionUpdatedEvent, 'event_id'>);
          return send({ type: 'transcription_session.updated', session: message.session ?? {} });
        }
        case 'input_audio_buffer.append': {
          if (!configured || typeof message.audio !== 'string') return fail('invalid_value', 'audio must be base64 and the session configured first', message.event_id);
          if (++appends === this.options.errorAfterAppends) fail('invalid_value', "Invalid value: 'input_audio_buffer.clear' is not valid now.");
          const events = session.audio(toEngine.processBytes(Buffer.from(message.audio, 'base64')));
          if (events) answer(events);
          return;
        }
        case 'input_audio_buffer.commit':
          this.commits += 1;
          return answer(session.finish(), true);
        default:
          return fail('invalid_value', `Invalid value: '${String(message.type)}'.`, message.event_id);
      }
    });
  }
}
