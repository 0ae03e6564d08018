import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { DEFAULT_MODEL_DIR, PocketsphinxDecoder } from '../../src/asr/pocketsphinx/binding.js';

/**
 * A recognizer server speaking vosk-server's WebSocket protocol exactly, with real recognition behind it (the
 * embedded pocketsphinx decoder): config message without reply, one JSON reply per audio message, `{"eof" : 1}`
 * answered with the final result and a close. Stands in for a GPU box running vosk-server.
 */
export class FakeVoskServer {
  private wss: WebSocketServer | undefined;
  readonly configs: unknown[] = [];
  connections = 0;
  /** Drop every connection after this many audio messages (a crashing server). */
  dropAfter = Infinity;

  async start(): Promise<string> {
    this.wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => this.wss!.once('listening', resolve));
    this.wss.on('connection', (ws) => {
      this.connections += 1;
      const decoder = new PocketsphinxDecoder({ modelDir: DEFAULT_MODEL_DIR, endpointSilenceMs: 500, partialIntervalMs: 100, maxUtteranceMs: 20_000 });
      let partial = '';
      let messages = 0;
      const result = (events: ReturnType<PocketsphinxDecoder['process']>): string | undefined => {
        const final = events.find((e) => e.type === 'final');
        if (final?.type !== 'final') return undefined;
        partial = '';
        return JSON.stringify({ result: final.words.map((w) => ({ conf: 1, end: w.end, start: w.start, word: w.word })), text: final.text });
      };
      ws.on('message', (data, isBinary) => {
        if (!isBinary) {
          const text = String(data);
          if (text === '{"eof" : 1}') {
            ws.send(result(decoder.finish()) ?? JSON.stringify({ text: '' }));
            decoder.free();
            return ws.close();
          }
          if (text.includes('config')) return void this.configs.push(JSON.parse(text));
          return;
        }
        if (++messages > this.dropAfter) return ws.terminate();
        const bytes = data as Buffer;
        const samples = new Int16Array(bytes.length / 2);
        for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(i * 2);
        const events = decoder.process(samples);
        for (const event of events) if (event.type === 'interim') partial = event.text;
        ws.send(result(events) ?? JSON.stringify({ partial }));
      });
    });
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const client of this.wss?.clients ?? []) client.terminate();
    await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
  }
}
