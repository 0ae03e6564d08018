import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { get, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import { readWav } from '../../src/util/wav.js';
import { launchChromium } from '../helpers/browser.js';
import { FakeZoom } from '../helpers/fake-zoom.js';
import { concatSamples, librivoxClips, roomNoise } from '../helpers/speech.js';
import { refusedUpgrade, streamAudio } from '../helpers/ws-client.js';
import { waitUntil } from '../helpers/wait.js';

const VIEWER = 'viewer-token-0123456789abcdef';
const INGEST = 'ingest-token-0123456789abcdef';
const ADMIN = 'admin-token-0123456789abcdef';
const READERS = 500;

interface Caption {
  seq: number;
  text: string;
  start: number;
  end: number;
  at: number;
}

/** A reader of the server-sent events as a program would read them: every `caption` event, parsed. */
class EventReader {
  readonly captions: Caption[] = [];
  readonly events: string[] = [];
  status = 0;
  private response: IncomingMessage | undefined;

  constructor(url: string, headers: Record<string, string> = {}) {
    // agent: false: one socket per reader, as 500 phones would have.
    get(url, { headers, agent: false }, (res) => {
      this.response = res;
      this.status = res.statusCode ?? 0;
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (event) this.events.push(event);
          if (event === 'caption' && data) this.captions.push(JSON.parse(data) as Caption);
        }
      });
      res.on('error', () => undefined);
    }).on('error', () => undefined);
  }

  close(): void {
    this.response?.destroy();
  }
}

describe('the caption page and feed', () => {
  let dir: string;
  let zoom: FakeZoom;
  let daemon: Daemon;
  let http: string;
  const speech = concatSamples([roomNoise(0.5), ...librivoxClips().slice(0, 3).flatMap((clip, i) => [readWav(clip.path).samples, roomNoise(0.7, i + 2)])]);

  beforeAll(async () => {
    zoom = new FakeZoom();
    const captionUrl = await zoom.start();
    dir = await mkdtemp(join(tmpdir(), 'cb-page-'));
    const config = parseConfig(
      `http: { host: 127.0.0.1, port: 0, adminToken: ${ADMIN} }
state: { dir: ${dir} }
meetings:
  - id: talk
    source: { type: websocket, token: ${INGEST} }
    captions:
      - zoom: { url: "${captionUrl}" }
      - page: { token: ${VIEWER}, maxReaders: ${READERS + 10}, maxReadersPerAddress: ${READERS + 10} }
    archive: false
  - id: lobby
    source: { type: websocket, token: lobby-ingest-0123456789 }
    captions: [ { page: { public: true, maxReaders: 2, maxReadersPerAddress: 2 } } ]
    archive: false
`,
      'test.yaml',
      {},
    );
    daemon = await startDaemon(config, silentLogger);
    http = `http://127.0.0.1:${daemon.port}`;
  });

  afterAll(async () => {
    await daemon?.stop();
    await zoom?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it(`${READERS} readers and a WebSocket program get exactly the captions Zoom gets, in order; a late reader resumes after its last`, async () => {
    const readers = Array.from({ length: READERS }, () => new EventReader(`${http}/captions/talk/events`, { authorization: `Bearer ${VIEWER}` }));
    const program = new WebSocket(`ws://127.0.0.1:${daemon.port}/captions/talk/feed?token=${VIEWER}`);
    const programGot: (Caption & { type: string })[] = [];
    program.on('message', (data) => programGot.push(JSON.parse(String(data)) as Caption & { type: string }));
    await new Promise((resolve, reject) => program.once('open', resolve).once('error', reject));
    await waitUntil(() => readers.every((r) => r.status === 200), { timeoutMs: 15_000, what: `${READERS} readers connected` });

    const streamed = await streamAudio(`ws://127.0.0.1:${daemon.port}/ingest/talk`, speech, { token: INGEST, speed: 1.5 });
    expect(streamed.code).toBe(1000);
    const zoomSaw = zoom.accepted.map((c) => c.body);
    expect(zoomSaw.length).toBeGreaterThan(3);
    await waitUntil(() => readers.every((r) => r.captions.length === zoomSaw.length), { timeoutMs: 5_000, what: 'every reader has every caption' });
    for (const reader of readers) expect(reader.captions.map((c) => c.text)).toEqual(zoomSaw);
    const first = readers[0]!.captions;
    expect(first.map((c) => c.seq)).toEqual(zoomSaw.map((_, i) => i + 1));
    for (const [i, c] of first.entries()) {
      expect(c.end).toBeGreaterThanOrEqual(c.start);
      if (i > 0) expect(c.start).toBeGreaterThanOrEqual(first[i - 1]!.end - 0.01);
    }
    await waitUntil(() => programGot.length === zoomSaw.length, { timeoutMs: 5_000, what: 'the program has every caption' });
    expect(programGot.map((m) => [m.type, m.text])).toEqual(zoomSaw.map((text) => ['caption', text]));

    // A page that reconnects says what it had: it gets the rest only.
    const late = new EventReader(`${http}/captions/talk/events?after=2`, { authorization: `Bearer ${VIEWER}` });
    await waitUntil(() => late.captions.length === zoomSaw.length - 2, { timeoutMs: 5_000, what: 'the late reader catches up' });
    expect(late.captions.map((c) => c.seq)).toEqual(first.slice(2).map((c) => c.seq));
    for (const reader of [...readers, late]) reader.close();
    program.close();
    expect(zoom.violations).toEqual([]);
  });

  it('opens only with the viewer token (not the ingest or admin token), a public page without one, and says so beyond its cap', async () => {
    const status = async (path: string, token?: string): Promise<{ status: number; body: unknown }> => {
      const answer = await fetch(`${http}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
      const body = answer.headers.get('content-type')?.startsWith('application/json') ? await answer.json() : undefined;
      if (answer.body && body === undefined) await answer.body.cancel();
      return { status: answer.status, body };
    };
    expect(await status('/captions/talk/events')).toEqual({ status: 401, body: { error: 'this caption page needs its viewer token' } });
    expect((await status('/captions/talk/events', INGEST)).status).toBe(401);
    expect((await status('/captions/talk/events', ADMIN)).status).toBe(401);
    expect((await status('/captions/nobody/events', VIEWER)).status).toBe(404);
    expect(await refusedUpgrade(`ws://127.0.0.1:${daemon.port}/captions/talk/feed?token=${INGEST}`)).toMatchObject({ status: 401 });
    // The page itself is served to anyone: it asks for the token.
    expect((await status('/captions/talk')).status).toBe(200);

    const two = [new EventReader(`${http}/captions/lobby/events`), new EventReader(`${http}/captions/lobby/events`)];
    await waitUntil(() => two.every((r) => r.status === 200), { what: 'two public readers' });
    expect(await status('/captions/lobby/events')).toEqual({ status: 503, body: { error: 'this caption page has its 2 readers, the most the meeting allows: try again later' } });
    expect(await refusedUpgrade(`ws://127.0.0.1:${daemon.port}/captions/lobby/feed`)).toMatchObject({ status: 503 });
    two[0]!.close();
    await waitUntil(async () => (await status('/captions/lobby/events')).status === 200, { what: 'a place frees up when a reader leaves' });
    two[1]!.close();
  });

  it('reads well at phone, laptop and TV sizes in Chromium, with no serious accessibility problem; the OBS overlay shows the last lines on a transparent page', async () => {
    const shots = join(tmpdir(), 'caption-bridge-page-shots');
    await mkdir(shots, { recursive: true });
    const browser = await launchChromium();
    try {
      const talking = streamAudio(`ws://127.0.0.1:${daemon.port}/ingest/talk`, speech.subarray(0, 8 * 16_000), { token: INGEST, speed: 2 });
      for (const [size, viewport] of [['phone', { width: 390, height: 844 }], ['laptop', { width: 1366, height: 768 }], ['tv', { width: 1920, height: 1080 }]] as const) {
        const context = await browser.newContext({ viewport });
        const page = await context.newPage();
        await page.goto(`${http}/captions/talk#token=${VIEWER}`);
        await page.waitForSelector('.caption');
        expect(await page.locator('#status').textContent()).toBe('Live');
        // The token is not left in the address bar (a screen share would show it).
        expect(page.url()).not.toContain(VIEWER);
        // Larger text reflows the captions without a scroll event: a reader following live stays on the newest one.
        for (let i = 0; i < 4; i++) await page.getByRole('button', { name: 'Larger' }).click();
        const onNewest = (): Promise<boolean> => page.evaluate(() => {
          const box = document.getElementById('captions')!;
          return box.scrollHeight - box.scrollTop - box.clientHeight < 8;
        });
        expect(await onNewest(), `${size}: on the newest caption after Larger`).toBe(true);
        await page.setViewportSize({ width: Math.round(viewport.width * 0.6), height: Math.round(viewport.height * 0.6) });
        await waitUntil(onNewest, { timeoutMs: 2_000, what: `${size}: on the newest caption after the window shrank` });
        await page.setViewportSize(viewport);
        for (let i = 0; i < 3; i++) await page.getByRole('button', { name: 'Smaller' }).click();
        await page.getByLabel('Colours', { exact: true }).selectOption('contrast');
        expect(await page.evaluate(() => document.body.className)).toBe('theme-contrast');
        const audit = await new AxeBuilder({ page }).analyze();
        const serious = audit.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help}`);
        expect({ size, serious }).toEqual({ size, serious: [] });
        await page.screenshot({ path: join(shots, `${size}.png`) });
        await context.close();
      }
      const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
      // A theme this browser stored for the normal page (Light) must not turn the overlay's text dark over video.
      await context.addInitScript(() => localStorage.setItem('caption-page', JSON.stringify({ size: 3, theme: 'light' })));
      const overlay = await context.newPage();
      await overlay.goto(`${http}/captions/talk?overlay&lines=2#token=${VIEWER}`);
      await overlay.waitForSelector('.caption');
      await waitUntil(async () => (await overlay.locator('.caption').count()) === 2, { timeoutMs: 10_000, what: 'the overlay holds two lines' });
      expect(await overlay.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgba(0, 0, 0, 0)');
      expect(await overlay.evaluate(() => [...document.querySelectorAll('.caption')].map((c) => getComputedStyle(c).color))).toEqual(['rgb(255, 255, 255)', 'rgb(255, 255, 255)']);
      expect(await overlay.locator('header').isVisible()).toBe(false);
      await overlay.screenshot({ path: join(shots, 'overlay.png'), omitBackground: true });
      await context.close();
      await talking;
      console.log(`[page] screenshots in ${shots}`);
    } finally {
      await browser.close();
    }
  });
});
