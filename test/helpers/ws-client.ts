import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';

export interface StreamOutcome {
  code: number;
  reason: string;
  messages: unknown[];
  /** Wall-clock ms when the first audio frame was sent: stream time zero. */
  startedAt: number;
}

export interface StreamOptions {
  token?: string;
  chunkMs?: number;
  /** Send at the pace of speech (a live microphone); otherwise as fast as the socket takes it. */
  realtime?: boolean;
  /** With realtime: this many seconds of audio per second (a paced test that keeps the engine in step, faster). */
  speed?: number;
  closeStream?: boolean;
  query?: string;
  headers?: Record<string, string>;
}

/** A real `ws` client that streams s16le samples like an audio mixer would, then sends CloseStream. */
export async function streamAudio(url: string, samples: Int16Array, options: StreamOptions = {}): Promise<StreamOutcome> {
  const { token, chunkMs = 100, realtime = true, speed = 1, closeStream = true } = options;
  const ws = new WebSocket(url, { headers: { ...options.headers, ...(token ? { Authorization: `Bearer ${token}` } : {}) } });
  const messages: unknown[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<{ code: number; reason: string }>((resolve, reject) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    ws.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.on('error', reject);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    closed.catch(reject);
  });
  const startedAt = Date.now();
  const step = (16_000 * chunkMs) / 1000;
  for (let i = 0; i < samples.length && ws.readyState === ws.OPEN; i += step) {
    const chunk = samples.subarray(i, i + step);
    ws.send(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    // Pace against the clock, not per chunk, so timer jitter does not accumulate.
    if (realtime) await sleep(Math.max(0, startedAt + ((i + step) / 16_000 / speed) * 1000 - Date.now()));
  }
  if (closeStream && ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: 'CloseStream' }));
  return { ...(await closed), messages, startedAt };
}

/** What the server answers to an upgrade it refuses: the HTTP status and body. */
export function refusedUpgrade(url: string, headers: Record<string, string> = {}, localAddress?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, ...(localAddress ? { localAddress } : {}) });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('open', () => {
      ws.terminate();
      reject(new Error('upgrade was accepted'));
    });
    ws.on('error', () => undefined);
  });
}
