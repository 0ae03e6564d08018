import { randomUUID } from 'node:crypto';
import type { RecognizedWord, SpeechEvent } from '../asr/types.js';

/**
 * What a Deepgram live client expects back on /v1/listen, made from the meeting's recognizer events: `Results`
 * (interims only with interim_results=true, as at Deepgram; each final with is_final and speech_final),
 * `SpeechStarted` with vad_events=true, `UtteranceEnd` with utterance_end_ms, and `Metadata` at the end. The
 * words are the engine's own, unformatted, as Deepgram sends them without smart_format.
 */
export class DeepgramReplies {
  readonly requestId = randomUUID();
  private readonly interimResults: boolean;
  private readonly vadEvents: boolean;
  private readonly utteranceEnd: boolean;
  private utteranceStart = 0;

  constructor(
    query: URLSearchParams,
    private readonly send: (message: string) => void,
  ) {
    this.interimResults = query.get('interim_results') === 'true';
    this.vadEvents = query.get('vad_events') === 'true';
    this.utteranceEnd = query.has('utterance_end_ms');
  }

  event(event: SpeechEvent): void {
    switch (event.type) {
      case 'start_of_speech':
        this.utteranceStart = event.time;
        if (this.vadEvents) this.send(JSON.stringify({ type: 'SpeechStarted', channel: [0], timestamp: event.time }));
        return;
      case 'interim':
        if (this.interimResults) this.send(this.results(event.text, event.words ?? [], event.time, false));
        return;
      case 'final':
        this.send(this.results(event.text, event.words, event.time, true));
        if (this.utteranceEnd) this.send(JSON.stringify({ type: 'UtteranceEnd', channel: [0, 1], last_word_end: event.words.at(-1)?.end ?? event.time }));
        return;
      case 'end_of_speech':
        return;
    }
  }

  /** Deepgram's closing message, with the bridge's own counts added. */
  metadata(audioSeconds: number, extra: Record<string, number>): string {
    return JSON.stringify({ type: 'Metadata', transaction_key: 'deprecated', request_id: this.requestId, created: new Date().toISOString(), duration: audioSeconds, channels: 1, ...extra });
  }

  private results(transcript: string, words: RecognizedWord[], time: number, final: boolean): string {
    const start = words[0]?.start ?? this.utteranceStart;
    return JSON.stringify({
      type: 'Results',
      channel_index: [0, 1],
      duration: Math.max(0, time - start),
      start,
      is_final: final,
      speech_final: final,
      from_finalize: false,
      channel: { alternatives: [{ transcript, confidence: 1, words: words.map((w) => ({ word: w.word, start: w.start, end: w.end, confidence: 1, punctuated_word: w.word })) }] },
      metadata: { request_id: this.requestId, model_info: { name: 'caption-bridge', version: '1', arch: 'caption-bridge' }, model_uuid: this.requestId },
    });
  }
}
