import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { PCM_SAMPLE_RATE, type AudioItem } from '../../../../src/audio.js';
import { WireStream, type WireLink, type WireReply, type WireSession } from '../../../../src/asr/remote/wire-stream.js';
import type { SpeechEvent } from '../../../../src/asr/types.js';
import { BridgeError } from '../../../../src/errors.js';
import { captureLogs } from '../../../helpers/log-capture.js';

const logs = captureLogs();

/**
 * A toy engine on a real WebSocket server, so the stream's own job is what is tested (not an adapter's protocol):
 * each half second of audio it receives is a final word "w<n>" timed on its connection's own timeline; "END" is
 * answered with {"done":true}. `behave` decides what a connection does (drop after some audio, refuse, stay silent).
 */
type Behaviour = { dropAfterSeconds?: number; refuseWith?: number; ignoreEnd?: boolean };
let server: WebSocketServer | undefined;
afterEach(async () => {
  for (const client of server?.clients ?? []) client.terminate();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

async function toyEngine(behave: (connection: number) => Behaviour): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => server!.once('listening', resolve));
  server.on('connection', (socket) => {
    const behaviour = behave(++connections);
    if (behaviour.refuseWith) return socket.close(behaviour.refuseWith, 'bad key');
    let samples = 0;
    let words = 0;
    let dropped = false;
    socket.on('message', (data, isBinary) => {
      if (dropped) return;
      if (!isBinary) {
        if (String(data) === 'END' && !behaviour.ignoreEnd) socket.send(JSON.stringify({ done: true }));
        return;
      }
      samples += (data as Buffer).length / 2;
      while ((words + 1) * 0.5 * PCM_SAMPLE_RATE <= samples) {
        socket.send(JSON.stringify({ word: `w${words + 1}`, start: words * 0.5, end: words * 0.5 + 0.4 }));
        words += 1;
      }
      // Gone as a server going down goes: what it said before reaches the client, then the connection ends.
      if (behaviour.dropAfterSeconds !== undefined && samples >= behaviour.dropAfterSeconds * PCM_SAMPLE_RATE) {
        dropped = true;
        socket.close(1011, 'going down');
      }
    });
  });
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
}

const session = (): WireSession => ({
  endMessage: 'END',
  onMessage(text): WireReply[] {
    const message = JSON.parse(text) as { word?: string; start: number; end: number; done?: boolean };
    if (message.done) return [{ kind: 'done' }];
    return [{ kind: 'final', text: message.word!, words: [{ word: message.word!, start: message.start, end: message.end }] }, { kind: 'utterance-end' }];
  },
});

function link(url: string, overrides: Partial<WireLink> = {}): WireLink {
  const connect = (): Promise<WebSocket> =>
    new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.once('open', () => resolve(socket));
      socket.once('error', (err) => reject(new BridgeError('ASR_ENGINE_FAILED', err.message)));
    });
  return {
    engine: 'toy',
    log: logs.log,
    policy: { reconnect: { initialMs: 10, attempts: 2, jitter: false }, connectTimeoutMs: 1_000, endTimeoutMs: 1_000 },
    chunkMs: 100,
    minChunkMs: 0,
    keepAliveMs: 60_000,
    connect,
    session,
    refusal: (code) => (code === 4001 ? new BridgeError('ASR_AUTH_FAILED', 'toy refused the key') : undefined),
    sent: () => undefined,
    expectsNewWords: () => false,
    ...overrides,
  };
}

/** `seconds` of audio in 100 ms chunks, twenty times faster than real time (a drop lands mid-stream). */
async function* audio(seconds: number): AsyncIterable<AudioItem> {
  for (let i = 0; i < seconds * 10; i++) {
    yield new Int16Array(PCM_SAMPLE_RATE / 10);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function run(linked: WireLink, seconds: number): Promise<{ finals: SpeechEvent[]; error?: BridgeError }> {
  const stream = new WireStream(linked, await linked.connect(), audio(seconds));
  const finals: SpeechEvent[] = [];
  try {
    for await (const event of stream.events) if (event.type === 'final') finals.push(event);
    return { finals };
  } catch (err) {
    return { finals, error: err as BridgeError };
  }
}

const timesOf = (finals: SpeechEvent[]): number[] => finals.flatMap((e) => (e.type === 'final' ? e.words.map((w) => w.start) : []));

describe('WireStream: one stream through a WebSocket engine', () => {
  it('ends with the engine\'s answer to the end message, every word in order on the stream\'s timeline', async () => {
    const engine = await toyEngine(() => ({}));
    const { finals, error } = await run(link(engine.url), 3);
    expect(error).toBeUndefined();
    expect(finals.map((e) => e.type === 'final' && e.text)).toEqual(['w1', 'w2', 'w3', 'w4', 'w5', 'w6']);
    expect(timesOf(finals)).toEqual([0, 0.5, 1, 1.5, 2, 2.5]);
  });

  it('reconnects when the engine drops mid-stream, and words after the drop keep their place in time', async () => {
    const engine = await toyEngine((n) => (n === 1 ? { dropAfterSeconds: 1 } : {}));
    const { finals, error } = await run(link(engine.url), 3);
    expect(error).toBeUndefined();
    expect(engine.connections()).toBe(2);
    const times = timesOf(finals);
    // The second connection's timeline starts where the first one's audio ended: its first word is not at 0 again.
    expect(times.slice(0, 2)).toEqual([0, 0.5]);
    expect(times.slice(2).every((t) => t >= 1)).toBe(true);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });

  it('a refusal close code ends the stream with that error, without reconnecting', async () => {
    const engine = await toyEngine((n) => (n === 1 ? { dropAfterSeconds: 0.5 } : { refuseWith: 4001 }));
    const { error } = await run(link(engine.url), 3);
    expect(error?.code).toBe('ASR_AUTH_FAILED');
    expect(error?.retryable).toBe(false);
    expect(engine.connections()).toBe(2);
  });

  it('fails retryable once the reconnect attempts are spent (a fallback engine takes over from there)', async () => {
    const engine = await toyEngine((n) => (n === 1 ? { dropAfterSeconds: 0.5 } : {}));
    const linked = link(engine.url);
    let attempts = 0;
    const failing = { ...linked, connect: () => (++attempts === 1 ? linked.connect() : Promise.reject(new BridgeError('ASR_ENGINE_FAILED', 'connection refused'))) };
    const { error } = await run(failing, 3);
    expect(error?.code).toBe('ASR_ENGINE_FAILED');
    expect(error?.retryable).toBe(true);
    expect(attempts).toBe(3);
  });

  it('an engine that never answers the end message is ended at endTimeoutMs, keeping what it said', async () => {
    const engine = await toyEngine(() => ({ ignoreEnd: true }));
    const { finals, error } = await run(link(engine.url, { policy: { reconnect: { initialMs: 10, attempts: 1 }, connectTimeoutMs: 1_000, endTimeoutMs: 200 } }), 1);
    expect(error).toBeUndefined();
    expect(finals).toHaveLength(2);
    expect(logs.text()).toContain('did not answer the end of the stream in time');
  });
});
