import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import { readWav } from '../../src/util/wav.js';
import { FakeZoom } from '../helpers/fake-zoom.js';
import { concatSamples, librivoxClips, roomNoise } from '../helpers/speech.js';
import { refusedUpgrade, streamAudio } from '../helpers/ws-client.js';

let dir: string;
let daemon: Daemon;
const zooms = { a: new FakeZoom(), b: new FakeZoom(), c: new FakeZoom() };
const urls: Record<string, string> = {};
const sentence = concatSamples([roomNoise(0.5), readWav(librivoxClips()[0]!.path).samples, roomNoise(1)]);

const meeting = (id: string, extra = ''): string =>
  `  - id: ${id}\n    source: { type: websocket, token: ${id}-token }\n    captions: [ { zoom: { url: "${urls[id]}" } } ]\n${extra}`;
const config = (meetings: string): ReturnType<typeof parseConfig> =>
  parseConfig(`log: { level: silent }\nhttp: { host: 127.0.0.1, port: 0, adminToken: admin-secret-1, metricsPort: 0 }\nstate: { dir: ${dir} }\nmeetings:\n${meetings}`, 'ops.yaml', {});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cb-ops-'));
  for (const [id, zoom] of Object.entries(zooms)) urls[id] = await zoom.start();
  daemon = await startDaemon(BASE(), silentLogger);
  // Every test starts from here: a and b configured, a with captions already delivered.
  expect((await streamAudio(`ws://127.0.0.1:${daemon.port}/ingest/a`, sentence, { token: 'a-token', realtime: false })).code).toBe(1000);
});
/** The config every test starts from and leaves behind. */
const BASE = (): ReturnType<typeof parseConfig> => config(meeting('a') + meeting('b'));
afterAll(async () => {
  await daemon.stop();
  await Promise.all(Object.values(zooms).map((z) => z.stop()));
  await rm(dir, { recursive: true, force: true });
});

const http = (path: string, token?: string): Promise<Response> =>
  fetch(`http://127.0.0.1:${daemon.port}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

describe('operating the daemon', () => {
  it('reloads the config while a meeting streams: it keeps streaming and its seq, others come and go', async () => {
    const base = `ws://127.0.0.1:${daemon.port}`;
    const firstA = zooms.a.lastAcceptedSeq;
    const running = streamAudio(`${base}/ingest/a`, concatSamples([sentence, sentence]), { token: 'a-token' });
    await zooms.a.waitForCaptions(firstA + 1); // captioning is under way when the reload comes
    const before = zooms.a.accepted.length;

    // b removed, c added, a untouched; a change in b's or c's settings would restart only that meeting.
    await daemon.reload(config(meeting('a') + meeting('c')));
    expect(daemon.meetings.map((m) => m.id).sort()).toEqual(['a', 'c']);
    expect((await refusedUpgrade(`${base}/ingest/b`, { Authorization: 'Bearer b-token' })).status).toBe(404);
    const toC = await streamAudio(`${base}/ingest/c`, sentence, { token: 'c-token', realtime: false });
    expect(toC.code).toBe(1000);
    expect(zooms.c.accepted.length).toBeGreaterThan(0);

    const outcome = await running;
    expect(outcome.code).toBe(1000); // never interrupted by the reload
    expect(before).toBeGreaterThan(firstA);
    expect(zooms.a.accepted.map((c) => c.seq)).toEqual(zooms.a.accepted.map((_, i) => i + 1));
    expect(zooms.a.violations).toEqual([]);
    await daemon.reload(BASE());
  });

  it('restarts a meeting whose settings changed, resuming its seq without reuse', async () => {
    const first = await streamAudio(`ws://127.0.0.1:${daemon.port}/ingest/b`, sentence, { token: 'b-token', realtime: false });
    expect(first.code).toBe(1000);
    const last = zooms.b.lastAcceptedSeq;
    expect(last).toBeGreaterThan(0);
    await daemon.reload(config(meeting('a') + meeting('b', '    text: { numbers: words }\n')));
    const again = await streamAudio(`ws://127.0.0.1:${daemon.port}/ingest/b`, sentence, { token: 'b-token', realtime: false });
    expect(again.code).toBe(1000);
    expect(zooms.b.accepted.filter((c) => c.seq > last)[0]?.seq).toBe(last + 1);
    expect(zooms.b.violations).toEqual([]);
    await daemon.reload(BASE());
  });

  it('exposes Prometheus metrics per meeting, with no caption URL in them', async () => {
    expect((await http('/metrics')).status).toBe(401);
    const response = await http('/metrics', 'admin-secret-1');
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toMatch(/caption_bridge_audio_seconds_total\{meeting="a"\} \d+/);
    expect(text).toMatch(/caption_bridge_captions_total\{meeting="a",destination="zoom:0",status="accepted"\} [1-9]/);
    expect(text).toMatch(/caption_bridge_zoom_seq\{meeting="a",destination="zoom:0"\} [1-9]/);
    expect(text).toMatch(/caption_bridge_word_latency_seconds_count\{meeting="a"\} [1-9]/);
    expect(text).toMatch(/caption_bridge_asr_cpu_seconds_total\{meeting="a"\} [0-9.]+/);
    expect(text).toContain('caption_bridge_zoom_clock_offset_seconds');
    for (const zoom of Object.values(zooms)) expect(text).not.toContain(zoom.query.signature);
    // The metrics port (for a scraper that must not hold the admin token): the same text with no token, and nothing else.
    const scraped = await fetch(`http://127.0.0.1:${daemon.metricsPort}/metrics`);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toMatch(/caption_bridge_audio_seconds_total\{meeting="a"\} \d+/);
    for (const path of ['/meetings', '/console', '/readyz']) expect((await fetch(`http://127.0.0.1:${daemon.metricsPort}${path}`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${daemon.metricsPort}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('adds and removes meetings at runtime through one owner while another streams, with no seq reused', async () => {
    const base = `ws://127.0.0.1:${daemon.port}`;
    const zoomD = new FakeZoom();
    urls.d = await zoomD.start();
    const settingsOf = (id: string) => config(meeting(id)).meetings[0]!;
    const firstA = zooms.a.lastAcceptedSeq;
    const running = streamAudio(`${base}/ingest/a`, concatSamples([sentence, sentence]), { token: 'a-token' });
    try {
      await daemon.addMeeting(settingsOf('d'));
      await expect(daemon.addMeeting(settingsOf('a'))).rejects.toThrow(/already running/);
      // d streams in real time; it is removed once its first captions are out: the stream ends after its last ones.
      const toD = streamAudio(`${base}/ingest/d`, concatSamples([sentence, sentence]), { token: 'd-token' });
      await zoomD.waitForCaptions(1);
      await daemon.removeMeeting('d');
      expect((await toD).code).toBe(1000);
      expect(daemon.meetings.map((m) => m.id)).not.toContain('d');
      expect((await refusedUpgrade(`${base}/ingest/d`, { Authorization: 'Bearer d-token' })).status).toBe(404);
      const lastD = zoomD.lastAcceptedSeq;
      expect(lastD).toBeGreaterThan(0);

      // Added again under the same id: it carries on from its saved seq.
      await daemon.addMeeting(settingsOf('d'));
      expect((await streamAudio(`${base}/ingest/d`, sentence, { token: 'd-token', realtime: false })).code).toBe(1000);
      expect(zoomD.accepted.filter((c) => c.seq > lastD)[0]?.seq).toBe(lastD + 1);
      expect(zoomD.violations).toEqual([]);
      expect(zoomD.gaps).toEqual([]);

      // The meeting that streamed all along never noticed.
      expect((await running).code).toBe(1000);
      const seqs = zooms.a.accepted.map((c) => c.seq).filter((seq) => seq > firstA);
      expect(seqs.length).toBeGreaterThan(0);
      expect(seqs).toEqual(seqs.map((_, i) => firstA + 1 + i));
    } finally {
      await daemon.removeMeeting('d');
      await zoomD.stop();
    }
  });

  it('a second daemon on a port in use fails its start with the reason, and its meetings starting meanwhile leave nothing behind', async () => {
    const stray: unknown[] = [];
    const onStray = (reason: unknown): void => void stray.push(reason);
    process.on('unhandledRejection', onStray);
    // An engine that is still connecting when the listener fails: it answers nothing, so its start is under way.
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const engineUrl = `ws://127.0.0.1:${(silent.address() as AddressInfo).port}/v1/listen`;
    try {
      const taken = parseConfig(
        `log: { level: silent }\nhttp: { host: 127.0.0.1, port: ${daemon.port} }\nstate: { dir: ${dir}/second }\nmeetings:\n` +
          `  - id: slow\n    source: { type: websocket, token: slow-token }\n    asr: { engine: deepgram, apiKey: k, url: "${engineUrl}" }\n    captions: [ { stdout: {} } ]\n`,
        'second.yaml',
        {},
      );
      await expect(startDaemon(taken, silentLogger)).rejects.toThrow(/EADDRINUSE/);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(stray).toEqual([]);
    } finally {
      process.off('unhandledRejection', onStray);
      silent.close();
    }
  });

  it('lists the meetings as JSON for an admin, and only for an admin', async () => {
    expect((await http('/meetings')).status).toBe(401);
    expect((await http('/meetings', 'wrong')).status).toBe(401);
    const body = (await (await http('/meetings', 'admin-secret-1')).json()) as { meetings: { id: string; state: string; destinations: { description: string; sender?: { lastSeq: number } }[] }[] };
    expect(body.meetings.map((m) => m.id).sort()).toEqual(['a', 'b']);
    const a = body.meetings.find((m) => m.id === 'a')!;
    expect(a.state).toBe('ready');
    expect(a.destinations[0]!.sender!.lastSeq).toBe(zooms.a.lastAcceptedSeq);
    expect(JSON.stringify(body)).not.toContain(zooms.a.query.signature);
  });
});
