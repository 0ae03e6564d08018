import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ZoomSink } from '../../../src/caption/zoom-sink.js';
import { ZoomApiClient } from '../../../src/zoom-api/client.js';
import { FakeZoom } from '../../helpers/fake-zoom.js';
import { FakeZoomApi } from '../../helpers/fake-zoom-api.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { waitUntil } from '../../helpers/wait.js';

const logs = captureLogs();
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const MEETING = '81234567890';
const caption = (text: string) => ({ text, words: text.split(' '), start: 0, end: 1, releasedAt: 0, spokenAt: 0, wordsSpokenAt: [] });

async function sinkOnApi(): Promise<{ sink: ZoomSink; zoom: FakeZoom; api: FakeZoomApi; signatures: string[] }> {
  const zoom = new FakeZoom();
  await zoom.start();
  const api = new FakeZoomApi();
  const bases = await api.start();
  const dir = await mkdtemp(join(tmpdir(), 'cb-zoom-sink-'));
  cleanups.push(() => zoom.stop(), () => api.stop(), () => rm(dir, { recursive: true, force: true }));
  // Every Caption URL the API hands out has a fresh signature, good for a second.
  const signatures: string[] = [];
  api.meetings.set(MEETING, {
    started: false,
    captionUrl: () => {
      const signature = `signature-${signatures.length + 1}`;
      signatures.push(signature);
      zoom.acceptedSignatures.add(signature);
      return zoom.captionUrl({ signature, expire: '1' });
    },
  });
  const client = new ZoomApiClient({ accountId: api.accountId, clientId: api.clientId, clientSecret: api.clientSecret, ...bases }, logs.log);
  const sink = new ZoomSink(
    { source: { target: { kind: 'meeting', id: MEETING }, api: client }, lang: 'en-US', stateDir: dir, requestTimeoutMs: 2_000, giveUpAfterMs: 5_000, maxLines: 2, maxUrlWaitMs: 10_000, minRenewMs: 200 },
    logs.log,
  );
  cleanups.push(() => sink.close());
  return { sink, zoom, api, signatures };
}

describe('ZoomSink: a Zoom destination whose Caption URL comes from the API', () => {
  it('holds a caption while the meeting has not started, says why, and posts it once meeting.started brings the URL', async () => {
    const { sink, zoom, api } = await sinkOnApi();
    await sink.start();
    const delivered = sink.deliver(caption('said before the host started the meeting'));
    await waitUntil(() => sink.status() !== undefined, { what: 'the reason shown' });
    expect(sink.status()).toMatch(/has not started/);
    api.meetings.get(MEETING)!.started = true;
    await sink.onZoomMeeting('started');
    expect(await delivered).toMatchObject({ status: 'accepted', seq: 1 });
    expect(sink.status()).toBeUndefined();
    expect(zoom.accepted.map((c) => c.body)).toEqual(['said before the host started the meeting']);
  });

  it('renews the URL before it expires and goes on with the seq on the new one', async () => {
    const { sink, zoom, api, signatures } = await sinkOnApi();
    api.meetings.get(MEETING)!.started = true;
    await sink.start();
    expect(await sink.deliver(caption('first'))).toMatchObject({ status: 'accepted', seq: 1 });
    await waitUntil(() => signatures.length >= 2, { what: 'the URL renewed' });
    // Only the new URL's signature is good from now on.
    zoom.acceptedSignatures.delete(signatures[0]!);
    expect(await sink.deliver(caption('second'))).toMatchObject({ status: 'accepted', seq: 2 });
    expect(zoom.accepted.map((c) => [c.seq, c.body])).toEqual([
      [1, 'first'],
      [2, 'second'],
    ]);
    expect(zoom.violations).toEqual([]);
  });
});
