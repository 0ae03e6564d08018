import type { WebSocket } from 'ws';
import type { SpeechEvent } from '../../src/asr/types.js';
import { FakeEngineServer, type EngineSession } from './fake-engine-server.js';

/**
 * vosk-server's WebSocket protocol exactly: config message without reply, one JSON reply per audio message,
 * `{"eof" : 1}` answered with the final result and a close. Stands in for a GPU box running vosk-server.
 */
export class FakeVoskServer extends FakeEngineServer {
  readonly configs: unknown[] = [];

  protected checkUpgrade(): number | undefined {
    return undefined;
  }

  protected serve(ws: WebSocket, session: EngineSession): void {
    let partial = '';
    const result = (events: SpeechEvent[]): string | undefined => {
      const final = events.find((e) => e.type === 'final');
      if (final?.type !== 'final') return undefined;
      partial = '';
      return JSON.stringify({ result: final.words.map((w) => ({ conf: 1, end: w.end, start: w.start, word: w.word })), text: final.text });
    };
    ws.on('message', (data, isBinary) => {
      if (!isBinary) {
        const text = String(data);
        if (text === '{"eof" : 1}') {
          ws.send(result(session.finish()) ?? JSON.stringify({ text: '' }));
          return ws.close();
        }
        if (text.includes('config')) this.configs.push(JSON.parse(text));
        return;
      }
      const events = session.audio(data as Buffer);
      if (!events) return;
      for (const event of events) if (event.type === 'interim') partial = event.text;
      ws.send(result(events) ?? JSON.stringify({ partial }));
    });
  }
}
