import { it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { startDaemon } from '../src/daemon.js';
import { readWav } from '../src/util/wav.js';
import { tempDirForTest } from '../test/helpers/cleanup.js';
import { FakeRtms } from '../test/helpers/fake-rtms.js';
import { FakeZoom } from '../test/helpers/fake-zoom.js';
import { FakeZoomApi, sendWebhook } from '../test/helpers/fake-zoom-api.js';
import { captureLogs } from '../test/helpers/log-capture.js';
import { concatSamples, librivoxClips } from '../test/helpers/speech.js';
import { waitUntil } from '../test/helpers/wait.js';
import { report } from './report.js';

/**
 * An RTMS stream of continuous speech for minutes (BENCH_RTMS_SECONDS, default 180) against a stand-in that, as
 * Zoom's servers do, sends keep-alives only while no audio flows (every 10 s when idle). The bridge runs with its
 * default watchdog (65 s): a healthy stream must keep its first connection for the whole time.
 */
const SECONDS = Number(process.env.BENCH_RTMS_SECONDS ?? 180);
const MEETING = '123456789';
const SECRET = 'soak-webhook-secret';

it('rtms soak: continuous speech against a server that pings only when idle', async () => {
  const clips = librivoxClips().map((clip) => readWav(clip.path).samples);
  const rounds = Math.ceil(SECONDS / (clips.reduce((sum, c) => sum + c.length, 0) / 16_000));
  const speech = concatSamples(Array.from({ length: rounds }, () => clips).flat()).subarray(0, SECONDS * 16_000);
  const logs = captureLogs('info');
  const api = new FakeZoomApi();
  const zoom = new FakeZoom();
  const bases = await api.start();
  const captionUrl = await zoom.start();
  api.meetings.set(MEETING, { started: true, uuid: 'Pc3o/7lMTBaZ//vG0bIxdQ==', captionUrl: () => captionUrl });
  const dir = await tempDirForTest('cb-rtms-soak-');
  const config = parseConfig(
    `http: { host: 127.0.0.1, port: 0 }\nstate: { dir: ${dir} }\nzoomApi: { accountId: ${api.accountId}, clientId: ${api.clientId}, clientSecret: ${api.clientSecret}, webhookSecret: ${SECRET}, apiBase: "${bases.apiBase}", oauthBase: "${bases.oauthBase}", rtmsHosts: ["127.0.0.1"] }\nmeetings:\n  - id: soak\n    source: { type: zoom-rtms, meetingId: "${MEETING}" }\n    captions: [ { zoom: { meetingId: "${MEETING}" } } ]\n`,
    'soak.yaml',
    {},
  );
  const daemon = await startDaemon(config, logs.log);
  const rtms = new FakeRtms({ clientId: api.clientId, clientSecret: api.clientSecret }, speech, { keepAliveMs: 10_000, pingOnlyWhenIdle: true });
  const signalingUrl = await rtms.start();
  await sendWebhook(daemon.port, SECRET, 'meeting.rtms_started', { meeting_uuid: rtms.meetingUuid, rtms_stream_id: rtms.streamId, server_urls: signalingUrl });
  await waitUntil(() => rtms.finishedSpeech, { timeoutMs: (SECONDS + 60) * 1000, intervalMs: 1_000, what: 'all speech sent' });
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const redials = logs.text().split('reconnecting').length - 1;
  report('rtms-soak', [
    {
      'speech (s)': SECONDS,
      'keep-alives while speaking': 'none (idle only, every 10 s)',
      'signaling handshakes': rtms.counts.signaling,
      'audio handshakes': rtms.counts.media,
      'redials logged': redials,
      'frames lost (socket down)': Math.round(speech.length / 320) - rtms.counts.framesSent,
      'captions accepted': zoom.accepted.length,
    },
  ]);
  await daemon.stop();
  await rtms.stop();
  await Promise.all([zoom.stop(), api.stop()]);
});
