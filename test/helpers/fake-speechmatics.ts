import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { RecognizedWord, SpeechEvent } from '../../src/asr/types.js';
import { capitalized, FakeEngineServer, type EngineSession } from './fake-engine-server.js';

// Every message this stand-in sends, and the StartRecognition it reads, are typed by Speechmatics' own client's types.
import type { RealtimeServerMessage, RecognitionResult, StartRecognition } from '@speechmatics/real-time-client';

/**
 * Speechmatics' real-time API (`/v2`) message for message, as the types of its official client
 * (@speechmatics/real-time-client 8.5.1, `RealtimeServerMessage` / `RealtimeClientMessage`) give it: the key as
 * `Authorization: Bearer KEY` or the client's `?jwt=` (401 at the upgrade otherwise); `StartRecognition` first
 * (raw pcm_s16le or pcm_f32le with a sample rate, a language), answered with `RecognitionStarted`, or `Error`
 * `invalid_audio_type` / `invalid_language` / `protocol_error` (audio before it); every binary frame acknowledged
 * with `AudioAdded` and its `seq_no`; `AddPartialTranscript` and `AddTranscript` with `metadata` and `results`
 * (words with times, `alternatives[0].content`, `speaker` S1.. with diarization; a full stop as a `punctuation`
 * result attached to the previous word, `is_eos`); an utterance's words settled in two `AddTranscript` pieces; `EndOfUtterance` after an utterance when
 * `end_of_utterance_silence_trigger` is set; `ForceEndOfUtterance` settles now; `EndOfStream` (whose `last_seq_no`
 * must name the last frame) settles everything and is answered with `EndOfTranscript`.
 */
export class FakeSpeechmatics extends FakeEngineServer {
  readonly starts: StartRecognition[] = [];
  /** `EndOfStream` messages whose last_seq_no was not the number of the last audio frame received. */
  wrongLastSeqNo = 0;
  forcedEnds = 0;

  constructor(readonly apiKey = 'sm-test-key') {
    super();
  }

  protected checkUpgrade(req: IncomingMessage, url: URL): number | undefined {
    const key = req.headers.authorization?.replace(/^Bearer /, '') ?? url.searchParams.get('jwt');
    if (key !== this.apiKey) return 401;
    if (!url.pathname.startsWith('/v2')) return 404;
    return undefined;
  }

  protected serve(ws: WebSocket, session: EngineSession): void {
    let start: StartRecognition | undefined;
    let seqNo = 0;
    const send = (message: RealtimeServerMessage): void => ws.send(JSON.stringify(message));
    const error = (type: Extract<RealtimeServerMessage, { message: 'Error' }>['type'], reason: string): void => {
      send({ message: 'Error', type, reason });
      ws.close(1011);
    };
    const results = (words: readonly RecognizedWord[], from: number, endOfSentence: boolean): RecognitionResult[] => {
      const out: RecognitionResult[] = words.map((w, i) => ({
        type: 'word',
        start_time: w.start,
        end_time: w.end,
        alternatives: [
          {
            content: from + i === 0 ? capitalized(w.word) : w.word,
            confidence: 0.9,
            language: 'en',
            ...(start?.transcription_config?.diarization === 'speaker' ? { speaker: 'S1' } : {}),
          },
        ],
      }));
      // With nothing left for the second piece, the full stop comes alone and attaches to the word before it.
      const at = words.at(-1)?.end ?? 0;
      if (endOfSentence) out.push({ type: 'punctuation', start_time: at, end_time: at, is_eos: true, attaches_to: 'previous', alternatives: [{ content: '.', confidence: 1, language: 'en' }] });
      return out;
    };
    const transcript = (kind: 'AddPartialTranscript' | 'AddTranscript', words: readonly RecognizedWord[], from: number, endOfSentence = false): void => {
      const list = results(words, from, endOfSentence);
      const text = list.map((r) => r.alternatives?.[0]?.content ?? '').join(' ').replace(/ \./g, '.');
      send({ message: kind, format: '2.9', metadata: { start_time: words[0]?.start ?? 0, end_time: words.at(-1)?.end ?? 0, transcript: text }, results: list });
    };
    const answer = (events: SpeechEvent[]): void => {
      for (const event of events) {
        if (event.type === 'interim' && event.words && start?.transcription_config?.enable_partials) {
          transcript('AddPartialTranscript', event.words, 0);
        } else if (event.type === 'final') {
          // Settled in two pieces, as Speechmatics does for speech longer than max_delay, so clients must join them.
          // (The recogniser behind this stand-in revises its words at the utterance's end, so pieces settled earlier
          // from its partials would be worse than its final: the stand-in cuts the final instead.)
          const half = Math.ceil(event.words.length / 2);
          transcript('AddTranscript', event.words.slice(0, half), 0);
          transcript('AddTranscript', event.words.slice(half), half, true);
          const trigger = start?.transcription_config?.conversation_config?.end_of_utterance_silence_trigger ?? 0;
          if (trigger > 0) send({ message: 'EndOfUtterance', metadata: { start_time: event.time, end_time: event.time } });
        }
      }
    };
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        if (!start) return error('protocol_error', 'AddAudio received before StartRecognition');
        seqNo += 1;
        const events = session.audio(data as Buffer);
        if (!events) return;
        send({ message: 'AudioAdded', seq_no: seqNo });
        return answer(events);
      }
      let message: { message?: string; last_seq_no?: number };
      try {
        message = JSON.parse(String(data)) as typeof message;
      } catch {
        return error('invalid_message', 'message is not valid JSON');
      }
      switch (message.message) {
        case 'StartRecognition': {
          const request = message as StartRecognition;
          const format = request.audio_format;
          if (format?.type !== 'raw' || format.encoding !== 'pcm_s16le' || format.sample_rate !== 16_000) return error('invalid_audio_type', 'this stand-in takes raw pcm_s16le at 16000 Hz');
          // The recogniser behind it is English; Speechmatics names languages without a region.
          if (request.transcription_config?.language !== 'en') return error('invalid_language', `language ${String(request.transcription_config?.language)} is not supported`);
          start = request;
          this.starts.push(request);
          return send({ message: 'RecognitionStarted', id: randomUUID(), orchestrator_version: '2025.01.0', language_pack_info: { language_description: 'English', word_delimiter: ' ', writing_direction: 'left-to-right', itn: true, adapted: false } });
        }
        case 'ForceEndOfUtterance':
          this.forcedEnds += 1;
          return answer(session.finish());
        case 'EndOfStream':
          if (message.last_seq_no !== seqNo) this.wrongLastSeqNo += 1;
          answer(session.finish());
          return send({ message: 'EndOfTranscript' });
        default:
          return error('invalid_message', `unknown message ${String(message.message)}`);
      }
    });
  }
}
