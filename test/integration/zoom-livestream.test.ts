import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { readWav } from '../../src/util/wav.js';
import { stopAfterTest, tempDirForTest } from '../helpers/cleanup.js';
import { freePort } from '../helpers/daemon-process.js';
import { FakeZoom } from '../helpers/fake-zoom.js';
import { FakeZoomApi, sendWebhook } from '../helpers/fake-zoom-api.js';
import { captureLogs } from '../helpers/log-capture.js';
import { publishRtmp } from '../helpers/rtmp-publish.js';
import { concatSamples, librivoxClips, roomNoise } from '../helpers/speech.js';
import { waitUntil } from '../helpers/wait.js';
import { streamAudio } from '../helpers/ws-client.js';

const MEETING = '123456789';
/** A live-streamed meeting whose captions go to stdout only: no Zoom destination names it. */
const LECTURE = '555555555';
const STAFF = '777888999';
const WEBHOOK_SECRET = 'livestream-webhook-secret';
const clips = librivoxClips();

describe('audio straight from Zoom: custom live streaming to the bridge', () => {
  let api: FakeZoomApi;
  let zoom: FakeZoom;
  let sideZoom: FakeZoom;
  let daemon: Daemon;
  let rtmpPort: number;
  let logs: ReturnType<typeof captureLogs>;
  /** What "Zoom's cloud" pushed when the bridge started the live stream. */
  let pushes: { url: string; key: string; done: Promise<{ code: number | null; stderr: string }> }[];

  beforeEach(async () => {
    logs = captureLogs('info');
    api = new FakeZoomApi();
    api.scopes.push('meeting:update:livestream:admin', 'meeting:update:livestream_status:admin');
    zoom = new FakeZoom();
    sideZoom = new FakeZoom();
    pushes = [];
    api.onLivestreamStart = (_id, url, key) => pushes.push({ url, key, done: publishRtmp(`${url}/${key}`, clips[3]!.path) });
    const bases = await api.start();
    const captionUrl = await zoom.start();
    const sideUrl = await sideZoom.start();
    api.meetings.set(MEETING, { started: false, captionUrl: () => captionUrl });
    api.meetings.set(LECTURE, { started: false, captionUrl: () => captionUrl });
    rtmpPort = await freePort();
    const dir = await tempDirForTest('cb-livestream-');
    const config = parseConfig(
      `http: { host: 127.0.0.1, port: 0, adminToken: admin-token-0123456789 }
rtmp: { host: 127.0.0.1, port: ${rtmpPort} }
state: { dir: ${dir} }
zoomApi: { accountId: ${api.accountId}, clientId: ${api.clientId}, clientSecret: ${api.clientSecret}, webhookSecret: ${WEBHOOK_SECRET}, apiBase: "${bases.apiBase}", oauthBase: "${bases.oauthBase}" }
accountMeetings: { source: { type: zoom-livestream, rtmpUrl: "rtmp://127.0.0.1:${rtmpPort}/live" }, ids: ["${STAFF}"], archive: false }
meetings:
  - id: townhall
    source: { type: zoom-livestream, meetingId: "${MEETING}", rtmpUrl: "rtmp://127.0.0.1:${rtmpPort}/live" }
    captions: [ { zoom: { meetingId: "${MEETING}" } } ]
  - id: lecture
    source: { type: zoom-livestream, meetingId: "${LECTURE}", rtmpUrl: "rtmp://127.0.0.1:${rtmpPort}/live" }
    captions: [ { stdout: {} } ]
  - id: side
    source: { type: websocket, token: side-token }
    captions: [ { zoom: { url: "${sideUrl}" } } ]
`,
      'livestream.yaml',
      {},
    );
    daemon = await startDaemon(config, logs.log);
  });
  afterEach(async () => {
    await daemon.stop();
    await Promise.all([zoom.stop(), sideZoom.stop(), api.stop()]);
  });

  const webhook = (event: string, id = MEETING): Promise<Response> => sendWebhook(daemon.port, WEBHOOK_SECRET, event, { object: { id: Number(id), uuid: `instance-${id}` } });

  it('meeting.started points the live stream at the bridge with a fresh key; its audio is captioned; meeting.ended stops it and the key dies', async () => {
    // Before the meeting starts the bridge tried once and was told to wait.
    await waitUntil(() => logs.text().includes('its live stream starts when Zoom says it has'), { what: 'the early attempt' });
    expect(pushes).toEqual([]);
    api.meetings.get(MEETING)!.started = true;
    expect((await webhook('meeting.started')).status).toBe(200);
    await waitUntil(() => pushes.length === 1, { what: 'Zoom pushing the meeting' });
    const { url, key, done } = pushes[0]!;
    expect(url).toBe(`rtmp://127.0.0.1:${rtmpPort}/live`);
    expect(key).toMatch(/^[0-9a-f]{48}$/);
    expect(api.livestreams.get(MEETING)).toMatchObject({ stream_url: url, stream_key: key, page_url: 'https://127.0.0.1/' });
    expect((await done).code).toBe(0);
    await waitUntil(() => /married|respectable/i.test(zoom.text()), { what: 'the pushed speech captioned' });

    let stopped = false;
    api.onLivestreamStop = () => (stopped = true);
    expect((await webhook('meeting.ended')).status).toBe(200);
    await waitUntil(() => stopped, { what: 'the live stream stopped' });
    // The key was for that meeting only: a push with it now is refused.
    const late = await publishRtmp(`${url}/${key}`, clips[1]!.path);
    expect(late.code).not.toBe(0);
    expect(zoom.violations).toEqual([]);
    expect(logs.text()).not.toContain(key);
  });

  it('without RTMS, a meeting of the account that nobody listed is made when it starts, streamed to the bridge, and removed when it ends', async () => {
    const staffZoom = stopAfterTest(new FakeZoom());
    const staffUrl = await staffZoom.start();
    api.meetings.set(STAFF, { started: true, captionUrl: () => staffUrl });
    expect((await webhook('meeting.started', STAFF)).status).toBe(200);
    await waitUntil(() => pushes.length === 1, { what: 'Zoom pushing the staff meeting' });
    expect(daemon.meetings.map((m) => m.id)).toContain(`zoom-${STAFF}`);
    expect((await pushes[0]!.done).code).toBe(0);
    await waitUntil(() => /married|respectable/i.test(staffZoom.text()), { what: 'the pushed speech captioned' });
    let stopped = false;
    api.onLivestreamStop = () => (stopped = true);
    expect((await webhook('meeting.ended', STAFF)).status).toBe(200);
    await waitUntil(() => stopped && !daemon.meetings.some((m) => m.id === `zoom-${STAFF}`), { what: 'the live stream stopped and the meeting removed' });
    expect(staffZoom.violations).toEqual([]);
    expect(zoom.accepted).toEqual([]);
  });

  it('a live stream whose captions go elsewhere follows its meeting\'s webhooks; a repeated meeting.started keeps the key of the push under way', async () => {
    await waitUntil(() => logs.text().split('its live stream starts when Zoom says it has').length > 2, { what: 'the early attempts' });
    api.meetings.get(LECTURE)!.started = true;
    expect((await webhook('meeting.started', LECTURE)).status).toBe(200);
    await waitUntil(() => pushes.length === 1, { what: 'Zoom pushing the lecture' });
    const key = api.livestreams.get(LECTURE)!.stream_key;
    // Zoom retries the webhook while the push is under way.
    await Promise.all([webhook('meeting.started', LECTURE), webhook('meeting.started', LECTURE)]);
    expect((await pushes[0]!.done).code).toBe(0);
    expect(pushes).toHaveLength(1);
    expect(api.livestreams.get(LECTURE)!.stream_key).toBe(key);
    let stopped = false;
    api.onLivestreamStop = () => (stopped = true);
    await webhook('meeting.ended', LECTURE);
    await waitUntil(() => stopped, { what: 'the lecture stream stopped' });
  });

  it('a live stream Zoom refuses to start is one clear sentence in the log and in /meetings, and other meetings go on', async () => {
    api.meetings.get(MEETING)!.started = true;
    api.livestreamRefusal = { status: 400, code: 4400, message: 'End-to-end encrypted meetings currently do not support the livestreaming feature.' };
    await webhook('meeting.started');
    const meetings = async (): Promise<{ id: string; sourceProblem?: string }[]> =>
      ((await (await fetch(`http://127.0.0.1:${daemon.port}/meetings`, { headers: { authorization: 'Bearer admin-token-0123456789' } })).json()) as { meetings: { id: string; sourceProblem?: string }[] }).meetings;
    await waitUntil(async () => (await meetings()).some((m) => m.sourceProblem !== undefined), { what: 'the problem shown' });
    const problem = (await meetings()).find((m) => m.id === 'townhall')!.sourceProblem!;
    expect(problem).toMatch(/^Zoom would not start the live stream to the bridge: .*End-to-end encrypted meetings currently do not support the livestreaming feature/);
    expect(problem).toContain('Custom Live Streaming Service');
    expect(pushes).toEqual([]);
    const speech = concatSamples([roomNoise(0.3), readWav(clips[0]!.path).samples, roomNoise(1)]);
    expect((await streamAudio(`ws://127.0.0.1:${daemon.port}/ingest/side`, speech, { token: 'side-token', realtime: false })).code).toBe(1000);
    expect(sideZoom.text()).toMatch(/leisure|consider/i);
  });
});
