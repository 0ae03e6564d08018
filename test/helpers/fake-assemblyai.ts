import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { RecognizedWord, SpeechEvent } from '../../src/asr/types.js';
import { capitalized, FakeEngineServer, type EngineSession } from './fake-engine-server.js';
// Every message this stand-in sends is checked against AssemblyAI's own published types (assemblyai 4.41.5).
import type { BeginEvent, TerminationEvent, TurnEvent } from 'assemblyai';

/**
 * AssemblyAI Universal-Streaming v3 (`/v3/ws`) message for message: `Begin`, `Turn` objects whose `transcript`
 * holds the words already final and whose `words` carry ms times and `word_is_final`, a Turn with
 * `end_of_turn: true` and, with `format_turns=true`, the same turn again formatted (`turn_is_formatted`: casing, a
 * comma before a clause, a full stop or a question mark), `ForceEndpoint`, `Terminate` -> `Termination` and close
 * 1000. A wrong key closes with 1008;
 * a missing speech_model or an audio message outside 50-1000 ms closes with 3007, as the service does.
 */
export class FakeAssemblyAi extends FakeEngineServer {
  forceEndpoints = 0;
  /** Close the next session after this many audio messages with 3005 (its maximum duration reached). */
  expireNextAfter: number | undefined;
  /** Send each formatted copy late: after the next turn's first message (a race the protocol does not rule out). */
  formatLate = false;

  constructor(readonly apiKey = 'aai-test-key') {
    super();
  }

  protected checkUpgrade(): number | undefined {
    return undefined;
  }

  protected serve(ws: WebSocket, session: EngineSession, url: URL): void {
    if (this.requests.at(-1)!.headers.authorization !== this.apiKey) return ws.close(1008, 'Unauthorized connection: Invalid API key');
    if (!url.searchParams.get('speech_model')) return ws.close(3007, 'Invalid query: speech_model is required');
    const sampleRate = Number(url.searchParams.get('sample_rate') ?? 16_000);
    const formatTurns = url.searchParams.get('format_turns') === 'true';
    const startedAt = Date.now();
    let turnOrder = 0;
    let audioMessages = 0;
    const expireAfter = this.expireNextAfter;
    this.expireNextAfter = undefined;
    ws.send(JSON.stringify({ type: 'Begin', id: randomUUID(), expires_at: Math.floor(Date.now() / 1000) + 3 * 3600 } satisfies BeginEvent));
    const turn = (words: RecognizedWord[], endOfTurn: boolean): string => {
      const finalCount = endOfTurn ? words.length : Math.max(0, words.length - 1);
      const transcript = words.slice(0, finalCount).map((w) => w.word).join(' ');
      return JSON.stringify({
        turn_order: turnOrder,
        turn_is_formatted: false,
        end_of_turn: endOfTurn,
        transcript,
        end_of_turn_confidence: endOfTurn ? 0.9 : 0.01,
        words: words.map((w, i) => ({ start: Math.round(w.start * 1000), end: Math.round(w.end * 1000), text: w.word, confidence: 0.9, word_is_final: i < finalCount })),
        type: 'Turn',
      } satisfies TurnEvent);
    };
    const formattedTurn = (words: RecognizedWord[]): string => {
      const written = formatted(words.map((w) => w.word));
      return JSON.stringify({
        turn_order: turnOrder,
        turn_is_formatted: true,
        end_of_turn: true,
        transcript: written.join(' '),
        end_of_turn_confidence: 0.9,
        words: words.map((w, i) => ({ start: Math.round(w.start * 1000), end: Math.round(w.end * 1000), text: written[i]!, confidence: 0.9, word_is_final: true })),
        type: 'Turn',
      } satisfies TurnEvent);
    };
    let lateCopy: string | undefined;
    const send = (events: SpeechEvent[]): void => {
      for (const event of events) {
        if (event.type === 'interim') {
          ws.send(turn(event.words ?? [], false));
          if (lateCopy) ws.send(lateCopy);
          lateCopy = undefined;
        } else if (event.type === 'final') {
          ws.send(turn(event.words, true));
          if (formatTurns && this.formatLate) lateCopy = formattedTurn(event.words);
          else if (formatTurns) ws.send(formattedTurn(event.words));
          turnOrder += 1;
        }
      }
    };
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        const ms = ((data as Buffer).length / 2 / sampleRate) * 1000;
        if (ms < 50 || ms > 1000) return ws.close(3007, `Input duration violation: ${ms.toFixed(0)} ms. Expected between 50 and 1000 ms.`);
        if (expireAfter !== undefined && ++audioMessages > expireAfter) return ws.close(3005, 'Session expired: maximum session duration exceeded');
        const events = session.audio(data as Buffer);
        if (events) send(events);
        return;
      }
      const message = JSON.parse(String(data)) as { type?: string };
      if (message.type === 'ForceEndpoint') {
        this.forceEndpoints += 1;
        send(session.finish());
      } else if (message.type === 'Terminate') {
        send(session.finish());
        ws.send(JSON.stringify({ type: 'Termination', audio_duration_seconds: Math.round(session.samples / sampleRate), session_duration_seconds: Math.round((Date.now() - startedAt) / 1000) } satisfies TerminationEvent));
        ws.close(1000);
      }
    });
  }
}

const QUESTION_STARTS = new Set(['what', 'who', 'why', 'how', 'when', 'where', 'does', 'do', 'is', 'are', 'can', 'could', 'would']);

/** A formatter's written forms, word for word: a capital first word and "I", a comma before "and"/"but", the end mark. */
function formatted(words: readonly string[]): string[] {
  const out = words.map((word) => (word === 'i' ? 'I' : word));
  if (out.length === 0) return out;
  out[0] = capitalized(out[0]!);
  for (let i = 1; i < out.length - 1; i++) if (out[i + 1] === 'and' || out[i + 1] === 'but') out[i] += ',';
  out[out.length - 1] += QUESTION_STARTS.has(words[0]!) ? '?' : '.';
  return out;
}
