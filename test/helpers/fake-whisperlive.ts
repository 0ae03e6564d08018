import type { WebSocket } from 'ws';
import type { RecognizedWord, SpeechEvent } from '../../src/asr/types.js';
import { capitalized, FakeEngineServer, writtenSentence, type EngineSession } from './fake-engine-server.js';

interface ClientOptions {
  uid?: string;
  language?: string;
  model?: string;
  use_vad?: boolean;
  audio_format?: string;
  hotwords?: string;
  word_timestamps?: boolean;
  enable_diarization?: boolean;
}
interface Segment {
  start: string;
  end: string;
  text: string;
  completed: boolean;
  words?: { word: string; start: string; end: string; probability: number }[];
  speaker?: string;
}

/**
 * collabora/WhisperLive's server (whisper_live/server.py and backend/base.py at bde730b) message for message: the
 * first message is the client's JSON options (a uid is required), answered with `{uid, message: "SERVER_READY",
 * backend}`; audio frames are float32 samples at 16 kHz unless `audio_format` says int16; every transcription pass
 * sends `{uid, segments}` with the last `send_last_n_segments` (10) completed segments and the incomplete one being
 * heard, times as strings with three decimals, text with Whisper's leading space, cased and punctuated, and
 * `words` when `word_timestamps` was asked, a `speaker` on completed segments with `enable_diarization`; the binary frame `END_OF_AUDIO` ends the client: the server closes
 * without sending the incomplete segment again. With `full`, it answers `{uid, status: "WAIT", message: minutes}`
 * and closes, as a server at its client limit does; after `maxConnectionSeconds` of audio it says `DISCONNECT` and
 * closes, without settling the incomplete segment either.
 */
export class FakeWhisperLive extends FakeEngineServer {
  readonly clientOptions: ClientOptions[] = [];
  full = false;
  /** WhisperLive's max_connection_time (600 s by default): then it says DISCONNECT and closes. */
  maxConnectionSeconds = 600;

  protected checkUpgrade(): number | undefined {
    return undefined;
  }

  protected serve(ws: WebSocket, session: EngineSession): void {
    let options: ClientOptions | undefined;
    const completed: Segment[] = [];
    const three = (seconds: number): string => seconds.toFixed(3);
    const segment = (text: string, words: RecognizedWord[] | undefined, time: number, done: boolean): Segment => {
      const start = words?.[0]?.start ?? Math.max(0, time - 1);
      const end = words?.at(-1)?.end ?? time;
      // Whisper cases and punctuates what it is still hearing too; the end mark comes with the segment's end.
      const written = done ? writtenSentence(text) : capitalized(text);
      const tokens = written.split(' ');
      return {
        start: three(start),
        end: three(end),
        text: ` ${written}`,
        completed: done,
        ...(options?.word_timestamps && words && words.length === tokens.length
          ? { words: words.map((w, i) => ({ word: ` ${tokens[i]!}`, start: three(w.start), end: three(w.end), probability: 0.9 })) }
          : {}),
      };
    };
    const answer = (events: SpeechEvent[]): void => {
      for (const event of events) {
        let current: Segment | undefined;
        if (event.type === 'interim') current = segment(event.text, event.words, event.time, false);
        else if (event.type === 'final') {
          // With diarization each completed segment names its speaker: here two who take turns.
          const done = segment(event.text, event.words, event.time, true);
          completed.push(options?.enable_diarization ? { ...done, speaker: `SPEAKER_0${completed.length % 2}` } : done);
        }
        else continue;
        ws.send(JSON.stringify({ uid: options!.uid, segments: [...completed.slice(-10), ...(current ? [current] : [])] }));
      }
    };
    ws.on('message', (data, isBinary) => {
      if (!options) {
        try {
          options = JSON.parse(String(data)) as ClientOptions;
        } catch {
          return ws.close();
        }
        if (!options.uid || (options.audio_format && !['float32', 'int16', 'uint8'].includes(options.audio_format))) return ws.close();
        this.clientOptions.push(options);
        if (this.full) {
          ws.send(JSON.stringify({ uid: options.uid, status: 'WAIT', message: 4.5 }));
          return ws.close();
        }
        return ws.send(JSON.stringify({ uid: options.uid, message: 'SERVER_READY', backend: 'faster_whisper' }));
      }
      const bytes = data as Buffer;
      if (isBinary && bytes.toString() === 'END_OF_AUDIO') return ws.close();
      const events = session.audio(options.audio_format === 'int16' ? bytes : fromFloat32(bytes));
      if (events) answer(events);
      if (session.samples / 16_000 >= this.maxConnectionSeconds) {
        ws.send(JSON.stringify({ uid: options.uid, message: 'DISCONNECT' }));
        ws.close();
      }
    });
  }
}

function fromFloat32(bytes: Buffer): Buffer {
  const out = Buffer.alloc((bytes.length >> 2) * 2);
  for (let i = 0; i < out.length >> 1; i++) out.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(bytes.readFloatLE(i * 4) * 32768))), i * 2);
  return out;
}
