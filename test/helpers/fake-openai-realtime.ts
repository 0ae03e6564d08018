import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { SpeechEvent } from '../../src/asr/types.js';
import { Resampler } from '../../src/util/resampler.js';
import { FakeEngineServer, writtenSentence, type EngineSession } from './fake-engine-server.js';

/**
 * OpenAI's realtime transcription (`/v1/realtime?intent=transcription`) message for message, as its API reference
 * and the openai-node client's types give it: `Authorization: Bearer KEY` checked at the upgrade (401 otherwise);
 * `session.update` of type transcription (or, with `form: 'transcription_session'`, the older
 * `transcription_session.update` that self-hosted servers speak, the other form refused with an `error` event);
 * `input_audio_buffer.append` with base64 PCM16 at 24 kHz; server VAD events `input_audio_buffer.speech_started` /
 * `speech_stopped` / `committed` with item ids and audio ms; once a turn is committed, its transcript streamed as
 * `conversation.item.input_audio_transcription.delta` pieces (append-only, as gpt-4o-transcribe sends them) and then
 * `.completed` (the whole transcript, cased and punctuated); `input_audio_buffer.commit`
 * transcribing what was said so far, or `error` code `input_audio_buffer_commit_empty`. With `deltas: false` it
 * sends completions only, as several self-hosted servers do.
 */
export class FakeOpenAiRealtime extends FakeEngineServer {
  commits = 0;
  readonly sessionUpdates: Record<string, unknown>[] = [];

  constructor(
    readonly apiKey = 'sk-test-key',
    readonly options: { form?: 'session' | 'transcription_session'; deltas?: boolean } = {},
  ) {
    super();
  }

  protected checkUpgrade(req: IncomingMessage, url: URL): number | undefined {
    if (req.headers.authorization !== `Bearer ${this.apiKey}`) return 401;
    if (url.pathname !== '/v1/realtime' || url.searchParams.get('intent') !== 'transcription') return 404;
    return undefined;
  }

  protected serve(ws: WebSocket, session: EngineSession): void {
    const form = this.options.form ?? 'session';
    const deltas = this.options.deltas ?? true;
    const toEngine = new Resampler(24_000, 16_000);
    const send = (event: Record<string, unknown>): void => ws.send(JSON.stringify({ event_id: `event_${randomUUID()}`, ...event }));
    let configured = false;
    let itemId: string | undefined;
    const answer = (events: SpeechEvent[], committing = false): void => {
      let completed = false;
      for (const event of events) {
        if (event.type === 'start_of_speech') {
          itemId = `item_${randomUUID()}`;
          send({ type: 'input_audio_buffer.speech_started', audio_start_ms: Math.round(event.time * 1000), item_id: itemId });
        } else if (event.type === 'final' && itemId) {
          send({ type: 'input_audio_buffer.speech_stopped', audio_end_ms: Math.round(event.time * 1000), item_id: itemId });
          send({ type: 'input_audio_buffer.committed', previous_item_id: null, item_id: itemId });
          // As gpt-4o-transcribe does: the committed turn is transcribed, its text streamed out as deltas, then completed.
          const transcript = writtenSentence(event.text);
          if (deltas) for (const piece of transcript.split(/(?= )/)) send({ type: 'conversation.item.input_audio_transcription.delta', item_id: itemId, content_index: 0, delta: piece });
          send({ type: 'conversation.item.input_audio_transcription.completed', item_id: itemId, content_index: 0, transcript });
          itemId = undefined;
          completed = true;
        }
      }
      if (committing && !completed) send({ type: 'error', error: { type: 'invalid_request_error', code: 'input_audio_buffer_commit_empty', message: 'Error committing input audio buffer: buffer too small.', param: null } });
    };
    send({ type: form === 'session' ? 'session.created' : 'transcription_session.created', session: { id: `sess_${randomUUID()}` } });
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type?: string; audio?: string; session?: Record<string, unknown> };
      switch (message.type) {
        case 'session.update':
        case 'transcription_session.update': {
          const expected = form === 'session' ? 'session.update' : 'transcription_session.update';
          if (message.type !== expected) return send({ type: 'error', error: { type: 'invalid_request_error', code: 'unknown_event', message: `Unknown event type ${message.type}` } });
          if (form === 'session' && (message.session as { type?: string } | undefined)?.type !== 'transcription') {
            return send({ type: 'error', error: { type: 'invalid_request_error', code: 'invalid_value', message: 'session.type must be transcription' } });
          }
          this.sessionUpdates.push(message.session ?? {});
          configured = true;
          return send({ type: form === 'session' ? 'session.updated' : 'transcription_session.updated', session: message.session });
        }
        case 'input_audio_buffer.append': {
          if (!configured || typeof message.audio !== 'string') return send({ type: 'error', error: { type: 'invalid_request_error', code: 'invalid_value', message: 'audio must be base64 and the session configured first' } });
          const events = session.audio(toEngine.processBytes(Buffer.from(message.audio, 'base64')));
          if (events) answer(events);
          return;
        }
        case 'input_audio_buffer.commit':
          this.commits += 1;
          return answer(session.finish(), true);
        default:
          return send({ type: 'error', error: { type: 'invalid_request_error', code: 'unknown_event', message: `Unknown event type ${String(message.type)}` } });
      }
    });
  }
}
