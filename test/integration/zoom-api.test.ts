import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ZoomSink } from '../../src/caption/zoom-sink.js';
import { parseConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { readWav } from '../../src/util/wav.js';
import { ZoomApiClient } from '../../src/zoom-api/client.js';
import { ZoomWebhookVerifier } from '../../src/zoom-api/webhook.js';
import { FakeZoom } from '../helpers/fake-zoom.js';
import { FakeZoomApi, signWebhook } from '../helpers/fake-zoom-api.js';
import { captureLogs } from '../helpers/log-capture.js';
import { concatSamples, librivoxClips, roomNoise } from '../helpers/speech.js';
import { streamAudio } from '../helpers/ws-client.js';
import { waitUntil } from '../helpers/wait.js';
import { stopAfterTest, tempDirForTest } from '../helpers/cleanup.js';
import type { ZoomTarget } from '../../src/zoom-api/target.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const MEETING = '123456789';

let api: FakeZoomApi;
let bases: { apiBase: string; oauthBase: string };
let zoom: FakeZoom;

beforeEach(async () => {
  api = new FakeZoomApi();
  bases = await api.start();
  zoom = new FakeZoom();
  await zoom.start();
});
afterEach(async () => {
  await Promise.all([api.stop(), zoom.stop()]);
});

function client(log = captureLogs().log, now?: () => number): ZoomApiClient {
  return new ZoomApiClient({ accountId: api.accountId, clientId: api.clientId, clientSecret: api.clientSecret, ...bases }, log, now);
}

describe('Zoom API client (server-to-server OAuth, caption token)', () => {
  it('fetches the Caption URL with a cached access token, renewed shortly before it expires', async () => {
    api.meetings.set(MEETING, { started: true, captionUrl: () => zoom.captionUrl() });
    let clock = Date.now();
    const c = client(undefined, () => clock);
    expect(await c.captionUrl({ kind: 'meeting', id: MEETING })).toBe(zoom.captionUrl());
    await c.captionUrl({ kind: 'meeting', id: MEETING });
    expect(api.calls.token).toBe(1);
    clock += 3_500_000; // 58 minutes on: inside the renewal margin of a one-hour token
    await c.captionUrl({ kind: 'meeting', id: MEETING });
    expect(api.calls.token).toBe(2);
  });

  it('renews the access token once on 401, and reports a second 401 clearly', async () => {
    api.meetings.set(MEETING, { started: true, captionUrl: () => zoom.captionUrl() });
    const c = client();
    api.unauthorizedNext = 1;
    expect(await c.captionUrl({ kind: 'meeting', id: MEETING })).toBe(zoom.captionUrl());
    expect(api.calls.token).toBe(2);
    api.unauthorizedNext = 2;
    await expect(c.captionUrl({ kind: 'meeting', id: MEETING })).rejects.toMatchObject({ code: 'ZOOM_API_AUTH', message: expect.stringContaining('deactivated or deleted') });
  });

  it('waits as long as a 429 asks (Retry-After), then succeeds', async () => {
    api.meetings.set(MEETING, { started: true, captionUrl: () => zoom.captionUrl() });
    api.rateLimitNext = 1;
    api.retryAfter = '1';
    const started = Date.now();
    expect(await client().captionUrl({ kind: 'meeting', id: MEETING })).toBe(zoom.captionUrl());
    expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    expect(api.calls.captionToken).toBe(2);
    // A daily limit that resets far in the future is reported, not slept through.
    api.rateLimitNext = 1;
    api.retryAfter = new Date(Date.now() + 86_400_000).toUTCString();
    await expect(client().captionUrl({ kind: 'meeting', id: MEETING })).rejects.toMatchObject({ code: 'ZOOM_API_RATE_LIMITED', retryable: true });
  });

  it('tells "not started", "does not exist" and bad credentials apart', async () => {
    api.meetings.set(MEETING, { started: false, captionUrl: () => zoom.captionUrl() });
    await expect(client().captionUrl({ kind: 'meeting', id: MEETING })).rejects.toMatchObject({ code: 'ZOOM_MEETING_NOT_STARTED', retryable: true });
    await expect(client().captionUrl({ kind: 'webinar', id: '987654321' })).rejects.toMatchObject({ code: 'ZOOM_MEETING_NOT_FOUND', retryable: false });
    const logs = captureLogs();
    const wrong = new ZoomApiClient({ accountId: api.accountId, clientId: api.clientId, clientSecret: 'nope', ...bases }, logs.log);
    await expect(wrong.captionUrl({ kind: 'meeting', id: MEETING })).rejects.toMatchObject({ code: 'ZOOM_API_AUTH', message: expect.stringContaining('ZOOM_CLIENT_SECRET') });
  });

  it('each refusal becomes one sentence saying what to change where', async () => {
    api.meetings.set(MEETING, { started: true, captionUrl: () => zoom.captionUrl() });
    const refusal = async (prepare: () => void, target: ZoomTarget = { kind: 'meeting', id: MEETING }): Promise<unknown> => {
      prepare();
      return client().captionUrl(target).then(() => 'no error', (err: unknown) => err);
    };
    const scope = await refusal(() => (api.scopes = ['meeting:read:meeting:admin']));
    expect(scope).toMatchObject({ code: 'ZOOM_API_SCOPE_MISSING', retryable: false });
    expect((scope as Error).message).toBe(
      'The Zoom app lacks a scope for meeting 123456789: in the Zoom App Marketplace (Manage > your Server-to-Server OAuth app), Scopes > Add Scopes, ' +
        'add meeting:read:token:admin (or the classic meeting:read:admin); Zoom named meeting:read:token:admin. The bridge picks up the new scope with its next access token',
    );
    // A misconfigured app's calls share one token: not an OAuth request before every call.
    const repeated = client();
    const tokensBefore = api.calls.token;
    for (let i = 0; i < 3; i++) await expect(repeated.captionUrl({ kind: 'meeting', id: MEETING })).rejects.toMatchObject({ code: 'ZOOM_API_SCOPE_MISSING' });
    expect(api.calls.token - tokensBefore).toBe(1);
    // The classic scope also grants it.
    expect(await refusal(() => (api.scopes = ['meeting:read:admin']))).toBe('no error');

    const off = await refusal(() => (api.captionApiEnabled = false));
    expect(off).toMatchObject({ code: 'ZOOM_CAPTION_API_OFF' });
    expect((off as Error).message).toMatch(/Account Settings > Meeting > In Meeting \(Advanced\), turn on "Closed captioning" and "Allow use of caption API Token/);
    api.captionApiEnabled = true;

    const notStarted = await refusal(() => (api.meetings.get(MEETING)!.started = false));
    expect(notStarted).toMatchObject({ code: 'ZOOM_MEETING_NOT_STARTED', retryable: true, message: expect.stringMatching(/^Meeting 123456789 has not started: the host has to start it/) });
    api.meetings.get(MEETING)!.started = true;

    // A meeting hosted in another account: Zoom answers as for a missing one.
    const foreign = await refusal(() => undefined, { kind: 'meeting', id: '111222333' });
    expect(foreign).toMatchObject({ code: 'ZOOM_MEETING_NOT_FOUND', retryable: false });
    expect((foreign as Error).message).toMatch(/Zoom cannot find meeting 111222333 in the app's account .* the Zoom app must be made in the host's account/);

    const deleted = await refusal(() => (api.appDeleted = true));
    expect(deleted).toMatchObject({ code: 'ZOOM_API_AUTH' });
    expect((deleted as Error).message).toMatch(/does not accept the app's client id and secret .*copy ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET again .* a deleted app needs a new one/);
  });

  it('uses the ordinary endpoints by default and the master-account ones only with subAccountId; each fake refuses the other', async () => {
    api.meetings.set(MEETING, { started: true, captionUrl: () => zoom.captionUrl() });
    expect(await client().captionUrl({ kind: 'meeting', id: MEETING })).toBe(zoom.captionUrl());
    const asMaster = new ZoomApiClient({ accountId: api.accountId, clientId: api.clientId, clientSecret: api.clientSecret, subAccountId: 'sub-456', ...bases }, captureLogs().log);
    const wrongEdition = await asMaster.captionUrl({ kind: 'meeting', id: MEETING }).catch((err: unknown) => err);
    expect(wrongEdition).toMatchObject({ code: 'ZOOM_API_NO_PERMISSION' });
    expect((wrongEdition as Error).message).toMatch(/only an app of a Zoom master account with :master scopes may do; for an ordinary account remove subAccountId/);

    const master = stopAfterTest(new FakeZoomApi('master'));
    const masterBases = await master.start();
    try {
      master.webinars.set(MEETING, { started: true, captionUrl: () => zoom.captionUrl() });
      const subAccount = new ZoomApiClient({ accountId: master.accountId, clientId: master.clientId, clientSecret: master.clientSecret, subAccountId: master.subAccountId, ...masterBases }, captureLogs().log);
      expect(await subAccount.captionUrl({ kind: 'webinar', id: MEETING })).toBe(zoom.captionUrl());
      const ordinary = new ZoomApiClient({ accountId: master.accountId, clientId: master.clientId, clientSecret: master.clientSecret, ...masterBases }, captureLogs().log);
      await expect(ordinary.captionUrl({ kind: 'webinar', id: MEETING })).rejects.toMatchObject({ code: 'ZOOM_MEETING_NOT_FOUND' });
      master.scopes = ['webinar:read:token:admin'];
      const withAdminScope = new ZoomApiClient({ accountId: master.accountId, clientId: master.clientId, clientSecret: master.clientSecret, subAccountId: master.subAccountId, ...masterBases }, captureLogs().log);
      await expect(withAdminScope.captionUrl({ kind: 'webinar', id: MEETING })).rejects.toMatchObject({ code: 'ZOOM_API_SCOPE_MISSING', message: expect.stringContaining('add webinar:read:token:master (or the classic webinar:master)') });
    } finally {
      await master.stop();
    }
  });

  it('never logs the client secret, the access token or the caption signature', async () => {
    api.meetings.set(MEETING, { started: true, captionUrl: () => zoom.captionUrl() });
    const logs = captureLogs();
    const sink = new ZoomSink(
      { source: { target: { kind: 'meeting', id: MEETING }, api: client(logs.log) }, lang: 'en-US', stateDir: await mkdtemp(join(tmpdir(), 'cb-api-')), requestTimeoutMs: 1000, giveUpAfterMs: 1000, maxLines: 2 },
      logs.log,
    );
    await sink.start();
    await sink.deliver({ text: 'hello', words: ['hello'], start: 0, end: 1, releasedAt: 0, spokenAt: 0, wordsSpokenAt: [] });
    await sink.close();
    expect(zoom.accepted.map((c) => c.body)).toEqual(['hello']);
    const text = logs.text();
    expect(text).toContain('Caption URL obtained');
    for (const secret of [api.clientSecret, [...api.issuedTokens.keys()][0]!, zoom.query.signature]) expect(text).not.toContain(secret);
  });
});

describe('Caption URL from the API: waiting for the meeting, renewing before expiry', () => {
  it('waits for a meeting that has not started, then renews the URL and keeps the seq going', async () => {
    let issued = 0;
    const meeting = {
      started: false,
      captionUrl: () => {
        issued += 1;
        const signature = `sig-${issued}`;
        zoom.acceptedSignatures.add(signature);
        // One-second life: the sink must renew it (at 80 %, here bounded below by minRenewMs).
        return zoom.captionUrl({ signature, expire: String(Math.floor(Date.now() / 1000) + 1) });
      },
    };
    api.meetings.set(MEETING, meeting);
    const stateDir = await tempDirForTest('cb-api-');
    const sink = new ZoomSink(
      { source: { target: { kind: 'meeting', id: MEETING }, api: client() }, lang: 'en-US', stateDir, requestTimeoutMs: 1000, giveUpAfterMs: 2000, maxLines: 2, minRenewMs: 300, maxUrlWaitMs: 30_000 },
      captureLogs().log,
    );
    await sink.start();
    const first = sink.deliver({ text: 'before start', words: [], start: 0, end: 1, releasedAt: 0, spokenAt: 0, wordsSpokenAt: [] });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(zoom.accepted).toEqual([]); // not started: nothing can be posted yet
    meeting.started = true;
    void sink.onZoomMeeting('started'); // as the meeting.started webhook does: no waiting for the next poll
    expect(await first).toMatchObject({ status: 'accepted', seq: 1 });
    await waitUntil(() => issued >= 2, { what: 'the Caption URL renewed before it expires' });
    expect(await sink.deliver({ text: 'after renewal', words: [], start: 0, end: 1, releasedAt: 0, spokenAt: 0, wordsSpokenAt: [] })).toMatchObject({ status: 'accepted', seq: 2 });
    await sink.close();
    await sink.close();
    expect(zoom.violations).toEqual([]);
    expect(zoom.requests.filter((r) => r.method === 'POST').length).toBe(2);
    await rm(stateDir, { recursive: true, force: true });
  });
});

describe('Zoom webhook signature', () => {
  const secret = 'webhook-secret-token';
  const body = JSON.stringify({ event: 'meeting.started', payload: { object: { id: MEETING } } });

  it('accepts a signed request once and refuses unsigned, forged, stale and replayed ones', async () => {
    const verifier = new ZoomWebhookVerifier(secret);
    const headers = signWebhook(secret, body);
    expect(await verifier.verify(headers, Buffer.from(body))).toMatchObject({ ok: true, event: { event: 'meeting.started' } });
    expect(await verifier.verify(headers, Buffer.from(body))).toMatchObject({ ok: false, status: 409, reason: 'replayed request' });
    expect(await verifier.verify({}, Buffer.from(body))).toMatchObject({ ok: false, status: 401, reason: 'unsigned request' });
    expect(await verifier.verify(signWebhook('other-secret', body), Buffer.from(body))).toMatchObject({ ok: false, reason: 'bad signature' });
    expect(await verifier.verify(headers, Buffer.from(body.replace(MEETING, '999999999')))).toMatchObject({ ok: false, reason: 'bad signature' });
    const old = signWebhook(secret, body, Math.floor(Date.now() / 1000) - 600);
    expect(await verifier.verify(old, Buffer.from(body))).toMatchObject({ ok: false, reason: 'stale timestamp' });
  });

  it('answers the URL validation challenge with the HMAC of the plain token', () => {
    const verifier = new ZoomWebhookVerifier(secret);
    // Known answer, computed independently: printf '%s' abc | openssl dgst -sha256 -hmac webhook-secret-token
    expect(verifier.validationResponse('abc')).toEqual({
      plainToken: 'abc',
      encryptedToken: 'c2769f9dc323215b3942440f76e937a0d50d723f8acd6d69a95157956b15eb38',
    });
  });
});

describe('daemon with a Zoom app: webhooks start and end the captioning', () => {
  let daemon: Daemon;
  let dir: string;
  const secret = 'daemon-webhook-secret';
  const logs = captureLogs('info');
  const sentence = concatSamples([roomNoise(0.5), readWav(librivoxClips()[0]!.path).samples, roomNoise(1)]);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cb-webhook-'));
    api.meetings.set(MEETING, { started: false, captionUrl: () => zoom.captionUrl() });
    const config = parseConfig(
      `http: { host: 127.0.0.1, port: 0, adminToken: admin-token-0123456789 }
state: { dir: ${dir} }
zoomApi:
  accountId: \${ZOOM_ACCOUNT_ID}
  clientId: \${ZOOM_CLIENT_ID}
  clientSecret: \${ZOOM_CLIENT_SECRET}
  webhookSecret: \${ZOOM_WEBHOOK_SECRET}
  apiBase: ${bases.apiBase}
  oauthBase: ${bases.oauthBase}
meetings:
  - id: townhall
    source: { type: websocket, token: townhall-token }
    captions: [ { zoom: { meetingId: "${MEETING}" } } ]
`,
      'webhook.yaml',
      { ZOOM_ACCOUNT_ID: api.accountId, ZOOM_CLIENT_ID: api.clientId, ZOOM_CLIENT_SECRET: api.clientSecret, ZOOM_WEBHOOK_SECRET: secret },
    );
    daemon = await startDaemon(config, logs.log);
  });
  afterEach(async () => {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const post = (body: unknown, headers: Record<string, string>): Promise<Response> =>
    fetch(`http://127.0.0.1:${daemon.port}/zoom/webhook`, { method: 'POST', headers, body: JSON.stringify(body) });
  const signed = (body: unknown): Promise<Response> => post(body, signWebhook(secret, JSON.stringify(body)));

  it('validates the endpoint, starts on meeting.started, refuses forgeries and replays, captions via the fetched URL', async () => {
    expect((await fetch(`http://127.0.0.1:${daemon.port}/readyz`)).status).toBe(200); // ready before the meeting starts

    const challenge = { event: 'endpoint.url_validation', payload: { plainToken: 'qgg8vlvZRS6UYooatFL8Aw' } };
    const validation = await signed(challenge);
    expect(validation.status).toBe(200);
    expect(await validation.json()).toEqual(new ZoomWebhookVerifier(secret).validationResponse('qgg8vlvZRS6UYooatFL8Aw'));
    expect((await post(challenge, { 'content-type': 'application/json' })).status).toBe(401);

    // Until the meeting starts, /meetings says why there are no captions, in words the operator can act on.
    const destination = async (): Promise<{ problem?: string }> => {
      const answer = await fetch(`http://127.0.0.1:${daemon.port}/meetings`, { headers: { authorization: 'Bearer admin-token-0123456789' } });
      return ((await answer.json()) as { meetings: { destinations: { problem?: string }[] }[] }).meetings[0]!.destinations[0]!;
    };
    await waitUntil(async () => (await destination()).problem !== undefined, { timeoutMs: 5_000, what: "the destination's problem shown" });
    expect((await destination()).problem).toMatch(/^Meeting 123456789 has not started: the host has to start it/);

    api.meetings.get(MEETING)!.started = true;
    const started = { event: 'meeting.started', event_ts: Date.now(), payload: { object: { id: MEETING, topic: 'Town hall' } } };
    const headers = signWebhook(secret, JSON.stringify(started));
    expect((await post(started, headers)).status).toBe(200);
    expect((await post(started, headers)).status).toBe(409); // the same signed request again is a replay

    const outcome = await streamAudio(`ws://127.0.0.1:${daemon.port}/ingest/townhall`, sentence, { token: 'townhall-token', realtime: false });
    expect(outcome.code).toBe(1000);
    expect(zoom.accepted.length).toBeGreaterThan(0);
    expect(zoom.text()).toMatch(/leisure/i);
    expect(zoom.violations).toEqual([]);
    expect((await destination()).problem).toBeUndefined();
    for (const secretText of [secret, api.clientSecret, zoom.query.signature]) expect(logs.text()).not.toContain(secretText);
    expect(logs.text()).toContain('Zoom webhook refused');
  });

  it('meeting.ended ends the open stream and delivers its last captions', async () => {
    api.meetings.get(MEETING)!.started = true;
    await signed({ event: 'meeting.started', payload: { object: { id: MEETING } } });
    const long = concatSamples([sentence, sentence, sentence, sentence]);
    const streaming = streamAudio(`ws://127.0.0.1:${daemon.port}/ingest/townhall`, long, { token: 'townhall-token', closeStream: false });
    await waitUntil(() => zoom.accepted.length > 0, { what: 'a first caption' });
    const beforeEnd = zoom.accepted.length;
    expect((await signed({ event: 'meeting.ended', payload: { object: { id: MEETING } } })).status).toBe(200);
    const outcome = await streaming;
    expect(outcome).toMatchObject({ code: 1000, reason: 'stream complete' });
    expect(outcome.messages).toEqual([expect.objectContaining({ type: 'Metadata' })]);
    // Ended a few seconds into a ~28 s stream, and what was said until then was captioned: the words still waiting
    // at the end went out after it, the sentence under way closed.
    expect(Date.now() - outcome.startedAt).toBeLessThan(15_000);
    expect(zoom.text()).toMatch(/dashwood/i);
    expect(zoom.accepted.length).toBeGreaterThan(beforeEnd);
    expect(zoom.accepted.at(-1)!.body).toMatch(/\.$/);
    expect(zoom.violations).toEqual([]);
  });
});

describe('config and command line for the Zoom app', () => {
  it('requires the app credentials as soon as a meeting is named by id', () => {
    const yaml = `meetings:\n  - id: a\n    source: { type: websocket, token: t }\n    captions: [ { zoom: { meetingId: "${MEETING}" } } ]\n`;
    expect(() => parseConfig(yaml, 'c.yaml', {})).toThrow(/meetings\[0\]\.captions\[0\]\.zoom\.meetingId: meetings\[0\]'s meetingId needs a zoomApi section/);
    const withEmpty = `zoomApi: { accountId: "\${ZOOM_ACCOUNT_ID:-}", clientId: x, clientSecret: y }\n${yaml}`;
    expect(() => parseConfig(withEmpty, 'c.yaml', {})).toThrow(/zoomApi\.accountId: zoomApi\.accountId is empty \(set ZOOM_ACCOUNT_ID\)/);
    expect(() => parseConfig(yaml.replace(`meetingId: "${MEETING}"`, `meetingId: "12", url: "https://x/y"`), 'c.yaml', {})).toThrow(/exactly one of url, meetingId, webinarId/);
  });

  it('zoom-url is a doctor: credentials, scopes, account settings, the meeting, the URL, and what the host still has to do', async () => {
    api.meetings.set(MEETING, { started: true, captionUrl: () => zoom.captionUrl() });
    const env = { PATH: process.env.PATH, ZOOM_ACCOUNT_ID: api.accountId, ZOOM_CLIENT_ID: api.clientId, ZOOM_CLIENT_SECRET: api.clientSecret, ZOOM_API_BASE: bases.apiBase, ZOOM_OAUTH_BASE: bases.oauthBase };
    const run = async (...args: string[]): Promise<{ code: number; out: string }> => {
      const { execFile } = await import('node:child_process');
      return new Promise((resolve) =>
        execFile(process.execPath, [CLI, 'zoom-url', ...args], { env }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, out: stdout + stderr })),
      );
    };
    const doctor = (...extra: string[]): Promise<{ code: number; out: string }> => run('--meeting', MEETING, ...extra);
    // The account as a whole, for accountMeetings: no meeting named, nothing to fix, RTMS left to the person.
    const account = await run('--account');
    expect(account.code).toBe(0);
    expect(account.out).toMatch(/^ok  the app may read a meeting's host and topic/m);
    expect(account.out).toMatch(/^\?\?  Realtime Media Streams cannot be checked without starting one .*General app.*meeting:read:meeting_audio.*meeting\.rtms_interrupted/m);
    expect(account.out).toContain("auto-start setting");
    expect(account.out).not.toMatch(/Caption URL/);
    const healthy = await doctor();
    expect(healthy.code).toBe(0);
    expect(healthy.out.split('\n').filter((line) => /^(ok|FIX|\?\?) /.test(line)).map((line) => line.slice(0, 4))).toEqual(['ok  ', 'ok  ', 'ok  ', 'ok  ', 'ok  ']);
    expect(healthy.out).toContain('Use a 3rd-party CC service');
    expect(healthy.out).not.toContain(zoom.query.signature);
    // What an audio source from Zoom needs, checked without starting it.
    const livestream = await doctor('--source', 'zoom-livestream');
    expect(livestream.code).toBe(1);
    expect(livestream.out).toMatch(/^FIX the app lacks the live stream scopes: add meeting:update:livestream:admin and meeting:update:livestream_status:admin/m);
    expect(api.calls.livestream).toBe(0);
    api.scopes.push('meeting:update:livestream:admin', 'meeting:update:livestream_status:admin');
    expect((await doctor('--source', 'zoom-livestream')).out).toMatch(/^ok  the app may set and start meeting 123456789's live stream/m);
    expect((await doctor('--source', 'zoom-rtms')).out).toMatch(/^\?\?  Realtime Media Streams cannot be checked without starting one/m);

    api.scopes = ['meeting:read:token:admin'];
    api.captionApiEnabled = false;
    const settingsOff = await doctor();
    expect(settingsOff.code).toBe(1);
    expect(settingsOff.out).toMatch(/^\?\?  could not read the account settings \(optional scope account:read:settings:admin/m);
    expect(settingsOff.out).toMatch(/^FIX Zoom will not give a Caption URL for meeting 123456789 because the caption API is off/m);

    api.scopes = ['meeting:read:meeting:admin', 'account:read:settings:admin'];
    api.captionApiEnabled = true;
    api.meetings.get(MEETING)!.started = false;
    const noScope = await doctor();
    expect(noScope.code).toBe(1);
    expect(noScope.out).toMatch(/^FIX the app lacks the scope for the caption token: add meeting:read:token:admin \(or the classic meeting:read:admin\)/m);
    expect(noScope.out).toMatch(/^ok  meeting 123456789 exists \("Weekly all-hands"\), status waiting/m);
    console.log(`zoom-url doctor, missing scope:\n${noScope.out}`);

    // Zoom out of reach (a closed port here; DNS, a firewall or a missing proxy in life): said in those terms, and
    // nothing after it pretends all is well.
    const { createServer } = await import('node:net');
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    env.ZOOM_OAUTH_BASE = `http://127.0.0.1:${closedPort}`;
    const unreachable = await doctor();
    expect(unreachable.code).toBe(1);
    expect(unreachable.out).toMatch(/^FIX cannot reach Zoom from here: the connection was refused \(nothing listens there, or a firewall\)/m);
    expect(unreachable.out).toContain('Nothing else was checked: fix the line above, then run this again.');
    expect(unreachable.out).not.toContain('Then, in Zoom');
  });

  it('zoom-url prints the redacted Caption URL, or says what is missing', () => {
    api.meetings.set(MEETING, { started: true, captionUrl: () => zoom.captionUrl() });
    const env = { PATH: process.env.PATH, ZOOM_ACCOUNT_ID: api.accountId, ZOOM_CLIENT_ID: api.clientId, ZOOM_CLIENT_SECRET: api.clientSecret, ZOOM_API_BASE: bases.apiBase, ZOOM_OAUTH_BASE: bases.oauthBase };
    // spawnSync would block this process's event loop, and with it the fake API: run the CLI asynchronously.
    return new Promise<void>((resolve, reject) => {
      import('node:child_process').then(({ execFile }) =>
        execFile(process.execPath, [CLI, 'zoom-url', '--meeting', MEETING], { env }, (error, stdout, stderr) => {
          try {
            expect(error).toBeNull();
            expect(stdout).toContain('/closedcaption?id=200610693');
            expect(stdout).toContain('signature=REDACTED');
            expect(stdout + stderr).not.toContain(zoom.query.signature);
            const missing = spawnSync(process.execPath, [CLI, 'zoom-url', '--meeting', MEETING], { encoding: 'utf8', env: { PATH: process.env.PATH } });
            expect(missing.status).toBe(2);
            expect(missing.stderr).toContain('set ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID, ZOOM_CLIENT_SECRET');
            resolve();
          } catch (err) {
            reject(err);
          }
        }),
      );
    });
  });
});
