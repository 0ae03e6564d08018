import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { RecognizedWord, SpeechEvent } from '../../src/asr/types.js';
import { capitalized, FakeEngineServer, type EngineSession } from './fake-engine-server.js';

/**
 * Deepgram's live API (`/v1/listen`) message for message: `Authorization: Token KEY` checked at the upgrade
 * (401 otherwise), `Results` with `is_final`/`speech_final`/`from_finalize` and word objects, `SpeechStarted`,
 * `UtteranceEnd`, `Metadata` after CloseStream, KeepAlive accepted, and the connection closed with 1011
 * (NET-0001) when no audio or KeepAlive came for `idleTimeoutMs` (10 s at Deepgram).
 * A settled utterance is sent as two `is_final` pieces, as Deepgram does for longer speech, so clients must join them.
 */
export class FakeDeepgram extends FakeEngineServer {
  keepAlives = 0;
  finalizes = 0;
  idleTimeoutMs = 10_000;

  constructor(readonly apiKey = 'dg-test-key') {
    super();
  }

  protected checkUpgrade(req: IncomingMessage, url: URL): number | undefined {
    if (req.headers.authorization !== `Token ${this.apiKey}`) return 401;
    if (url.searchParams.get('encoding') !== 'linear16' || !url.searchParams.get('sample_rate')) return 400;
    return undefined;
  }

  protected serve(ws: WebSocket, session: EngineSession, url: URL): void {
    const requestId = randomUUID();
    // As Deepgram does with punctuate=true / diarize=true: a written form per word, and a speaker per utterance
    // (here the speakers simply take turns, so a client can see the changes).
    const query = url.searchParams;
    const punctuate = query.get('punctuate') === 'true';
    const diarize = query.get('diarize') === 'true';
    let utterance = 0;
    const written = (w: RecognizedWord, i: number, all: RecognizedWord[], last: boolean): Record<string, unknown> => ({
      punctuated_word: punctuate ? `${i === 0 ? capitalized(w.word) : w.word}${last && i === all.length - 1 ? '.' : ''}` : w.word,
      ...(diarize ? { speaker: utterance % 2 } : {}),
    });
    let idle: NodeJS.Timeout | undefined;
    const stillThere = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => ws.close(1011, 'Deepgram did not receive audio data or a text message within the timeout window. See https://dpgr.am/net0001'), this.idleTimeoutMs);
    };
    stillThere();
    ws.on('close', () => clearTimeout(idle));
    const results = (words: RecognizedWord[], flags: { is_final: boolean; speech_final: boolean; from_finalize?: boolean }, first = true): string => {
      const start = words[0]?.start ?? session.samples / 16_000;
      const end = words.at(-1)?.end ?? start;
      return JSON.stringify({
        type: 'Results',
        channel_index: [0, 1],
        duration: end - start,
        start,
        is_final: flags.is_final,
        speech_final: flags.speech_final,
        from_finalize: flags.from_finalize ?? false,
        channel: {
          alternatives: [
            {
              transcript: words.map((w) => w.word).join(' '),
              confidence: 0.9,
              words: words.map((w, i, all) => ({ word: w.word, start: w.start, end: w.end, confidence: 0.9, ...written(w, first ? i : i + 1, all, flags.speech_final) })),
            },
          ],
        },
        metadata: { request_id: requestId, model_info: { name: 'general', version: '2024-01-01', arch: 'nova-3' }, model_uuid: randomUUID() },
      });
    };
    const send = (events: SpeechEvent[], fromFinalize = false): void => {
      for (const event of events) {
        if (event.type === 'start_of_speech') ws.send(JSON.stringify({ type: 'SpeechStarted', channel: [0], timestamp: event.time }));
        else if (event.type === 'interim') ws.send(results(event.words ?? [], { is_final: false, speech_final: false }));
        else if (event.type === 'final') {
          const half = Math.ceil(event.words.length / 2);
          ws.send(results(event.words.slice(0, half), { is_final: true, speech_final: false }));
          ws.send(results(event.words.slice(half), { is_final: true, speech_final: true, from_finalize: fromFinalize }, half === 0));
          utterance += 1;
          ws.send(JSON.stringify({ type: 'UtteranceEnd', channel: [0, 1], last_word_end: event.words.at(-1)?.end ?? event.time }));
        }
      }
    };
    ws.on('message', (data, isBinary) => {
      stillThere();
      if (isBinary) {
        const events = session.audio(data as Buffer);
        if (events) send(events);
        return;
      }
      let message: { type?: string };
      try {
        message = JSON.parse(String(data)) as { type?: string };
      } catch {
        return ws.close(1008, 'DATA-0000: the payload cannot be decoded as audio');
      }
      if (message.type === 'KeepAlive') this.keepAlives += 1;
      else if (message.type === 'Finalize') {
        this.finalizes += 1;
        send(session.finish(), true);
      } else if (message.type === 'CloseStream') {
        send(session.finish(), true);
        const duration = session.samples / 16_000;
        ws.send(JSON.stringify({ type: 'Metadata', transaction_key: 'deprecated', request_id: requestId, sha256: '0'.repeat(64), created: new Date().toISOString(), duration, channels: 1, models: [randomUUID()], model_info: {} }));
        ws.close(1000);
      }
    });
  }
}
