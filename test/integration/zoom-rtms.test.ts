import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { rtmsSignature } from '../../src/zoom-api/rtms-protocol.js';
import { ZoomWebhookVerifier } from '../../src/zoom-api/webhook.js';
import { readWav } from '../../src/util/wav.js';
import { stopAfterTest, tempDirForTest } from '../helpers/cleanup.js';
import { FakeRtms, type TranscriptLine } from '../helpers/fake-rtms.js';
import { FakeDeepgram } from '../helpers/fake-deepgram.js';
import { FakeZoom } from '../helpers/fake-zoom.js';
import { FakeZoomApi, sendWebhook } from '../helpers/fake-zoom-api.js';
import { captureLogs } from '../helpers/log-capture.js';
import { concatSamples, librivoxClips, roomNoise } from '../helpers/speech.js';
import { waitUntil } from '../helpers/wait.js';
import { launchChromium } from '../helpers/browser.js';

const MEETING = '123456789';
const WEBHOOK_SECRET = 'rtms-webhook-secret';
const clips = librivoxClips();
const speech = concatSamples([roomNoise(0.5), readWav(clips[0]!.path).samples, roomNoise(1), readWav(clips[3]!.path).samples, roomNoise(1.5)]);

describe('the reference test vector', () => {
  it('signs the RTMS handshake as Zoom specifies: HMAC-SHA256(secret, "client_id,meeting_uuid,stream_id") in hex', () => {
    expect(rtmsSignature({ clientId: 'test_client_id', clientSecret: 'test_client_secret' }, '4444AAAiAAAAAiAiAiiAii==', '609340fb2a7946909659956c8aa9250c')).toBe(
      'ffc60552adabeb2482fdaa7621af08b1af78ba80cd9514044333431d467a59f9',
    );
  });
});

describe('audio straight from Zoom: Realtime Media Streams', () => {
  let api: FakeZoomApi;
  let zoom: FakeZoom;
  let daemon: Daemon;
  let logs: ReturnType<typeof captureLogs>;
  let configText: string;
  let stateDir: string;

  beforeEach(async () => {
    logs = captureLogs('info');
    api = new FakeZoomApi();
    zoom = new FakeZoom();
    const bases = await api.start();
    const dir = await tempDirForTest('cb-rtms-');
    stateDir = dir;
    configText = `http: { host: 127.0.0.1, port: 0 }
state: { dir: ${dir} }
zoomApi: { accountId: ${api.accountId}, clientId: ${api.clientId}, clientSecret: ${api.clientSecret}, webhookSecret: ${WEBHOOK_SECRET}, apiBase: "${bases.apiBase}", oauthBase: "${bases.oauthBase}", rtmsHosts: ["127.0.0.1"] }
accountMeetings: { topic: "^team ", maxMeetings: 2, archive: false, asr: { profile: balanced } }
meetings:
  - id: allhands
    source: { type: zoom-rtms, meetingId: "${MEETING}" }
    captions: [ { zoom: { meetingId: "${MEETING}" } }, { page: { public: true } } ]
    display: { speakerMarker: ">>" }
`;
    const config = parseConfig(configText, 'rtms.yaml', {});
    const captionUrl = await zoom.start();
    api.meetings.set(MEETING, { started: true, uuid: 'Pc3o/7lMTBaZ//vG0bIxdQ==', captionUrl: () => captionUrl });
    daemon = await startDaemon(config, logs.log, { reconnect: { initialMs: 200, maxMs: 800 }, keepAliveWatchdogMs: 2_000 });
  });
  afterEach(async () => {
    await daemon.stop();
    await zoom.stop();
    await api.stop();
  });

  const webhook = (event: string, payload: Record<string, unknown>): Promise<Response> => sendWebhook(daemon.port, WEBHOOK_SECRET, event, payload);

  it('a signed rtms_started brings the meeting audio in; a dropped audio socket is redialled; rtms_stopped ends it after its last captions', async () => {
    const rtms = stopAfterTest(new FakeRtms({ clientId: api.clientId, clientSecret: api.clientSecret }, speech, { keepAliveMs: 500 }));
    const signalingUrl = await rtms.start();
    // An unsigned start is refused and changes nothing.
    const forged = await fetch(`http://127.0.0.1:${daemon.port}/zoom/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event: 'meeting.rtms_started', payload: { meeting_uuid: rtms.meetingUuid, rtms_stream_id: rtms.streamId, server_urls: signalingUrl } }),
    });
    expect(forged.status).toBe(401);

    const started = await webhook('meeting.rtms_started', { meeting_uuid: rtms.meetingUuid, operator_id: 'op-1', rtms_stream_id: rtms.streamId, server_urls: signalingUrl });
    expect(started.status).toBe(200);
    await waitUntil(() => rtms.sentSeconds > 3, { what: 'audio flowing' });
    rtms.dropMedia();
    const droppedAt = rtms.sentSeconds;
    await waitUntil(() => rtms.finishedSpeech, { timeoutMs: 40_000, what: 'all speech sent' });
    await waitUntil(() => /married|respectable/i.test(zoom.text()), { what: 'words from after the drop captioned' });
    expect((await webhook('meeting.rtms_stopped', { meeting_uuid: rtms.meetingUuid, rtms_stream_id: rtms.streamId, stop_reason: 6 })).status).toBe(200);
    await waitUntil(() => logs.text().includes('stream ended'), { what: 'the meeting stream over' });

    expect(rtms.counts.signaling).toBe(1);
    expect(rtms.counts.media).toBe(2);
    expect(rtms.handshakes.every((h) => h.status === 0)).toBe(true);
    expect(rtms.counts.readyAcks).toBe(2);
    expect(rtms.subscribedEvents).toEqual([2, 3, 4]);
    // Keep-alives answered on both sockets: Zoom never had to close one for three missed pings.
    expect(rtms.counts.pongs).toBeGreaterThan(10);
    expect(rtms.counts.closedForMissedPings).toBe(0);
    // Captions from before the drop too (the words in the gap itself may be lost).
    expect(zoom.accepted.length).toBeGreaterThan(3);
    expect(zoom.violations).toEqual([]);
    // Only the gap was lost: the audio socket was back within the first reconnect delay (200 ms) plus a handshake.
    const lost = speech.length / 16_000 - rtms.counts.framesSent * 0.02;
    expect(lost).toBeLessThan(1);
    expect(droppedAt).toBeGreaterThan(3);
    expect(logs.text()).not.toContain(api.clientSecret);
  });

  it('a server that pings only while idle keeps one connection through continuous speech; a repeated rtms_started is ignored', async () => {
    const rtms = stopAfterTest(new FakeRtms({ clientId: api.clientId, clientSecret: api.clientSecret }, speech, { keepAliveMs: 500, pingOnlyWhenIdle: true }));
    const signalingUrl = await rtms.start();
    const start = { meeting_uuid: rtms.meetingUuid, operator_id: 'op-1', rtms_stream_id: rtms.streamId, server_urls: signalingUrl };
    await webhook('meeting.rtms_started', start);
    await waitUntil(() => rtms.sentSeconds > 2, { what: 'audio flowing' });
    // Zoom retries a webhook it thinks was missed: same stream, same servers.
    await webhook('meeting.rtms_started', start);
    await waitUntil(() => rtms.finishedSpeech, { timeoutMs: 40_000, what: 'all speech sent' });
    await webhook('meeting.rtms_stopped', { meeting_uuid: rtms.meetingUuid, rtms_stream_id: rtms.streamId, stop_reason: 6 });
    await waitUntil(() => logs.text().includes('stream ended'), { what: 'the meeting stream over' });
    // The speech lasted many times the 2 s watchdog with no keep-alive while it flowed: audio counted as life.
    expect(speech.length / 16_000).toBeGreaterThan(5 * 2);
    expect(rtms.counts).toMatchObject({ signaling: 1, media: 1, closedForMissedPings: 0 });
    expect(rtms.signalingRequests[0]).toMatchObject({ buffer_data: false });
    expect(logs.text()).toContain('rtms_started repeated (a webhook retry): ignored');
    expect(logs.text()).not.toContain('reconnecting');
    expect(zoom.text()).toMatch(/leisure|consider/i);
  });

  it('captions a meeting nobody listed when Zoom streams it and it matches the account template; it leaves with its stream', async () => {
    const TEAM = '555666777';
    const teamZoom = stopAfterTest(new FakeZoom());
    const teamUrl = await teamZoom.start();
    api.meetings.set(TEAM, { started: true, captionUrl: () => teamUrl, topic: 'Team standup' });
    api.meetings.set('888999000', { started: true, captionUrl: () => teamUrl, topic: 'Board meeting' });
    const rtms = stopAfterTest(new FakeRtms({ clientId: api.clientId, clientSecret: api.clientSecret }, speech, { keepAliveMs: 500 }));
    const signalingUrl = await rtms.start();
    const admin = { authorization: 'Bearer unused' };
    // A meeting whose topic the template does not take is left alone.
    await webhook('meeting.rtms_started', { meeting_uuid: 'board-instance', meeting_id: 888999000, rtms_stream_id: 'board-stream', server_urls: signalingUrl });
    await waitUntil(() => logs.text().includes('its topic does not match accountMeetings.topic'), { what: 'the board meeting declined' });

    await webhook('meeting.rtms_started', { meeting_uuid: rtms.meetingUuid, meeting_id: Number(TEAM), operator_id: 'op-1', rtms_stream_id: rtms.streamId, server_urls: signalingUrl });
    await waitUntil(() => daemon.meetings.some((m) => m.id === `zoom-${TEAM}`), { what: 'the runtime meeting' });
    await waitUntil(() => logs.text().includes('account meeting added'), { what: 'the runtime meeting started' });
    // Zoom's audio is dialled while the engine loads (Zoom drops what is said before the bridge connects), not after.
    // (The template's engine profile differs from the listed meeting's, so no decoder was opened ahead for it.)
    const readyAt = logs.text().split('\n').filter((l) => l.includes('"meeting ready"') && l.includes(`zoom-${TEAM}`)).map((l) => (JSON.parse(l) as { time: number }).time)[0];
    expect(rtms.mediaAcceptedAt[0]).toBeLessThan(readyAt!);
    await waitUntil(() => rtms.finishedSpeech, { timeoutMs: 30_000, what: 'the speech streamed' });
    await waitUntil(() => teamZoom.accepted.length >= 3, { what: 'its captions' });
    const metrics = async (): Promise<string> => (await fetch(`http://127.0.0.1:${daemon.port}/metrics`, { headers: admin })).text();
    expect(await metrics()).toMatch(new RegExp(`caption_bridge_audio_seconds_total\\{meeting="zoom-${TEAM}"\\} [1-9]`));

    expect((await webhook('meeting.rtms_stopped', { meeting_uuid: rtms.meetingUuid, meeting_id: Number(TEAM), rtms_stream_id: rtms.streamId, stop_reason: 6 })).status).toBe(200);
    await waitUntil(() => !daemon.meetings.some((m) => m.id === `zoom-${TEAM}`), { what: 'the runtime meeting removed' });
    expect(await metrics()).not.toContain(`meeting="zoom-${TEAM}"`);
    expect(daemon.meetings.map((m) => m.id)).toEqual(['allhands']);
    expect(teamZoom.text()).toMatch(/leisure|consider|married|respectable/i);
    expect(teamZoom.violations).toEqual([]);
    expect(teamZoom.gaps).toEqual([]);
    expect(zoom.accepted).toEqual([]); // the listed meeting's Zoom got nothing of it
  });

  it('a runtime meeting whose RTMS stream ends on its own (Zoom refuses the audio for good) is removed with it', async () => {
    const TEAM = '555666777';
    const teamZoom = stopAfterTest(new FakeZoom());
    const teamUrl = await teamZoom.start();
    api.meetings.set(TEAM, { started: true, captionUrl: () => teamUrl, topic: 'Team retro' });
    const rtms = stopAfterTest(new FakeRtms({ clientId: api.clientId, clientSecret: api.clientSecret }, speech, { keepAliveMs: 500, audioNotSupported: true }));
    const signalingUrl = await rtms.start();
    await webhook('meeting.rtms_started', { meeting_uuid: rtms.meetingUuid, meeting_id: Number(TEAM), rtms_stream_id: rtms.streamId, server_urls: signalingUrl });
    await waitUntil(() => logs.text().includes('account meeting added'), { what: 'the runtime meeting' });
    await waitUntil(() => logs.text().includes('account meeting ended: removed'), { what: 'the runtime meeting removed with its stream' });
    expect(daemon.meetings.map((m) => m.id)).toEqual(['allhands']);
  });

  // Status 8's schedule (three more tries, 1.5 s doubling, then given up) is proven on a hand-moved clock:
  // test/unit/ingest/zoom-rtms.test.ts.

  it('status 9 (the app may not take the audio) ends the stream at once, naming the setting, and is not retried', async () => {
    const rtms = stopAfterTest(new FakeRtms({ clientId: api.clientId, clientSecret: api.clientSecret }, speech, { keepAliveMs: 500, audioNotSupported: true }));
    const signalingUrl = await rtms.start();
    await webhook('meeting.rtms_started', { meeting_uuid: rtms.meetingUuid, operator_id: 'op-1', rtms_stream_id: rtms.streamId, server_urls: signalingUrl });
    await waitUntil(() => logs.text().includes('MEDIA_TYPE_AUDIO_NOT_SUPPORT'), { what: 'the refusal' });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(rtms.handshakes.filter((h) => h.socket === 'media').map((h) => h.status)).toEqual([9]);
    expect(logs.text()).toContain('turn on audio in the Zoom app');
  });

  it('session STOPPED ends reconnecting; an audio URL outside Zoom\'s hosts is never dialled', async () => {
    const rtms = stopAfterTest(new FakeRtms({ clientId: api.clientId, clientSecret: api.clientSecret }, speech, { keepAliveMs: 500 }));
    const signalingUrl = await rtms.start();
    await webhook('meeting.rtms_started', { meeting_uuid: rtms.meetingUuid, operator_id: 'op-1', rtms_stream_id: rtms.streamId, server_urls: signalingUrl });
    await waitUntil(() => rtms.sentSeconds > 3, { what: 'audio flowing' });
    rtms.stopSession();
    await waitUntil(() => logs.text().includes('stream ended'), { what: 'the meeting stream over' });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(rtms.counts).toMatchObject({ signaling: 1, media: 1 });

    // The signaling server names an audio server the bridge must not dial (a forged or broken answer).
    const astray = stopAfterTest(new FakeRtms({ clientId: api.clientId, clientSecret: api.clientSecret }, speech, { keepAliveMs: 500, mediaUrl: 'ws://127.0.0.3:9/media' }));
    const astrayUrl = await astray.start();
    await webhook('meeting.rtms_started', { meeting_uuid: astray.meetingUuid, operator_id: 'op-1', rtms_stream_id: 'a1a2a3a4a5a6a7a8a9a0b1b2b3b4b5b6', server_urls: astrayUrl.replace('/signaling', '/signaling#x') });
    await webhook('meeting.rtms_started', { meeting_uuid: astray.meetingUuid, operator_id: 'op-1', rtms_stream_id: astray.streamId, server_urls: astrayUrl });
    await waitUntil(() => logs.text().includes('RTMS audio URL refused'), { what: 'the audio URL refused' });
    expect(logs.text()).toContain('RTMS signaling URL refused: it carries a fragment or credentials');
    expect(logs.text()).toContain("ws://127.0.0.3:9 is not one of Zoom's RTMS servers");
    expect(astray.counts).toMatchObject({ signaling: 1, media: 0 });
  });

  /** Two participants over the mixed audio: the second becomes the active speaker in the quiet between two clips. */
  const twoSpeakers = async (): Promise<string[]> => {
    const rtms = stopAfterTest(new FakeRtms({ clientId: api.clientId, clientSecret: api.clientSecret }, speech, { keepAliveMs: 500 }));
    const signalingUrl = await rtms.start();
    await webhook('meeting.rtms_started', { meeting_uuid: rtms.meetingUuid, operator_id: 'op-1', rtms_stream_id: rtms.streamId, server_urls: signalingUrl });
    const gapAt = 0.5 + readWav(clips[0]!.path).samples.length / 16_000 + 0.5;
    await waitUntil(() => rtms.sentSeconds >= gapAt, { timeoutMs: 20_000, what: 'the first clip sent' });
    rtms.activeSpeaker(33556610, 'Marianne Dashwood');
    await waitUntil(() => rtms.finishedSpeech, { timeoutMs: 40_000, what: 'all speech sent' });
    await webhook('meeting.rtms_stopped', { meeting_uuid: rtms.meetingUuid, rtms_stream_id: rtms.streamId, stop_reason: 6 });
    await waitUntil(() => logs.text().includes('stream ended'), { what: 'the meeting stream over' });
    return zoom.accepted.map((c) => c.body);
  };
  /** Every word before the change is the first speaker's (clip 1), every word from it on the second's (clip 4). */
  const splitAtTheChange = (posts: string[], at: number): void => {
    expect(at).toBeGreaterThan(0);
    const before = posts.slice(0, at).join(' ');
    const after = posts.slice(at).join(' ');
    expect(before).toMatch(/leisure to consider/);
    expect(before).not.toMatch(/married|respectable/i);
    expect(after).toMatch(/married|respectable/i);
    expect(after).not.toMatch(/leisure/);
  };

  it("Zoom's active speaker changes over the mixed audio start a new block, marked \">>\", where the new speaker's words begin; no name goes anywhere", async () => {
    const posts = await twoSpeakers();
    const marked = posts.flatMap((text, i) => (text.startsWith('>> ') ? [i] : []));
    // One change of speaker: one marked block.
    expect(marked).toHaveLength(1);
    splitAtTheChange(posts, marked[0]!);
    // Names are personal data: by default none reaches Zoom, the caption page's feed or the log.
    const everything = [...posts, logs.text(), JSON.stringify(daemon.meetings.find((m) => m.id === 'allhands')!.snapshot())].join('\n');
    expect(everything).not.toMatch(/Elinor Dashwood|Marianne Dashwood/);
    expect(zoom.violations).toEqual([]);
  });

  it('with display.speakerNames, each turn starts with the speaker\'s name from Zoom, the first one too', async () => {
    await daemon.reload(parseConfig(configText.replace('display: { speakerMarker: ">>" }', 'display: { speakerMarker: ">>", speakerNames: true }'), 'rtms.yaml', {}));
    const posts = await twoSpeakers();
    const named = posts.flatMap((text, i) => (/^(Elinor|Marianne) Dashwood: /.test(text) ? [[i, text.split(':')[0]]] : []));
    expect(named.map(([, who]) => who)).toEqual(['Elinor Dashwood', 'Marianne Dashwood']);
    expect(named[0]![0]).toBe(0);
    splitAtTheChange(posts, named[1]![0] as number);
    expect(posts.some((text) => text.startsWith('>> '))).toBe(false);
    // The archive's cues say who speaks (WebVTT voice spans).
    const archive = join(stateDir, 'transcripts', 'allhands');
    const vtt = (await Promise.all((await readdir(archive)).filter((f) => f.endsWith('.vtt')).map((f) => readFile(join(archive, f), 'utf8')))).join('\n');
    expect(vtt).toContain('<v Elinor Dashwood>');
    expect(vtt).toContain('<v Marianne Dashwood>');
    // The caption page labels each turn with the name once, as a label beside the words, not inside them.
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${daemon.port}/captions/allhands`);
      await page.waitForSelector('.speaker');
      const labels = await page.locator('.speaker').allTextContents();
      expect(labels).toEqual(['Elinor Dashwood:', 'Marianne Dashwood:']);
      const text = await page.locator('#captions').innerText();
      expect(text.match(/Marianne Dashwood/g)).toHaveLength(1);
      expect(text.match(/Elinor Dashwood/g)).toHaveLength(1);
    } finally {
      await browser.close();
    }
    expect(zoom.violations).toEqual([]);
  });

  /**
   * Zoom's transcript of the two clips, sentence by sentence, as Zoom writes it (cased, punctuated), with a third
   * participant who says a word over the start of the second sentence; a word of the first is misheard while it is
   * the newest.
   */
  const transcriptLines = (): TranscriptLine[] => {
    const written = (text: string): string => `${text.charAt(0).toUpperCase()}${text.slice(1).toLowerCase()}.`;
    const firstEnd = 500 + (readWav(clips[0]!.path).samples.length / 16) ;
    const secondStart = firstEnd + 1_000;
    const secondEnd = secondStart + readWav(clips[3]!.path).samples.length / 16;
    return [
      { userId: 16778240, userName: 'Elinor Dashwood', text: written(clips[0]!.transcript), startMs: 500, endMs: firstEnd, misheard: { 2: 'lesion' } },
      { userId: 33556610, userName: 'Marianne Dashwood', text: written(clips[3]!.transcript), startMs: secondStart, endMs: secondEnd },
      { userId: 50331648, userName: 'Colonel Brandon', text: 'Indeed.', startMs: secondStart + 300, endMs: secondStart + 700 },
    ];
  };
  const plain = (text: string): string => text.toLowerCase().replace(/[^a-z' ]+/g, ' ').replace(/\s+/g, ' ').trim();

  it("engine zoom-transcript captions Zoom's own transcript: its words exactly, written as Zoom writes them, by name, overlapping speech in turn", async () => {
    await daemon.reload(
      parseConfig(configText.replace('display: { speakerMarker: ">>" }', 'display: { speakerMarker: ">>", speakerNames: true }\n    asr: { engine: zoom-transcript, language: en-GB }'), 'rtms.yaml', {}),
    );
    const lines = transcriptLines();
    const rtms = stopAfterTest(new FakeRtms({ clientId: api.clientId, clientSecret: api.clientSecret }, speech, { keepAliveMs: 500, transcript: { lines } }));
    const signalingUrl = await rtms.start();
    await webhook('meeting.rtms_started', { meeting_uuid: rtms.meetingUuid, operator_id: 'op-1', rtms_stream_id: rtms.streamId, server_urls: signalingUrl });
    await waitUntil(() => rtms.finishedSpeech, { timeoutMs: 40_000, what: 'all speech sent' });
    await waitUntil(() => zoom.text().includes('Indeed.'), { timeoutMs: 10_000, what: 'the last sentence captioned' });
    await webhook('meeting.rtms_stopped', { meeting_uuid: rtms.meetingUuid, rtms_stream_id: rtms.streamId, stop_reason: 6 });
    await waitUntil(() => logs.text().includes('stream ended'), { what: 'the meeting stream over' });

    // The bridge asked Zoom for the language it was told, as Zoom's own library does (content TEXT, language id, LID).
    expect(rtms.transcriptRequests).toEqual([{ content_type: 5, src_language: 9, enable_lid: true }]);
    expect(rtms.transcriptMessages).toBeGreaterThan(20);
    const posts = zoom.accepted.map((c) => c.body);
    // Every word of Zoom's transcript, once, in order: the revision of the misheard word reached the captions.
    expect(plain(posts.join(' ').replace(/[A-Z][a-z]+ [A-Z][a-z]+: /g, ''))).toBe(plain(lines.map((l) => l.text).join(' ')));
    expect(zoom.text()).not.toContain('lesion');
    // Zoom's writing kept (the sentences' capitals and full stops), and each turn under its speaker's name.
    expect(posts.join(' ')).toContain(lines[0]!.text.split(' ').slice(-2).join(' '));
    expect(posts.flatMap((text) => /^([A-Z][a-z]+ [A-Z][a-z]+): /.exec(text)?.[1] ?? [])).toEqual(['Elinor Dashwood', 'Marianne Dashwood', 'Colonel Brandon']);
    expect(zoom.violations).toEqual([]);
  });

  it('zoom-transcript falls back to an engine that hears the audio when Zoom will not send the transcript', async () => {
    await daemon.reload(
      parseConfig(configText.replace('display: { speakerMarker: ">>" }', 'display: { speakerMarker: ">>" }\n    asr: { engine: zoom-transcript, fallback: [ { engine: pocketsphinx } ] }'), 'rtms.yaml', {}),
    );
    const rtms = stopAfterTest(new FakeRtms({ clientId: api.clientId, clientSecret: api.clientSecret }, speech, { keepAliveMs: 500, transcriptNotSupported: true }));
    const signalingUrl = await rtms.start();
    await webhook('meeting.rtms_started', { meeting_uuid: rtms.meetingUuid, operator_id: 'op-1', rtms_stream_id: rtms.streamId, server_urls: signalingUrl });
    await waitUntil(() => rtms.finishedSpeech, { timeoutMs: 40_000, what: 'all speech sent' });
    await webhook('meeting.rtms_stopped', { meeting_uuid: rtms.meetingUuid, rtms_stream_id: rtms.streamId, stop_reason: 6 });
    await waitUntil(() => logs.text().includes('stream ended'), { what: 'the meeting stream over' });
    expect(logs.text()).toContain("the stream carries no transcript for this app: turn on transcripts in the Zoom app's Realtime Media Streams settings");
    expect(logs.text()).toContain('speech engine failed: switching');
    // The audio socket was never cut for it, and the embedded engine captioned the meeting.
    expect(rtms.counts.media).toBe(2);
    expect(rtms.handshakes.filter((h) => h.socket === 'media').map((h) => h.status).sort()).toEqual([0, 12]);
    expect(zoom.text()).toMatch(/leisure|consider/i);
    expect(zoom.violations).toEqual([]);
  });

  it("with asr.meetingWords, the meeting's topic, agenda and participants' names reach the cloud engine's vocabulary as they become known, and no name is logged", async () => {
    const engine = stopAfterTest(new FakeDeepgram('dg-key'));
    const engineUrl = await engine.start();
    api.meetings.get(MEETING)!.topic = 'Norland Park estate review';
    api.meetings.get(MEETING)!.agenda = 'Barton Cottage lease. The HVAC bids';
    await daemon.reload(
      parseConfig(configText.replace('display: { speakerMarker: ">>" }', `display: { speakerMarker: ">>" }\n    asr: { engine: deepgram, apiKey: dg-key, url: "${engineUrl}/v1/listen", phrases: [Dashwood], meetingWords: true }`), 'rtms.yaml', {}),
    );
    const rtms = stopAfterTest(new FakeRtms({ clientId: api.clientId, clientSecret: api.clientSecret }, speech, { keepAliveMs: 500 }));
    const signalingUrl = await rtms.start();
    await webhook('meeting.rtms_started', { meeting_uuid: rtms.meetingUuid, operator_id: 'op-1', rtms_stream_id: rtms.streamId, server_urls: signalingUrl });
    await waitUntil(() => rtms.sentSeconds > 2, { timeoutMs: 20_000, what: 'the first words sent' });
    rtms.participantJoin([{ userId: 16778240, userName: 'Marianne Dashwood' }, { userId: 16778241, userName: 'Colonel Brandon (he/him)' }]);
    await waitUntil(() => rtms.finishedSpeech, { timeoutMs: 40_000, what: 'all speech sent' });
    await webhook('meeting.rtms_stopped', { meeting_uuid: rtms.meetingUuid, rtms_stream_id: rtms.streamId, stop_reason: 6 });
    await waitUntil(() => logs.text().includes('stream ended'), { what: 'the meeting stream over' });

    const keyterms = engine.requests.map((r) => r.url.searchParams.getAll('keyterm'));
    // The configured phrase first; the topic's and agenda's names once read; the participants' once they joined.
    expect(keyterms.every((k) => k[0] === 'Dashwood')).toBe(true);
    expect(keyterms.some((k) => ['Norland Park', 'Barton Cottage', 'HVAC'].every((term) => k.includes(term)))).toBe(true);
    expect(keyterms.at(-1)).toEqual(expect.arrayContaining(['Norland Park', 'Barton Cottage', 'HVAC', 'Marianne Dashwood', 'Marianne', 'Colonel Brandon', 'Brandon']));
    expect(logs.text()).toContain('speech engine connection renewed with the new vocabulary');
    expect(zoom.text()).toMatch(/leisure|consider/i);
    // Names are personal data: they go to the engine the meeting chose, not to the log.
    expect(logs.text()).not.toMatch(/Marianne|Brandon/);
    expect(zoom.violations).toEqual([]);
  });

  it('a stream Zoom signs for another app is refused with a clear reason, once; the stream ending on Zoom\'s side ends it', async () => {
    const foreign = stopAfterTest(new FakeRtms({ clientId: api.clientId, clientSecret: 'another-apps-secret' }, speech, { keepAliveMs: 500 }));
    const url = await foreign.start();
    await webhook('meeting.rtms_started', { meeting_uuid: foreign.meetingUuid, operator_id: 'op-1', rtms_stream_id: foreign.streamId, server_urls: url });
    await waitUntil(() => logs.text().includes('INVALID_SIGNATURE'), { what: 'the refusal logged' });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(foreign.counts.signaling).toBe(1);
    expect(foreign.handshakes).toEqual([{ socket: 'signaling', status: 3 }]);
    expect(logs.text()).toContain("the signature does not match: the handshake is signed with the client id and secret of the app that has RTMS (rtmsApp, or zoomApi without it)");

    // The right app's stream for the same meeting still works, and ends when Zoom terminates it.
    const rtms = stopAfterTest(new FakeRtms({ clientId: api.clientId, clientSecret: api.clientSecret }, speech.subarray(0, 16_000 * 9), { keepAliveMs: 500 }));
    const signalingUrl = await rtms.start();
    await webhook('meeting.rtms_started', { meeting_uuid: rtms.meetingUuid, operator_id: 'op-1', rtms_stream_id: 'b1b2b3b4b5b6b7b8b9b0c1c2c3c4c5c6', server_urls: signalingUrl });
    await waitUntil(() => rtms.handshakes.length > 0, { what: 'a handshake' });
    expect(rtms.handshakes[0]!.status).toBe(2); // the fake knows only its own stream id: refused, not retried
    await webhook('meeting.rtms_started', { meeting_uuid: rtms.meetingUuid, operator_id: 'op-1', rtms_stream_id: rtms.streamId, server_urls: signalingUrl });
    await waitUntil(() => rtms.finishedSpeech, { timeoutMs: 30_000, what: 'all speech sent' });
    rtms.endStream();
    await waitUntil(() => logs.text().includes('Zoom ended the stream (reason 6)'), { what: 'the end seen' });
    await waitUntil(() => logs.text().includes('stream ended'), { what: 'the meeting stream over' });
    expect(zoom.text()).toMatch(/leisure|consider/i);
    expect(zoom.violations).toEqual([]);
  });
});

describe('an account meeting whose engine cannot start', () => {
  it('is removed, and the Zoom audio it dialled while starting is let go; the daemon goes on', async () => {
    const logs = captureLogs('info');
    const api = stopAfterTest(new FakeZoomApi());
    const bases = await api.start();
    const zoom = stopAfterTest(new FakeZoom());
    const captionUrl = await zoom.start();
    api.meetings.set('555666777', { started: true, captionUrl: () => captionUrl, topic: 'Team sync' });
    const dir = await tempDirForTest('cb-rtms-fail-');
    // A Deepgram-compatible engine that refuses the key, after a moment (Zoom's audio is dialled meanwhile).
    const refusing = createServer((_req, res) => res.writeHead(401).end());
    refusing.on('upgrade', (_req, socket: Duplex) => {
      socket.on('error', () => undefined);
      setTimeout(() => socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'), 800);
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => refusing.close(() => resolve())));
    const enginePort = (refusing.address() as AddressInfo).port;
    const config = parseConfig(
      `http: { host: 127.0.0.1, port: 0 }
state: { dir: ${dir} }
zoomApi: { accountId: ${api.accountId}, clientId: ${api.clientId}, clientSecret: ${api.clientSecret}, webhookSecret: ${WEBHOOK_SECRET}, apiBase: "${bases.apiBase}", oauthBase: "${bases.oauthBase}", rtmsHosts: ["127.0.0.1"] }
accountMeetings: { archive: false, asr: { engine: deepgram, url: "ws://127.0.0.1:${enginePort}", apiKey: refused-key } }
meetings: []
`,
      'rtms-fail.yaml',
      {},
    );
    const daemon = stopAfterTest(await startDaemon(config, logs.log, { reconnect: { initialMs: 200, maxMs: 800 } }));
    const rtms = stopAfterTest(new FakeRtms({ clientId: api.clientId, clientSecret: api.clientSecret }, speech, { keepAliveMs: 500 }));
    const signalingUrl = await rtms.start();
    await sendWebhook(daemon.port, WEBHOOK_SECRET, 'meeting.rtms_started', { meeting_uuid: rtms.meetingUuid, meeting_id: 555666777, rtms_stream_id: rtms.streamId, server_urls: signalingUrl });
    await waitUntil(() => logs.text().includes('account meeting could not start'), { timeoutMs: 20_000, what: 'the start failing' });
    await waitUntil(() => daemon.meetings.length === 0, { what: 'the meeting removed' });
    await waitUntil(() => !rtms.connected, { what: 'the audio let go' });
    expect(rtms.counts.signaling).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${daemon.port}/healthz`)).status).toBe(200);
  });
});

describe("Zoom's two apps: RTMS on a General app, the account's API on a Server-to-Server app", () => {
  it('takes each app\'s webhooks with its own Secret Token, signs the handshake with the RTMS app, fetches the Caption URL with the other', async () => {
    const logs = captureLogs('info');
    const api = stopAfterTest(new FakeZoomApi());
    const zoom = stopAfterTest(new FakeZoom());
    const bases = await api.start();
    const captionUrl = await zoom.start();
    api.meetings.set(MEETING, { started: true, uuid: 'Pc3o/7lMTBaZ//vG0bIxdQ==', captionUrl: () => captionUrl });
    const general = { clientId: 'general-app-client-id', clientSecret: 'general-app-client-secret-0123', webhookSecret: 'general-app-secret-token-0123' };
    const s2sSecret = 's2s-app-secret-token-0123456';
    const dir = await tempDirForTest('cb-rtms-apps-');
    const config = parseConfig(
      `http: { host: 127.0.0.1, port: 0 }
state: { dir: ${dir} }
zoomApi: { accountId: ${api.accountId}, clientId: ${api.clientId}, clientSecret: ${api.clientSecret}, webhookSecret: ${s2sSecret}, apiBase: "${bases.apiBase}", oauthBase: "${bases.oauthBase}" }
rtmsApp: { clientId: ${general.clientId}, clientSecret: ${general.clientSecret}, webhookSecret: ${general.webhookSecret}, rtmsHosts: ["127.0.0.1"] }
meetings:
  - id: allhands
    source: { type: zoom-rtms, meetingId: "${MEETING}" }
    archive: false
    captions: [ { zoom: { meetingId: "${MEETING}" } } ]
`,
      'rtms-apps.yaml',
      {},
    );
    const daemon = stopAfterTest(await startDaemon(config, logs.log, { reconnect: { initialMs: 200, maxMs: 800 } }));
    // Each app validates the endpoint in the Marketplace: each gets the answer made with its own Secret Token.
    for (const secret of [general.webhookSecret, s2sSecret]) {
      const answer = await sendWebhook(daemon.port, secret, 'endpoint.url_validation', { plainToken: 'qgg8vlvZRS6UYooatFL8Aw' });
      expect(await answer.json()).toEqual(new ZoomWebhookVerifier(secret).validationResponse('qgg8vlvZRS6UYooatFL8Aw'));
    }
    // Signed by neither app: refused.
    expect((await sendWebhook(daemon.port, 'neither-app-secret-token-01', 'meeting.rtms_started', {})).status).toBe(401);
    // Zoom checks the handshake against the General app's credentials; the Server-to-Server app's would be refused.
    const rtms = stopAfterTest(new FakeRtms({ clientId: general.clientId, clientSecret: general.clientSecret }, speech, { keepAliveMs: 500 }));
    const signalingUrl = await rtms.start();
    const started = await sendWebhook(daemon.port, general.webhookSecret, 'meeting.rtms_started', { meeting_uuid: rtms.meetingUuid, rtms_stream_id: rtms.streamId, server_urls: signalingUrl });
    expect(started.status).toBe(200);
    await waitUntil(() => zoom.accepted.length > 0, { timeoutMs: 30_000, what: 'a caption from the RTMS audio' });
    expect(rtms.handshakes.length).toBeGreaterThan(0);
    expect(rtms.handshakes.every((h) => h.status === 0)).toBe(true);
    expect(zoom.violations).toEqual([]);
    expect(logs.text()).not.toContain(general.clientSecret);
  });
});
