import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import { readWav } from '../../src/util/wav.js';
import { launchChromium } from '../helpers/browser.js';
import { FakeZoom } from '../helpers/fake-zoom.js';
import { concatSamples, librivoxClips, roomNoise } from '../helpers/speech.js';

/**
 * The browser capture page in real headless Chromium (Debian's), its microphone fed from a WAV file of real
 * speech, streaming through the page's AudioWorklet into a running daemon whose captions reach the local Zoom.
 */

describe('browser capture page', () => {
  let dir: string;
  let daemon: Daemon;
  let browser: Browser;
  const zoom = new FakeZoom();
  let base: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cb-capture-'));
    const speech = concatSamples([roomNoise(1), readWav(librivoxClips()[3]!.path).samples, roomNoise(3)]);
    await writeFile(join(dir, 'mic.raw'), Buffer.from(speech.buffer));
    execFileSync('sox', ['-D', '-t', 'raw', '-r', '16000', '-e', 'signed', '-b', '16', '-c', '1', join(dir, 'mic.raw'), join(dir, 'mic.wav')]);
    const captionUrl = await zoom.start();
    const config = parseConfig(
      `http: { host: 127.0.0.1, port: 0 }\nstate: { dir: ${dir}/state }\nmeetings:\n  - id: town-hall\n    source: { type: websocket, token: mic-token-0123456789 }\n    captions: [ { zoom: { url: "${captionUrl}" } } ]\n  - id: pushed\n    source: { type: rtmp-pull, url: "rtmp://127.0.0.1:9/live/x" }\n    captions: [ { stdout: {} } ]\n`,
      'capture.yaml',
      {},
    );
    daemon = await startDaemon(config, silentLogger);
    base = `http://127.0.0.1:${daemon.port}`;
    browser = await launchChromium(['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${join(dir, 'mic.wav')}`]);
  });
  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
    await zoom.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('streams the microphone to the meeting after the token is entered, with level and connection state shown', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    const response = await page.goto(`${base}/capture/town-hall`);
    expect(response!.headers()['content-security-policy']).toContain("script-src 'self'");
    await expect(page.locator('#meeting').textContent()).resolves.toBe('town-hall');
    await page.fill('#token', 'mic-token-0123456789');
    await page.click('#start');
    await page.waitForSelector('body[data-state="streaming"]', { timeout: 10_000 });
    // The meter moves with the voice.
    await page.waitForFunction(() => (document.getElementById('level') as HTMLMeterElement).value > 0.01, undefined, { timeout: 10_000 });
    await zoom.waitForCaptions(3, 30_000);
    await page.click('#stop');
    await page.waitForSelector('body[data-state="closed"]', { timeout: 15_000 });
    expect(await page.textContent('#detail')).toContain('1000');
    expect(zoom.text()).toMatch(/married|respectable/i);
    expect(zoom.violations).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('says when the token is wrong, and serves pages only for WebSocket meetings', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/capture/town-hall`);
    await page.fill('#token', 'not-the-token');
    await page.click('#start');
    await page.waitForSelector('body[data-state="closed"]', { timeout: 10_000 });
    expect(await page.textContent('#detail')).toContain('refused');
    await page.close();
    expect((await fetch(`${base}/capture/nobody`)).status).toBe(404);
    expect((await fetch(`${base}/capture/pushed`)).status).toBe(404);
    expect((await fetch(`${base}/capture/%E0%A4%A`)).status).toBe(404);
    const worklet = await fetch(`${base}/capture/worklet.js`);
    expect(worklet.headers.get('content-type')).toContain('text/javascript');
  });
});
