import { readdir, readFile } from 'node:fs/promises';
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
import { waitUntil } from '../helpers/wait.js';
import { streamAudio } from '../helpers/ws-client.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';

/** The operator console in real headless Chromium against a daemon captioning real speech into the strict Zoom stand-in. */
const ADMIN = 'console-admin-token-0123456789';
const clips = librivoxClips();
const clip = (i: number): Int16Array => concatSamples([roomNoise(0.4), readWav(clips[i]!.path).samples, roomNoise(1.2)]);

describe('operator console', () => {
  let dir: string;
  let daemon: Daemon;
  let browser: Browser;
  const zoom = new FakeZoom();
  let base: string;
  const stream = (samples: Int16Array, realtime = true): ReturnType<typeof streamAudio> =>
    streamAudio(`ws://127.0.0.1:${daemon.port}/ingest/stage`, samples, { token: 'stage-token', realtime });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cb-console-'));
    const captionUrl = await zoom.start();
    const config = parseConfig(
      `http: { host: 127.0.0.1, port: 0, adminToken: ${ADMIN} }\nstate: { dir: ${dir} }\nmeetings:\n  - id: stage\n    source: { type: websocket, token: stage-token }\n    captions: [ { zoom: { url: "${captionUrl}" } }, { page: { public: true } } ]\n`,
      'console.yaml',
      {},
    );
    daemon = await startDaemon(config, silentLogger);
    base = `http://127.0.0.1:${daemon.port}`;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
    await zoom.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('shows what the audience sees and steers the meeting; every action is logged in the archive with who did it', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    const response = await page.goto(`${base}/console`);
    expect(response!.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.fill('#token', ADMIN);
    await page.fill('#operator', 'Ada');
    await page.click('#signin button[type=submit]');
    await page.waitForSelector('.meeting[data-meeting="stage"]');
    await waitUntil(async () => (await page.textContent('#connection')) === 'live', { what: 'the console live' });

    // Live: the caption box shows Zoom's last POST; the transcript lists the POSTs; words appear as they are heard.
    const first = stream(clip(0));
    await waitUntil(async () => ((await page.textContent('.meeting .words .settled')) ?? '').length > 0 || ((await page.textContent('.meeting .words .interim')) ?? '').length > 0, { what: 'words shown while recognised' });
    expect((await first).code).toBe(1000);
    const last = zoom.accepted.at(-1)!.body;
    await waitUntil(async () => (await page.textContent('.meeting .caption-box')) === last, { what: 'the caption box showing the last POST' });
    await waitUntil(async () => (await page.locator('.meeting .transcript li').count()) === zoom.accepted.length, { what: 'one transcript line per POST' });
    expect(await page.textContent('.meeting .destinations tbody')).toContain(String(zoom.lastAcceptedSeq));
    // Any destination as its audience reads it: the archive's WebVTT got the same blocks, with their latency.
    const archiveOption = await page.locator('.meeting .destination-pick option', { hasText: '.vtt' }).getAttribute('value');
    await page.selectOption('.meeting .destination-pick', archiveOption!);
    await waitUntil(async () => (await page.textContent('.meeting .caption-box')) === last, { what: 'the archive\'s caption box' });
    expect(await page.locator('.meeting .transcript li').count()).toBe(zoom.accepted.length);
    expect(await page.textContent('.meeting .latency-now')).toMatch(/^now \d+\.\d s$/);
    await page.selectOption('.meeting .destination-pick', '0');

    // Type a caption: it goes out at once on the same sender, next seq.
    const seqBefore = zoom.lastAcceptedSeq;
    await page.fill('.meeting .caption-text', '[music]');
    await page.click('.meeting .caption-form button');
    await waitUntil(() => zoom.accepted.at(-1)?.body === '[music]', { what: 'the typed caption at Zoom' });
    expect(zoom.lastAcceptedSeq).toBe(seqBefore + 1);

    // Off the record: nothing is transcribed or posted until resume.
    await page.click('.meeting .pause');
    await waitUntil(async () => /paused captions/.test((await page.textContent('.meeting .action-result')) ?? ''), { what: `pause confirmed (${await page.textContent('.meeting .action-result')})`, timeoutMs: 5_000 }).catch(async (err) => {
      throw new Error(`${(err as Error).message}; result: ${await page.textContent('.meeting .action-result')}`);
    });
    await page.waitForSelector('.meeting .paused:not([hidden])', { timeout: 5_000 }).catch(async (err) => {
      throw new Error(`${(err as Error).message}; connection: ${await page.textContent('#connection')}; errors: ${errors.join(' | ')}`);
    });
    const postsWhilePaused = zoom.accepted.length;
    expect((await stream(clip(1), false)).code).toBe(1000);
    expect(zoom.accepted.length).toBe(postsWhilePaused);
    await page.click('.meeting .resume');
    await page.waitForSelector('.meeting .paused[hidden]', { state: 'attached' });

    // A replacement applies to the next captions.
    for (const [from, to] of [['married', 'WED'], ['respectable', 'RESPECTED']]) {
      await page.fill('.meeting .replace-from', from!);
      await page.fill('.meeting .replace-to', to!);
      await page.click('.meeting .replacement-form button');
      await waitUntil(async () => /replac/i.test((await page.textContent('.meeting .action-result')) ?? ''), { what: 'the replacement confirmed' });
    }
    const before = zoom.accepted.length;
    expect((await stream(clip(3), false)).code).toBe(1000);
    const after = zoom.accepted.slice(before).map((c) => c.body).join(' ');
    expect(after).toMatch(/WED|RESPECTED/);
    expect(after).not.toMatch(/married|respectable/);
    expect(zoom.violations).toEqual([]);

    // CONSOLE_SCREENSHOTS=dir keeps what the operator saw, for a person to look at.
    const shots = process.env.CONSOLE_SCREENSHOTS;
    if (shots) await page.screenshot({ path: join(shots, 'console-1280x720.png') });
    // Works on a phone: nothing wider than the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    if (shots) await page.screenshot({ path: join(shots, 'console-phone.png'), fullPage: true });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(errors).toEqual([]);

    // Every action is in the meeting's archive as a NOTE, with who and when.
    const archive = join(dir, 'transcripts', 'stage');
    const vtt = await readFile(join(archive, (await readdir(archive)).find((name) => name.endsWith('.vtt'))!), 'utf8');
    for (const what of ['sent a caption: [music]', 'paused captions', 'resumed captions', 'replacement "married" -> "WED"']) {
      expect(vtt).toMatch(new RegExp(`NOTE console \\d{4}-\\d\\d-\\d\\dT[^ ]+ Ada \\(127\\.0\\.0\\.1\\) ${what.replace(/[[\]().*+?^$|\\]/g, '\\$&')}`));
    }
  });

  it("a captioner at the desk: captions held 8 s, split, put right and dropped with the keyboard before they go out; a second console takes the pen; nothing lost or doubled", async () => {
    const signIn = async (name: string) => {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`${base}/console`);
      await page.fill('#token', ADMIN);
      await page.fill('#operator', name);
      await page.click('#signin button[type=submit]');
      await page.waitForSelector('.meeting[data-meeting="stage"]');
      return page;
    };
    const ada = await signIn('Ada');
    const ben = await signIn('Ben');
    // Long enough for a scripted captioner's keystrokes on a busy CI machine; a person would set 2-4 s.
    await ada.fill('.meeting .hold-ms', '8000');
    await ada.click('.meeting .hold-form button');
    await waitUntil(async () => /holds each caption 8000 ms/.test((await ada.textContent('.meeting .action-result')) ?? ''), { what: 'the hold set' });
    await ben.click('.meeting .take-pen');
    await waitUntil(async () => (await ada.textContent('.meeting .pen')) === 'Ben (127.0.0.1) holds the pen.', { what: 'Ada sees who holds the pen' });
    // Ada takes the pen over from Ben (the console shows who holds it; taking it is one click, seen by all).
    await ada.click('.meeting .take-pen');
    await waitUntil(async () => (await ben.textContent('.meeting .pen')) === 'Ada (127.0.0.1) holds the pen.', { what: 'Ben sees Ada took the pen' });

    const before = zoom.accepted.length;
    const seqBefore = zoom.lastAcceptedSeq;
    const talking = stream(clip(1));
    // The first held caption: Ada splits it after its first word (Ctrl+Enter at the cursor), puts the rest right with
    // the keyboard, and drops the next caption.
    const first = ada.locator('.meeting .held-text').first();
    await first.waitFor({ timeout: 20_000 });
    const whole = await first.inputValue();
    const firstWord = whole.split(' ')[0]!;
    await first.click();
    await first.press('Home');
    for (let i = 0; i < firstWord.length; i++) await first.press('ArrowRight');
    await first.press('Control+Enter');
    await waitUntil(async () => /split a caption/.test((await ada.textContent('.meeting .action-result')) ?? ''), { what: 'the split taken' });
    await waitUntil(async () => (await ada.locator('.meeting .held-text').first().inputValue()) === firstWord, { what: 'the split shown' });
    const rest = ada.locator('.meeting .held-text').nth(1);
    const heard = await rest.inputValue();
    const corrected = `CORRECTED ${heard.split(' ').slice(1).join(' ')}`.trim();
    await rest.click();
    await rest.fill(corrected);
    await rest.press('Enter');
    await waitUntil(async () => /corrected/.test((await ada.textContent('.meeting .action-result')) ?? ''), { what: 'the correction taken' });
    expect(zoom.accepted.slice(before).some((c) => c.body.includes('CORRECTED'))).toBe(false);
    const second = ada.locator('.meeting .held-text').nth(2);
    let dropped: string | undefined;
    if (await second.count()) {
      dropped = await second.inputValue();
      await second.click();
      await second.press('Control+Delete');
      await waitUntil(async () => /dropped/.test((await ada.textContent('.meeting .action-result')) ?? ''), { what: 'the drop taken' });
    }
    // Ben cannot edit while Ada holds the pen: his list is read-only.
    expect(await ben.locator('.meeting .held-text').first().getAttribute('readonly')).not.toBeNull();
    await talking;
    await waitUntil(async () => (await ada.locator('.meeting .held-text').count()) === 0, { timeoutMs: 15_000, what: 'every held caption gone out' });
    await waitUntil(() => zoom.accepted.some((c) => c.body.replace(/\n/g, ' ') === corrected), { what: 'the correction at Zoom' });
    const sent = zoom.accepted.slice(before).map((c) => c.body.replace(/\n/g, ' '));
    // The split's first word went out alone, then the correction instead of what was heard; the dropped caption never
    // did; nothing twice; seq in order.
    expect(sent[sent.indexOf(corrected) - 1]).toBe(firstWord);
    expect(sent).toContain(corrected);
    expect(sent).not.toContain(heard);
    if (dropped) expect(sent).not.toContain(dropped);
    expect(new Set(sent).size).toBe(sent.length);
    expect(zoom.accepted.slice(before).map((c) => c.seq)).toEqual(sent.map((_, i) => seqBefore + 1 + i));
    expect(zoom.violations).toEqual([]);

    // A caption already sent, put right on the caption page: Zoom keeps what it showed; the page and its feed change.
    const sentItem = ada.locator('.meeting .sent-text').last();
    await sentItem.waitFor();
    const wasSent = await sentItem.inputValue();
    await sentItem.click();
    await sentItem.fill(`${wasSent} FIXED`);
    await sentItem.press('Enter');
    await waitUntil(async () => /corrected sent caption/.test((await ada.textContent('.meeting .action-result')) ?? ''), { what: 'the sent caption corrected' });
    const reader = await browser.newPage();
    await reader.goto(`${base}/captions/stage`);
    await reader.waitForSelector('.caption.corrected');
    expect(await reader.locator('.caption.corrected').last().textContent()).toBe(`${wasSent} FIXED`);
    expect(await reader.locator('.caption.corrected').last().getAttribute('title')).toBe('corrected by the captioner');
    expect(zoom.text()).not.toContain('FIXED');
    await reader.close();
    // The archive keeps the corrected words in the caption's own cue (WebVTT and its SRT twin), and a NOTE of what
    // the caption said before.
    const archive = join(dir, 'transcripts', 'stage');
    const newest = async (ext: string): Promise<string> => readFile(join(archive, (await readdir(archive)).filter((name) => name.endsWith(ext)).sort().at(-1)!), 'utf8');
    const cues = (file: string): string[] =>
      file.split('\n\n').filter((block) => block.includes(' --> ')).map((block) => block.split('\n').filter((line) => !line.includes(' --> ') && !/^\d+$/.test(line)).join(' ').replace(/^<v [^>]*>/, ''));
    await waitUntil(async () => (await newest('.vtt')).includes(`to "${wasSent} FIXED"`), { what: "the correction's NOTE in the archive" });
    expect(await newest('.vtt')).toContain(`corrected sent caption`);
    for (const ext of ['.vtt', '.srt']) {
      expect(cues(await newest(ext)), ext).toContain(`${wasSent} FIXED`);
      expect(cues(await newest(ext)), ext).not.toContain(wasSent);
    }
    await ada.fill('.meeting .hold-ms', '0');
    await ada.click('.meeting .hold-form button');
    await waitUntil(async () => /stopped holding/.test((await ada.textContent('.meeting .action-result')) ?? ''), { what: 'the hold off' });
    await Promise.all([ada.close(), ben.close()]);
  });

  it('needs the admin token for every request and refuses actions another site could forge', async () => {
    expect((await fetch(`${base}/console/api/events`)).status).toBe(401);
    expect((await fetch(`${base}/console/api/events`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const act = (headers: Record<string, string>, body = '{"action":"pause"}'): Promise<Response> =>
      fetch(`${base}/console/api/meetings/stage/actions`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json', ...headers }, body });
    expect((await act({})).status).toBe(403); // a plain form post from another page cannot add the header
    expect((await act({ 'x-console-action': '1', origin: 'https://evil.example' })).status).toBe(403);
    expect((await act({ 'x-console-action': '1' }, '{"action":"explode"}')).status).toBe(400);
    expect((await act({ 'x-console-action': '1' }, 'not json')).status).toBe(400);
    const resume = await act({ 'x-console-action': '1' }, '{"action":"resume"}');
    expect(resume.status).toBe(200);
    expect((await fetch(`${base}/console/api/meetings/nobody/actions`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'x-console-action': '1' }, body: '{"action":"pause"}' })).status).toBe(404);
  });
});
