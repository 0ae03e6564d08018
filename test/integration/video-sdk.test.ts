import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { readWav } from '../../src/util/wav.js';
import { VideoSdkApi } from '../../src/zoom-api/videosdk.js';
import { FakeRtms } from '../helpers/fake-rtms.js';
import { FakeVideoSdkApi } from '../helpers/fake-video-sdk-api.js';
import { sendWebhook } from '../helpers/fake-zoom-api.js';
import { captureLogs } from '../helpers/log-capture.js';
import { concatSamples, librivoxClips, roomNoise } from '../helpers/speech.js';
import { waitUntil } from '../helpers/wait.js';

const SDK = { key: 'video-sdk-key-0123', secret: 'video-sdk-secret-0123456789abcdef' };
const WEBHOOK_SECRET = 'video-sdk-webhook-secret';
const SESSION = { id: 'Xh5sB3vNTeGqL3t2m1Yw0g==', name: 'support-desk', stream: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' };
const PATH = '/zoom/videosdk/webhook';

/**
 * A Zoom Video SDK session captioned end to end: the session starts (webhook), the bridge starts the RTMS app in it
 * through the Video SDK API (stand-in verifying the JWT), Zoom streams it (session.rtms_started; the RTMS stand-in
 * checks the session handshake signed with the SDK key and secret), and the captions reach the caption page feed
 * and the archive. Sessions have no Caption URL.
 */
describe('Zoom Video SDK sessions', () => {
  let dir: string;
  let api: FakeVideoSdkApi;
  let apiBase: string;
  let rtms: FakeRtms;
  let daemon: Daemon;
  const logs = captureLogs('info');
  const speech = concatSamples([roomNoise(0.5), ...librivoxClips().slice(0, 2).flatMap((clip, i) => [readWav(clip.path).samples, roomNoise(0.8, i + 3)])]);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cb-videosdk-'));
    api = new FakeVideoSdkApi(SDK);
    apiBase = await api.start();
    rtms = new FakeRtms({ clientId: SDK.key, clientSecret: SDK.secret }, speech, { meetingUuid: SESSION.id, streamId: SESSION.stream, session: true });
    await rtms.start();
    // Zoom's part: once the app is started in the session, it announces the stream to the app's webhook.
    api.onStart = (sessionId) =>
      void sendWebhook(daemon.port, WEBHOOK_SECRET, 'session.rtms_started', { session_id: sessionId, session_key: 'desk-7', rtms_stream_id: SESSION.stream, server_urls: `${rtms.url}/signaling` }, PATH);
    const config = parseConfig(
      `http: { host: 127.0.0.1, port: 0 }
state: { dir: ${dir} }
videoSdk: { key: ${SDK.key}, secret: ${SDK.secret}, webhookSecret: ${WEBHOOK_SECRET}, apiBase: "${apiBase}", rtmsHosts: ["127.0.0.1"] }
meetings:
  - id: support
    source: { type: zoom-videosdk, sessionName: ${SESSION.name}, startRtms: true }
    captions: [ { page: { public: true } } ]
  - id: lobby
    source: { type: zoom-videosdk, sessionKey: lobby-key, startRtms: true }
    captions: [ { stdout: {} } ]
    archive: false
`,
      'test.yaml',
      {},
    );
    daemon = await startDaemon(config, logs.log);
  });

  afterAll(async () => {
    await daemon?.stop();
    await Promise.all([api?.stop(), rtms?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('a session that starts is streamed by the RTMS app the bridge starts, and captioned to the page and the archive', async () => {
    api.sessions.set(SESSION.id, { started: true, rtmsEnabled: true, appRunning: false });
    const answer = await sendWebhook(daemon.port, WEBHOOK_SECRET, 'session.started', { account_id: 'acc', object: { id: SESSION.id, session_id: SESSION.id, session_name: SESSION.name, session_key: 'desk-7' } }, PATH);
    expect(answer.status).toBe(200);
    await waitUntil(() => api.calls.length > 0, { what: 'the bridge asks the Video SDK API to start the RTMS app' });
    expect(api.calls[0]).toEqual({ sessionId: SESSION.id, action: 'start', issuer: SDK.key, status: 204 });

    // The page feed shows the session's captions as they come.
    const feed = await fetch(`http://127.0.0.1:${daemon.port}/captions/support/events`);
    expect(feed.status).toBe(200);
    const reader = feed.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    await waitUntil(async () => {
      const { value } = await reader.read();
      text += value ?? '';
      return (text.match(/event: caption/g) ?? []).length >= 3;
    }, { timeoutMs: 40_000, what: 'three captions of the session on its page' });
    await reader.cancel();
    expect(rtms.signalingRequests[0]).toMatchObject({ meeting_uuid: SESSION.id, session_id: SESSION.id, rtms_stream_id: SESSION.stream });
    expect(rtms.counts.signaling).toBe(1);

    await sendWebhook(daemon.port, WEBHOOK_SECRET, 'session.rtms_stopped', { session_id: SESSION.id, session_key: 'desk-7', rtms_stream_id: SESSION.stream, stop_reason: 6 }, PATH);
    await waitUntil(() => logs.text().includes('"meeting":"support"') && /stream ended/.test(logs.text()), { what: 'the session stream ends with its last captions' });
    const archive = join(dir, 'transcripts', 'support');
    const vtt = await readFile(join(archive, (await readdir(archive)).find((f) => f.endsWith('.vtt'))!), 'utf8');
    expect(vtt).toMatch(/-->/);
  });

  it('says in one sentence why the RTMS app cannot start: RTMS off for the account, a session not in progress, a wrong secret', async () => {
    api.sessions.set('lobby-session', { started: true, rtmsEnabled: false, appRunning: false });
    await sendWebhook(daemon.port, WEBHOOK_SECRET, 'session.started', { object: { id: 'lobby-session', session_name: 'Lobby', session_key: 'lobby-key' } }, PATH);
    await waitUntil(() => logs.text().includes('Realtime Media Streams is not enabled for this Video SDK account'), { what: 'the refusal in the log' });

    const sdkApi = new VideoSdkApi({ ...SDK, apiBase });
    await expect(sdkApi.setRtmsApp('no-such-session', 'start')).rejects.toMatchObject({ code: 'ZOOM_MEETING_NOT_STARTED', retryable: true, message: expect.stringContaining('session no-such-session is not in progress') });
    await expect(new VideoSdkApi({ key: SDK.key, secret: 'wrong-secret-0123456789', apiBase }).setRtmsApp(SESSION.id, 'start')).rejects.toMatchObject({
      code: 'ZOOM_API_AUTH',
      message: expect.stringContaining('check videoSdk.key and videoSdk.secret'),
    });
    api.sessions.set('idle-session', { started: true, rtmsEnabled: true, appRunning: false });
    await expect(sdkApi.setRtmsApp('idle-session', 'stop')).rejects.toMatchObject({ code: 'ZOOM_API_ERROR', message: expect.stringContaining('the RTMS app is not running in session idle-session') });
  });

  it('refuses session webhooks not signed with the Video SDK app secret, and ignores sessions nobody listed', async () => {
    const forged = await sendWebhook(daemon.port, 'the-meeting-app-secret', 'session.rtms_started', { session_id: 'x', rtms_stream_id: 'y', server_urls: 'ws://127.0.0.1:1/signaling' }, PATH);
    expect(forged.status).toBe(401);
    const before = api.calls.length;
    await sendWebhook(daemon.port, WEBHOOK_SECRET, 'session.started', { object: { id: 'other', session_name: 'someone-else' } }, PATH);
    await waitUntil(() => logs.text().includes('Video SDK webhook for no listed session: ignored'), { what: 'the unlisted session is ignored' });
    expect(api.calls.length).toBe(before);
  });
});
