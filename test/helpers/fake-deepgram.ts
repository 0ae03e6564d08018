import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { Deepgram } from '@deepgram/sdk';
import type { RecognizedWord, SpeechEvent } from '../../src/asr/types.js';
import { capitalized, FakeEngineServer, StablePrefix, type EngineSession } from './fake-engine-server.js';

type Results = Deepgram.listen.v1.ListenV1Results;
type ResultWord = Results['channel']['alternatives'][number]['words'][number];

/** Deepgram's interim cadence: about one interim result a second of audio (the client cannot ask for more). */
const INTERIM_EVERY_S = 1;
/** A long utterance is finalised in pieces as it goes: words this far behind the newest are settled into one. */
const PIECE_AFTER_WORDS = 8;
const PIECE_KEEPS_BACK = 3;
/** During silence Deepgram sends empty results about this often. */
const SILENCE_RESULT_EVERY_S = 1;

/**
 * Deepgram's live API (`/v1/listen`) message for message, every message checked against the SDK's own types
 * (@deepgram/sdk 5.13.0, `Deepgram.listen.v1.*`): `Authorization: Token KEY` checked at the upgrade (401 otherwise);
 * `Results` with `is_final`/`speech_final`/`from_finalize` and word objects, `SpeechStarted`, `UtteranceEnd`,
 * `Metadata` after CloseStream, KeepAlive accepted, and the connection closed with 1011 (NET-0001) when no audio or
 * KeepAlive came for `idleTimeoutMs` (10 s at Deepgram). Where the held-out stand-ins found the service differs from a
 * naive reading, this one does as the service does:
 * - interim results come about once a second of audio, not with every partial of the recognizer;
 * - a long utterance is finalised in `is_final` pieces one at a time (`speech_final: false`), the last piece with
 *   `speech_final: true` at its end (a Finalize answers with `from_finalize: true`): as it goes with
 *   `piecesAsItGoes`, otherwise the final cut in two;
 * - a result's `start`/`duration` is the audio window since the last `is_final` result, not its words' span;
 * - with `punctuate=true` both `punctuated_word` and the `transcript` are punctuated and cased;
 * - silence brings empty results (`transcript: ""`, no words) about once a second;
 * - `UtteranceEnd` only when `utterance_end_ms` is set, and only once that much audio with no words followed the
 *   last word.
 */
export class FakeDeepgram extends FakeEngineServer {
  keepAlives = 0;
  finalizes = 0;
  idleTimeoutMs = 10_000;

  /**
   * Finalise a long utterance in pieces as it goes (as Deepgram does). The recognizer behind the stand-in rewrites
   * words it held for seconds in its final pass (Deepgram's pieces are as good as its finals), so pieces committed
   * from its interims cost accuracy that is the fixture's, not the adapter's: tests that measure accuracy cut the
   * final into two pieces instead (both are sent one at a time; the adapter must join them either way).
   */
  piecesAsItGoes = false;

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
    const query = url.searchParams;
    const punctuate = query.get('punctuate') === 'true';
    const diarize = query.get('diarize') === 'true';
    const utteranceEndS = query.has('utterance_end_ms') ? Number(query.get('utterance_end_ms')) / 1000 : undefined;
    const now = (): number => session.samples / 16_000;
    let utterance = 0;
    /** Where the audio window of the next result starts: the end of the last is_final result's window. */
    let windowStart = 0;
    /** Words of the utterance under way already sent in is_final pieces. */
    let finalized = 0;
    let lastInterimAt = -Infinity;
    let lastSilenceResultAt = 0;
    let speaking = false;
    const held = new StablePrefix();
    /** The end of the last word sent, while an UtteranceEnd may still be due for it. */
    let utteranceEndDueAfter: number | undefined;

    let idle: NodeJS.Timeout | undefined;
    const stillThere = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => ws.close(1011, 'Deepgram did not receive audio data or a text message within the timeout window. See https://dpgr.am/net0001'), this.idleTimeoutMs);
    };
    stillThere();
    ws.on('close', () => clearTimeout(idle));

    /** As Deepgram writes with punctuate=true: the utterance's first word cased, its last one with a full stop. */
    const written = (w: RecognizedWord, first: boolean, last: boolean): string => (punctuate ? `${first ? capitalized(w.word) : w.word}${last ? '.' : ''}` : w.word);
    const results = (words: RecognizedWord[], flags: { is_final: boolean; speech_final: boolean; from_finalize?: boolean }, offset: number): string => {
      const end = Math.max(now(), words.at(-1)?.end ?? 0);
      const shown = words.map((w, i): ResultWord => ({
        word: w.word,
        start: w.start,
        end: w.end,
        confidence: 0.9,
        punctuated_word: written(w, offset + i === 0, flags.speech_final && i === words.length - 1),
        ...(diarize ? { speaker: utterance % 2 } : {}),
      }));
      const message = {
        type: 'Results',
        channel_index: [0, 1],
        start: windowStart,
        duration: Math.max(0, end - windowStart),
        is_final: flags.is_final,
        speech_final: flags.speech_final,
        from_finalize: flags.from_finalize ?? false,
        channel: { alternatives: [{ transcript: shown.map((w) => (punctuate ? w.punctuated_word : w.word)).join(' '), confidence: 0.9, words: shown }] },
        metadata: { request_id: requestId, model_info: { name: 'general', version: '2024-01-01', arch: 'nova-3' }, model_uuid: randomUUID() },
      } satisfies Results;
      if (flags.is_final) windowStart = end;
      return JSON.stringify(message);
    };
    const utteranceEnd = (lastWordEnd: number): void =>
      ws.send(JSON.stringify({ type: 'UtteranceEnd', channel: [0, 1], last_word_end: lastWordEnd } satisfies Deepgram.listen.v1.ListenV1UtteranceEnd));

    const send = (events: SpeechEvent[], fromFinalize = false): void => {
      for (const event of events) {
        if (event.type === 'start_of_speech') {
          speaking = true;
          finalized = 0;
          held.reset();
          lastInterimAt = -Infinity;
          ws.send(JSON.stringify({ type: 'SpeechStarted', channel: [0], timestamp: event.time } satisfies Deepgram.listen.v1.ListenV1SpeechStarted));
        } else if (event.type === 'interim') {
          const words = event.words ?? [];
          // Words well behind the newest, and held for a while, are settled in a piece of their own, one at a time.
          const stable = Math.min(held.update(words.map((w) => w.word)), words.length - PIECE_KEEPS_BACK);
          if (this.piecesAsItGoes && stable - finalized >= PIECE_AFTER_WORDS) {
            const piece = words.slice(finalized, stable);
            ws.send(results(piece, { is_final: true, speech_final: false }, finalized));
            finalized += piece.length;
            lastInterimAt = now();
          } else if (now() - lastInterimAt >= INTERIM_EVERY_S && words.length > finalized) {
            ws.send(results(words.slice(finalized), { is_final: false, speech_final: false }, finalized));
            lastInterimAt = now();
          }
        } else if (event.type === 'final') {
          const rest = event.words.slice(finalized);
          if (!this.piecesAsItGoes && rest.length > 1) {
            const half = Math.ceil(rest.length / 2);
            ws.send(results(rest.slice(0, half), { is_final: true, speech_final: false }, finalized));
            finalized += half;
          }
          ws.send(results(event.words.slice(finalized), { is_final: true, speech_final: true, from_finalize: fromFinalize }, finalized));
          if (event.words.length > 0) utteranceEndDueAfter = event.words.at(-1)!.end;
          utterance += 1;
          finalized = 0;
          speaking = false;
          lastSilenceResultAt = now();
        }
      }
      // Silence: empty results now and then, and the UtteranceEnd once its gap has passed with no new word.
      if (!speaking && now() - lastSilenceResultAt >= SILENCE_RESULT_EVERY_S) {
        ws.send(results([], { is_final: true, speech_final: false }, 0));
        lastSilenceResultAt = now();
      }
      if (utteranceEndS !== undefined && utteranceEndDueAfter !== undefined && !speaking && now() - utteranceEndDueAfter >= utteranceEndS) {
        utteranceEnd(utteranceEndDueAfter);
        utteranceEndDueAfter = undefined;
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
        ws.send(
          JSON.stringify({
            type: 'Metadata',
            transaction_key: 'deprecated',
            request_id: requestId,
            sha256: '0'.repeat(64),
            created: new Date().toISOString(),
            duration: now(),
            channels: 1,
          } satisfies Deepgram.listen.v1.ListenV1Metadata),
        );
        ws.close(1000);
      }
    });
  }
}
