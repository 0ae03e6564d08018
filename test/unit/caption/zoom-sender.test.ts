import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCaptionUrl } from '../../../src/caption/caption-url.js';
import { SeqStore } from '../../../src/caption/seq-store.js';
import { parseZoomTimestamp, ZoomCaptionSender, type ZoomSenderOptions } from '../../../src/caption/zoom-sender.js';
import { FakeZoom, type ZoomFault } from '../../helpers/fake-zoom.js';
import { captureLogs } from '../../helpers/log-capture.js';

let zoom: FakeZoom;
let stateDir: string;
const logs = captureLogs();

beforeEach(async () => {
  stateDir = await mkdtemp(join(tmpdir(), 'cb-sender-'));
});
afterEach(async () => {
  await zoom?.stop();
  await rm(stateDir, { recursive: true, force: true, maxRetries: 3 });
});

function sender(url: string, overrides: Partial<ZoomSenderOptions> = {}): ZoomCaptionSender {
  return new ZoomCaptionSender({
    url: parseCaptionUrl(url),
    lang: 'en-US',
    seqStore: new SeqStore(stateDir),
    log: logs.log,
    ...overrides,
  });
}

describe('ZoomCaptionSender', () => {
  it('posts captions in order with seq +1, lang, text/plain and every original parameter', async () => {
    zoom = new FakeZoom({ subconfid: 'breakout-7' });
    const s = sender(await zoom.start());
    const texts = Array.from({ length: 20 }, (_, i) => `caption number ${i + 1}\nsecond line ünïcode`);
    const results = await Promise.all(texts.map((t) => s.send(t)));

    expect(results.map((r) => r.status)).toEqual(texts.map(() => 'accepted'));
    expect(zoom.violations).toEqual([]);
    expect(zoom.accepted.map((c) => c.seq)).toEqual(texts.map((_, i) => i + 1));
    expect(zoom.accepted.map((c) => c.body)).toEqual(texts);
    expect(new Set(zoom.accepted.map((c) => c.lang))).toEqual(new Set(['en-US']));
    expect(s.stats.clockOffsetMs).toBeTypeOf('number');
    expect(Math.abs(s.stats.clockOffsetMs!)).toBeLessThan(1000);
  });

  it('survives every failing answer Zoom lists: retries reuse seq and body, nothing lost, doubled or reordered', async () => {
    zoom = new FakeZoom();
    const s = sender(await zoom.start(), { requestTimeoutMs: 300 });
    const faults: ZoomFault[] = [
      { kind: 'status', status: 500 },
      { kind: 'status', status: 408 },
      { kind: 'status', status: 400, body: 'The meeting has not started' },
      { kind: 'status', status: 403 },
      { kind: 'status', status: 405 },
      { kind: 'status', status: 502 },
      { kind: 'status', status: 503 },
      { kind: 'status', status: 504 },
      { kind: 'hang' },
      { kind: 'reset-before' },
      { kind: 'accept-then-reset' },
    ];
    // Each of the first eleven captions meets one fault, then succeeds on its retry.
    zoom.faults.push(...faults.flatMap((fault) => [fault, { kind: 'ok' as const }]));
    const texts = Array.from({ length: 12 }, (_, i) => `line ${i + 1}`);
    const results = await Promise.all(texts.map((t) => s.send(t)));

    expect(results.map((r) => r.status)).toEqual(texts.map(() => 'accepted'));
    expect(results.map((r) => r.attempts)).toEqual([...faults.map(() => 2), 1]);
    expect(zoom.violations).toEqual([]);
    expect(zoom.gaps).toEqual([]);
    expect(zoom.accepted.map((c) => c.body)).toEqual(texts);
    expect(zoom.accepted.map((c) => c.seq)).toEqual(texts.map((_, i) => i + 1));
    const postedSeqs = zoom.requests.filter((r) => r.method === 'POST').map((r) => r.seq);
    expect(postedSeqs).toEqual([...faults.flatMap((_, i) => [i + 1, i + 1]), 12]);
    expect(s.stats.retries).toBe(11);
  });

  it('gives one caption the whole budget: a run of failures is retried until Zoom answers', async () => {
    zoom = new FakeZoom();
    const s = sender(await zoom.start(), { random: () => 0.5 });
    zoom.faults.push(...Array.from({ length: 5 }, () => ({ kind: 'status' as const, status: 503 })));
    const result = await s.send('patience');
    expect(result).toMatchObject({ status: 'accepted', attempts: 6, seq: 1 });
    expect(zoom.violations).toEqual([]);
  });

  it('the caption answered by a reset after Zoom accepted it is retried with the same body, not doubled', async () => {
    zoom = new FakeZoom();
    const s = sender(await zoom.start());
    zoom.faults.push({ kind: 'accept-then-reset' }, { kind: 'ok' }, { kind: 'accept-then-reset' });
    const results = await Promise.all([s.send('one'), s.send('two')]);
    expect(results.map((r) => [r.seq, r.status, r.attempts])).toEqual([
      [1, 'accepted', 2],
      [2, 'accepted', 2],
    ]);
    expect(zoom.accepted.map((c) => [c.seq, c.body])).toEqual([
      [1, 'one'],
      [2, 'two'],
    ]);
    expect(zoom.violations).toEqual([]);
  });

  it('waits randomized binary exponential backoff between retries: [0..100], [0..200], [0..400] ms', async () => {
    zoom = new FakeZoom();
    const windows: number[] = [];
    let call = 0;
    // Always the top of each window, so the waits must be at least 100, 200, 400 ms.
    const s = sender(await zoom.start(), { random: () => (windows.push(++call), 1) });
    zoom.faults.push({ kind: 'status', status: 503 }, { kind: 'status', status: 503 }, { kind: 'status', status: 503 });
    const result = await s.send('after three failures');
    expect(result).toMatchObject({ status: 'accepted', attempts: 4, seq: 1 });
    const times = zoom.requests.filter((r) => r.method === 'POST').map((r) => r.at);
    const waits = times.slice(1).map((t, i) => t - times[i]!);
    expect(waits[0]).toBeGreaterThanOrEqual(99);
    expect(waits[1]).toBeGreaterThanOrEqual(199);
    expect(waits[2]).toBeGreaterThanOrEqual(399);
  });

  it('after a give-up, Zoom\'s GET seq decides: a caption Zoom never got goes out late under the same seq, joined to the next, with no gap', async () => {
    zoom = new FakeZoom();
    const s = sender(await zoom.start(), { giveUpAfterMs: 600, requestTimeoutMs: 200 });
    zoom.faults.push(...Array.from({ length: 12 }, () => ({ kind: 'status' as const, status: 503 })));
    const first = s.send('lost while Zoom was down');
    await new Promise((r) => setTimeout(r, 700)); // the first budget has run out by now
    const next = s.send('after recovery');
    const [a, b] = await Promise.all([first, next]);
    expect(s.stats.retryBudgetsSpent).toBeGreaterThanOrEqual(1);
    expect(a).toMatchObject({ status: 'accepted', seq: 1, carried: true });
    expect(b).toMatchObject({ status: 'accepted', seq: 1 });
    expect(zoom.accepted.map((c) => [c.seq, c.body])).toEqual([[1, 'lost while Zoom was down\nafter recovery']]);
    expect(zoom.gaps).toEqual([]);
    expect(zoom.violations).toEqual([]);
  });

  it('a caption whose answers were all lost is confirmed by GET seq, not sent twice', async () => {
    zoom = new FakeZoom();
    const s = sender(await zoom.start(), { giveUpAfterMs: 500, requestTimeoutMs: 150 });
    zoom.faults.push(...Array.from({ length: 20 }, () => ({ kind: 'accept-then-reset' as const })));
    const outcome = await s.send('heard, but the answer never came back');
    zoom.faults.length = 0;
    expect(outcome).toMatchObject({ status: 'accepted', seq: 1 });
    expect(s.stats).toMatchObject({ retryBudgetsSpent: 1, confirmedBySeq: 1, carried: 0, skipped: 0, unsent: 0 });
    expect((await s.send('next')).seq).toBe(2);
    expect(zoom.accepted.map((c) => c.body)).toEqual(['heard, but the answer never came back', 'next']);
    expect(zoom.violations).toEqual([]);
  });

  it('when Zoom cannot say (GET seq fails too), the same POST is retried unchanged until it is answered', async () => {
    zoom = new FakeZoom();
    const s = sender(await zoom.start(), { giveUpAfterMs: 400, requestTimeoutMs: 100 });
    await s.start();
    zoom.serveSeq = false;
    zoom.faults.push(...Array.from({ length: 8 }, () => ({ kind: 'accept-then-reset' as const })));
    const first = s.send('first');
    await new Promise((r) => setTimeout(r, 500));
    const second = s.send('second');
    expect(await first).toMatchObject({ status: 'accepted', seq: 1 });
    expect(await second).toMatchObject({ status: 'accepted', seq: 2 });
    // Zoom had the first POST all along: retried with the same body, never merged into another under seq 1.
    expect(zoom.accepted.map((c) => [c.seq, c.body])).toEqual([[1, 'first'], [2, 'second']]);
    expect(zoom.violations).toEqual([]);
  });

  it('during a long outage keeps the newest text: captions that waited too long are skipped and counted', async () => {
    zoom = new FakeZoom();
    const s = sender(await zoom.start(), { giveUpAfterMs: 300, requestTimeoutMs: 100, maxQueueDelayMs: 1_000 });
    await s.start();
    zoom.faults.push(...Array.from({ length: 1_000 }, () => ({ kind: 'status' as const, status: 503 })));
    const old = [s.send('one'), s.send('two')];
    await new Promise((r) => setTimeout(r, 1_500));
    zoom.faults.length = 0;
    const fresh = await s.send('three');
    expect(await Promise.all(old)).toMatchObject([{ status: 'skipped' }, { status: 'skipped' }]);
    expect(fresh).toMatchObject({ status: 'accepted', seq: 1 });
    expect(s.stats.skipped).toBe(2);
    expect(zoom.accepted.map((c) => c.body)).toEqual(['three']);
    expect(zoom.gaps).toEqual([]);
  });

  it('when Zoom is unreachable (GET seq too), every caption settles, and on its return the newest text goes out with no gap or reuse', async () => {
    zoom = new FakeZoom();
    const s = sender(await zoom.start(), { giveUpAfterMs: 300, requestTimeoutMs: 100, maxQueueDelayMs: 1_000 });
    await s.start();
    zoom.outage = { kind: 'reset' };
    const sentAt = Date.now();
    const during = [s.send('one'), s.send('two')];
    // Each one settles while Zoom is still down: the stream that sent them does not wait on the outage.
    const settled = await Promise.all(during.map((p) => p.then((r) => ({ ...r, afterMs: Date.now() - sentAt }))));
    expect(settled).toMatchObject([{ status: 'skipped' }, { status: 'skipped' }]);
    expect(Math.max(...settled.map((r) => r.afterMs))).toBeLessThan(3_000);
    expect(s.stats.skipped).toBe(2);
    await new Promise((r) => setTimeout(r, 500));
    zoom.outage = undefined;
    const back = Date.now();
    const fresh = await s.send('three');
    // The seq held by 'one' (which Zoom never got) goes to the newest text: no gap, and 'one' is not shown late.
    expect(fresh).toMatchObject({ status: 'accepted', seq: 1 });
    expect(Date.now() - back).toBeLessThan(3_000);
    expect(zoom.accepted.map((c) => c.body)).toEqual(['three']);
    expect(zoom.gaps).toEqual([]);
    expect(zoom.violations).toEqual([]);
  });

  it('a caption Zoom got while every answer was lost keeps its seq: the next caption takes the one after', async () => {
    zoom = new FakeZoom();
    const s = sender(await zoom.start(), { giveUpAfterMs: 300, requestTimeoutMs: 100, maxQueueDelayMs: 800 });
    await s.start();
    zoom.outage = { kind: 'hang', acceptDuring: true };
    expect(await s.send('heard in the dark')).toMatchObject({ status: 'skipped' });
    zoom.outage = undefined;
    expect(await s.send('after')).toMatchObject({ status: 'accepted', seq: 2 });
    expect(zoom.accepted.map((c) => [c.seq, c.body])).toEqual([[1, 'heard in the dark'], [2, 'after']]);
    expect(zoom.violations).toEqual([]);
    expect(zoom.gaps).toEqual([]);
  });

  it('closes within its budget while Zoom is down, counts what never reached it, and sends nothing afterwards', async () => {
    zoom = new FakeZoom();
    const s = sender(await zoom.start(), { giveUpAfterMs: 400, requestTimeoutMs: 150 });
    await s.start();
    zoom.outage = { kind: 'hang' };
    const pending = [s.send('a'), s.send('b')];
    await new Promise((r) => setTimeout(r, 300));
    const closingAt = Date.now();
    await s.close();
    expect(Date.now() - closingAt).toBeLessThan(1_000);
    expect(await Promise.all(pending)).toMatchObject([{ status: 'unsent' }, { status: 'unsent' }]);
    expect(await s.send('late')).toMatchObject({ status: 'unsent' });
    expect(s.stats.unsent).toBe(3);
    const requests = zoom.requests.length;
    await new Promise((r) => setTimeout(r, 1_200));
    expect(zoom.requests.length).toBe(requests);
  });

  it('closes at once when its deadline has passed', async () => {
    zoom = new FakeZoom();
    const s = sender(await zoom.start(), { giveUpAfterMs: 5_000, requestTimeoutMs: 2_500 });
    await s.start();
    zoom.outage = { kind: 'hang' };
    const pending = s.send('a');
    await new Promise((r) => setTimeout(r, 100));
    const closingAt = Date.now();
    await s.close(AbortSignal.abort());
    // Not its 5 s budget, nor the 2.5 s request in flight: a bound a busy machine cannot reach by being slow.
    expect(Date.now() - closingAt).toBeLessThan(2_000);
    expect(await pending).toMatchObject({ status: 'unsent' });
  });

  it('resumes from Zoom GET seq (else the state dir), so a restart neither reuses a seq nor leaves a gap', async () => {
    zoom = new FakeZoom();
    const url = await zoom.start();
    const first = sender(url);
    await first.send('a');
    await first.send('b');
    await first.close();
    await first.close();

    zoom.setLastSeq(15); // Zoom heard from another client meanwhile
    const second = sender(url);
    expect((await second.send('c')).seq).toBe(16);

    zoom.serveSeq = false; // Zoom does not answer GET seq: the state dir alone must carry it
    const third = sender(url);
    expect((await third.send('d')).seq).toBe(17);

    // A crash right after seq 18 was stored, before Zoom got it: Zoom says 17, so 18 is taken again, no gap.
    zoom.serveSeq = true;
    await new SeqStore(stateDir).write(parseCaptionUrl(url).stateKey, 18, 'test');
    const fourth = sender(url);
    expect((await fourth.send('e')).seq).toBe(18);
    expect(zoom.gaps).toEqual([]);
    expect(zoom.violations).toEqual([]);
  });

  it('never lets the signature reach the logs', async () => {
    zoom = new FakeZoom();
    const s = sender(await zoom.start(), { giveUpAfterMs: 300, requestTimeoutMs: 100, maxQueueDelayMs: 500 });
    zoom.faults.push(...Array.from({ length: 50 }, () => ({ kind: 'status' as const, status: 500, body: `echo ${zoom.captionUrl()}` })));
    expect(await s.send('x')).toMatchObject({ status: 'skipped' });
    expect(logs.text()).toContain('caption not delivered');
    expect(logs.text()).toContain('captions skipped: they never reached Zoom');
    expect(logs.text()).not.toContain(zoom.query.signature);
  });
});

describe('parseCaptionUrl', () => {
  it('rejects what is not an http(s) URL with a clear code', () => {
    expect(() => parseCaptionUrl('not a url')).toThrowError(expect.objectContaining({ code: 'CAPTION_URL_INVALID' }));
    expect(() => parseCaptionUrl('ftp://zoom.us/closedcaption?id=1')).toThrow(/http/);
  });

  it("says which signed part a Zoom Caption URL cut off while copying lacks, before any POST", () => {
    const whole = 'https://wmcc.zoom.us/closedcaption?id=200610693&ns=GZHkEA%3D%3D&expire=86400&sparams=id%2Cns%2Cexpire&signature=nYtXJqRKCW';
    expect(() => parseCaptionUrl(whole)).not.toThrow();
    expect(() => parseCaptionUrl(whole.slice(0, whole.indexOf('&signature')))).toThrow(/caption URL has no `signature`: it looks cut off/);
    expect(() => parseCaptionUrl(whole.slice(0, whole.indexOf('&expire')))).toThrow(/no `expire`, `sparams`, `signature`/);
    // A part the URL says it signs (sparams) but lacks.
    expect(() => parseCaptionUrl(`${whole.replace('sparams=id%2Cns%2Cexpire', 'sparams=id%2Cns%2Cexpire%2Csubconfid')}`)).toThrow(/no `subconfid`/);
    expect(() => parseCaptionUrl(whole.slice(0, whole.indexOf('&signature')))).toThrowError(expect.objectContaining({ code: 'CAPTION_URL_INVALID' }));
    // A local stand-in or another caption service is not held to Zoom's parts.
    expect(() => parseCaptionUrl('http://127.0.0.1:9/closedcaption?id=1')).not.toThrow();
  });

  it('replaces seq and lang but keeps every other parameter', () => {
    const url = parseCaptionUrl('https://wmcc.zoom.us/closedcaption?id=1&ns=bnM%3D&expire=86400&sparams=id%2Cns%2Cexpire&subconfid=abc&signature=s3cret&seq=9&lang=de-DE');
    const post = new URL(url.postUrl(42, 'en-US'));
    expect(Object.fromEntries(post.searchParams)).toEqual({ id: '1', ns: 'bnM=', expire: '86400', sparams: 'id,ns,expire', subconfid: 'abc', signature: 's3cret', seq: '42', lang: 'en-US' });
    expect(url.seqUrl()).toBe('https://wmcc.zoom.us/closedcaption/seq?id=1&ns=bnM%3D&expire=86400&sparams=id%2Cns%2Cexpire&subconfid=abc&signature=s3cret');
    expect(url.redacted).not.toContain('s3cret');
  });
});

describe('parseZoomTimestamp', () => {
  it('reads ISO with or without zone and epoch numbers', () => {
    expect(parseZoomTimestamp('2024-01-02T03:04:05.678')).toBe(Date.UTC(2024, 0, 2, 3, 4, 5, 678));
    expect(parseZoomTimestamp('2024-01-02T03:04:05.678Z')).toBe(Date.UTC(2024, 0, 2, 3, 4, 5, 678));
    expect(parseZoomTimestamp('1700000000')).toBe(1700000000000);
    expect(parseZoomTimestamp('garbage')).toBeUndefined();
  });
});
