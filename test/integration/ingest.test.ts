import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import { readWav } from '../../src/util/wav.js';
import { FakeZoom } from '../helpers/fake-zoom.js';
import { concatSamples, librivoxClips, roomNoise } from '../helpers/speech.js';
import { refusedUpgrade, streamAudio } from '../helpers/ws-client.js';
import { waitUntil } from '../helpers/wait.js';

let zoom: FakeZoom;
let victimZoom: FakeZoom;
let dir: string;
let daemon: Daemon;
let base: string;
const clips = librivoxClips();
const sentence = concatSamples([roomNoise(0.5), readWav(clips[0]!.path).samples, roomNoise(1)]);

beforeAll(async () => {
  zoom = new FakeZoom();
  victimZoom = new FakeZoom();
  const [healthyUrl, victimUrl] = await Promise.all([zoom.start(), victimZoom.start()]);
  dir = await mkdtemp(join(tmpdir(), 'cb-ingest-'));
  const config = parseConfig(
    `http: { host: 127.0.0.1, port: 0 }
state: { dir: ${dir} }
meetings:
  - id: healthy
    source: { type: websocket, token: healthy-token }
    captions: [ { zoom: { url: "${healthyUrl}" } } ]
  - id: victim
    source: { type: websocket, token: victim-token, idleTimeoutMs: 1500 }
    captions: [ { zoom: { url: "${victimUrl}" } } ]
`,
    'test.yaml',
    {},
  );
  daemon = await startDaemon(config, silentLogger);
  base = `ws://127.0.0.1:${daemon.port}`;
});

afterAll(async () => {
  await daemon?.stop();
  await daemon?.stop();
  await Promise.all([zoom?.stop(), victimZoom?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

/** Opens a stream, sends some audio, then `then` (a bad frame); resolves with how the server closed it. */
async function misbehave(meeting: string, token: string, then: (ws: WebSocket) => void): Promise<{ code: number; reason: string }> {
  const ws = new WebSocket(`${base}/ingest/${meeting}`, { headers: { Authorization: `Bearer ${token}` } });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.send(Buffer.from(sentence.buffer, 0, 32_000));
  then(ws);
  return new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

describe('WebSocket ingest: bad input gets a clear answer and disturbs nothing else', () => {
  it('refuses bad requests with a status and reason while a healthy meeting keeps captioning', async () => {
    const healthy = streamAudio(`${base}/ingest/healthy`, sentence, { token: 'healthy-token' });

    const refusals = await Promise.all([
      refusedUpgrade(`${base}/ingest/healthy`, { Authorization: 'Bearer wrong' }),
      refusedUpgrade(`${base}/ingest/healthy`),
      refusedUpgrade(`${base}/ingest/victim`, { Authorization: 'Bearer healthy-token' }),
      refusedUpgrade(`${base}/ingest/nobody`, { Authorization: 'Bearer healthy-token' }),
      refusedUpgrade(`${base}/ingest/victim?encoding=mp3`, { Authorization: 'Bearer victim-token' }),
      refusedUpgrade(`${base}/ingest/victim?sample_rate=96000`, { Authorization: 'Bearer victim-token' }),
      refusedUpgrade(`${base}/ingest/victim?channels=6`, { Authorization: 'Bearer victim-token' }),
      refusedUpgrade(`${base}/elsewhere`),
      // A malformed %-escape in the meeting id once threw inside the upgrade handler and took the process down.
      refusedUpgrade(`${base}/ingest/%E0%A4%A`, { Authorization: 'Bearer victim-token' }),
    ]);
    expect(refusals.map((r) => r.status)).toEqual([401, 401, 401, 404, 400, 400, 400, 404, 400]);
    expect(refusals[3]!.body).toContain('unknown meeting "nobody"');
    expect(refusals[4]!.body).toContain('encoding "mp3"');

    const closes = [
      await misbehave('victim', 'victim-token', (ws) => ws.send('this is not json')),
      await misbehave('victim', 'victim-token', (ws) => ws.send(JSON.stringify({ type: 'Explode' }))),
      await misbehave('victim', 'victim-token', (ws) => ws.send(Buffer.alloc(2 * 1024 * 1024))),
    ];
    expect(closes.map((c) => c.code)).toEqual([1007, 1003, 1009]);
    expect(closes[0]!.reason).toContain('JSON control messages');
    expect(closes[1]!.reason).toContain('Explode');

    const outcome = await healthy;
    expect(outcome.code).toBe(1000);
    expect(zoom.accepted.length).toBeGreaterThan(2);
    expect(zoom.violations).toEqual([]);
    expect(victimZoom.violations).toEqual([]);
    // The victim meeting still takes a well-behaved stream afterwards.
    const again = await streamAudio(`${base}/ingest/victim`, sentence, { token: 'victim-token', realtime: false });
    expect(again.code).toBe(1000);
    expect(victimZoom.text()).toMatch(/dashwood/i);
  });

  it('closes a slow client that trickles a few bytes and then stalls, while another meeting streams on', async () => {
    const healthy = streamAudio(`${base}/ingest/healthy`, sentence, { token: 'healthy-token' });
    const ws = new WebSocket(`${base}/ingest/victim?token=victim-token`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    // Trickling for longer than the 1.5 s idle window keeps it open (each frame restarts the window) ...
    for (let i = 0; i < 7; i++) {
      expect(ws.readyState).toBe(WebSocket.OPEN);
      ws.send(Buffer.alloc(3));
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(ws.readyState).toBe(WebSocket.OPEN);
    // ... and then 1.5 s of nothing closes it.
    const { code, reason } = await closed;
    expect(code).toBe(4008);
    expect(reason).toContain('idle: nothing received for 1.5 s');
    expect((await healthy).code).toBe(1000);
    expect(zoom.violations).toEqual([]);
  });

  it('accepts audio frames that split samples (odd byte counts) without garbling them', async () => {
    const before = zoom.accepted.length;
    const ws = new WebSocket(`${base}/ingest/healthy?token=healthy-token`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const bytes = Buffer.from(sentence.buffer, sentence.byteOffset, sentence.byteLength);
    for (let i = 0; i < bytes.length; i += 333) ws.send(bytes.subarray(i, i + 333));
    ws.send(JSON.stringify({ type: 'CloseStream' }));
    const code = await new Promise((resolve) => ws.on('close', resolve));
    expect(code).toBe(1000);
    const text = zoom.accepted.slice(before).map((c) => c.body).join(' ');
    expect(text).toMatch(/leisure/i);
    expect(text).toMatch(/consider/i);
  });

  it('a newer publisher replaces the current one, whose audio so far is still captioned', async () => {
    const first = streamAudio(`${base}/ingest/healthy`, concatSamples([sentence, sentence, sentence]), { token: 'healthy-token' });
    await waitUntil(() => (daemon.meetings.find((m) => m.id === 'healthy')?.snapshot().stats.audioSeconds ?? 0) > 1, { what: 'the first publisher streaming' });
    const second = await streamAudio(`${base}/ingest/healthy`, sentence, { token: 'healthy-token', realtime: false });
    const replaced = await first;
    expect(replaced).toMatchObject({ code: 4009, reason: 'replaced by a newer publisher' });
    expect(second.code).toBe(1000);
    expect(zoom.violations).toEqual([]);
  });

  it('answers health and readiness, and a plain GET on an ingest path asks for an upgrade', async () => {
    const http = `http://127.0.0.1:${daemon.port}`;
    expect((await fetch(`${http}/healthz`)).status).toBe(200);
    const ready = await fetch(`${http}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', meetings: { healthy: expect.any(String), victim: expect.any(String) } });
    expect((await fetch(`${http}/ingest/healthy`)).status).toBe(426);
  });
});
