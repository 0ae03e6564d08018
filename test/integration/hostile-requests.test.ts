import { waitUntil } from '../helpers/wait.js';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { locateFfmpeg } from '../../src/ingest/ffmpeg.js';
import { readWav } from '../../src/util/wav.js';
import { freePort, startDaemonProcess, type DaemonProcess } from '../helpers/daemon-process.js';
import { FakeZoom } from '../helpers/fake-zoom.js';
import { concatSamples, librivoxClips, roomNoise } from '../helpers/speech.js';
import { refusedUpgrade, streamAudio } from '../helpers/ws-client.js';

const WEBHOOK_SECRET = 'fuzz-webhook-secret';
const STRAY = 'stray rejection injected by the test';
const RTMS_MEETING = '987654321';
let zoom: FakeZoom;
let dir: string;
let daemon: DaemonProcess;
let httpPort: number;
let rtmpPort: number;

beforeAll(async () => {
  zoom = new FakeZoom();
  const captionUrl = await zoom.start();
  dir = await mkdtemp(join(tmpdir(), 'cb-hostile-'));
  [httpPort, rtmpPort] = [await freePort(), await freePort()];
  const configFile = join(dir, 'config.yaml');
  await writeFile(
    configFile,
    `log: { level: warn }
http: { host: 127.0.0.1, port: ${httpPort}, adminToken: fuzz-admin-token-0123456789, trustedProxies: ["127.0.0.1"] }
rtmp: { host: 127.0.0.1, port: ${rtmpPort} }
state: { dir: ${join(dir, 'state')} }
shutdown: { flushSeconds: 3 }
zoomApi: { accountId: acct, clientId: client, clientSecret: secret, webhookSecret: ${WEBHOOK_SECRET}, apiBase: "http://127.0.0.1:9/v2", oauthBase: "http://127.0.0.1:9" }
meetings:
  - id: live
    source: { type: websocket, token: live-token-0123456789 }
    captions: [ { zoom: { url: "${captionUrl}" } } ]
  - id: pushed
    source: { type: rtmp, streamKey: pushed-key-0123456789 }
    captions: [ { stdout: {} } ]
  - id: fuzz
    source: { type: websocket, token: fuzz-token-0123456789 }
    captions: [ { stdout: {} } ]
  - id: rtms-fuzz
    source: { type: zoom-rtms, meetingId: "${RTMS_MEETING}" }
    captions: [ { stdout: {} } ]
`,
  );
  // Stray rejections every 200 ms for the daemon's whole life once it has loaded (a bug somewhere, as a library might
  // have): the daemon's policy logs them and keeps captioning, whatever handlers its libraries install as they load.
  // (The main thread only: --import runs in the decoder threads too.)
  const strayRejections = `data:text/javascript,import { isMainThread } from 'node:worker_threads'; if (isMainThread) setTimeout(() => setInterval(() => Promise.reject(new Error('${STRAY}')), 200).unref(), 2000).unref();`;
  daemon = await startDaemonProcess(configFile, httpPort, {}, ['--import', strayRejections]);
});

afterAll(async () => {
  await daemon?.stop();
  await zoom?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Raw bytes to a port; resolves with the first line that came back, or '' once the peer closes or stays quiet. */
function rawExchange(port: number, bytes: Buffer | string, quietMs = 1_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const done = (): void => {
      socket.destroy();
      resolve(answer.split('\r\n')[0] ?? '');
    };
    const timer = setTimeout(done, quietMs);
    socket.on('data', (d: Buffer) => {
      answer += d.toString('latin1');
      if (answer.includes('\r\n')) done();
    });
    socket.on('close', () => {
      clearTimeout(timer);
      done();
    });
    socket.on('error', () => undefined);
    socket.write(bytes);
  });
}

const PATHS = [
  '/', '//', '///', '//evil.example/x', '/\\\\', '/%', '/%00', '/%E0%A4%A', '/..', '/../../etc/passwd', '/%2e%2e/%2e%2e/',
  '/healthz/', '/healthz?%%', '/readyz#x', '/metrics', '/meetings', '/meetings/../metrics',
  '/capture/constructor', '/capture/__proto__', '/capture/toString', '/capture/hasOwnProperty', '/capture/valueOf',
  '/capture/', '/capture/%E0%A4%A', '/capture/..%2F..%2Fpackage.json', '/capture/../../package.json', '/capture/live/x',
  '/capture/index.html', '/ingest/', '/ingest/constructor', '/ingest/__proto__', '/ingest/live/extra', '/ingest/%00',
  '/ingest/live?encoding=constructor&sample_rate=NaN&channels=-1', '/v1/listen?encoding=__proto__', '/zoom/webhook',
  '/zoom/webhook/', `/${'a'.repeat(8_000)}`, '*', 'http://127.0.0.1/healthz', 'healthz',
];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'PATCH', 'CONNECT', 'BREW'];

function httpCases(): string[] {
  const cases: string[] = [];
  for (const path of PATHS) {
    for (const method of METHODS) cases.push(`${method} ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`);
    cases.push(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer live-token-0123456789\r\n\r\n`);
    cases.push(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: junk\r\n\r\n`);
  }
  const webhook = (body: string, headers = ''): string =>
    `POST /zoom/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  const signed = (body: string): string => {
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = `v0=${createHmac('sha256', WEBHOOK_SECRET).update(`v0:${timestamp}:${body}`).digest('hex')}`;
    return webhook(body, `x-zm-request-timestamp: ${timestamp}\r\nx-zm-signature: ${signature}\r\n`);
  };
  cases.push(
    webhook('{}'),
    webhook('not json'),
    webhook('{"event":'),
    webhook('x'.repeat(200_000)),
    `POST /zoom/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"truncated":`,
    `POST /zoom/webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nnot hex\r\n0\r\n\r\n`,
    // Signed, so they reach the event handler: odd shapes of real event names.
    ...['null', '[]', '"text"', '{"event":"endpoint.url_validation"}', '{"event":"endpoint.url_validation","payload":{"plainToken":{}}}',
      '{"event":"meeting.started"}', '{"event":"meeting.started","payload":null}', '{"event":"meeting.started","payload":{"object":{"id":{"x":1}}}}',
      '{"event":"meeting.ended","payload":{"object":{"id":"__proto__"}}}', '{"event":"constructor","payload":{"object":{"id":"123456789"}}}',
    ].map(signed),
    'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: ' + 'y'.repeat(40_000) + '\r\n\r\n',
    'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n',
    'GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
    'GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \u00ff\u00fe\r\n\r\n',
    'GET /meetings HTTP/1.1\r\nHost: x\r\nAuthorization: Basic Zm9vOmJhcg==\r\n\r\n',
    'GARBAGE\r\n\r\n',
    '\x00\x01\x02\x03',
    'GET / HTTP/9.9\r\n\r\n',
    'GET /healthz HTTP/1.1\r\nHost: x\r\n', // headers never finished
  );
  return cases;
}

function rtmpCases(): Buffer[] {
  const c1 = Buffer.alloc(1536, 7);
  return [
    Buffer.from('GET / HTTP/1.1\r\n\r\n'),
    Buffer.from([0x03]), // C0 and nothing else
    Buffer.concat([Buffer.from([0x03]), c1.subarray(0, 700)]), // half a C1
    Buffer.concat([Buffer.from([0x06]), c1]), // an unknown version
    Buffer.concat([Buffer.from([0x03]), c1, c1, Buffer.alloc(4_000, 0xff)]), // handshake, then junk chunks
    Buffer.alloc(70_000, 0x41),
  ];
}

async function inBatches<T, R>(items: T[], size: number, each: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += size) results.push(...(await Promise.all(items.slice(i, i + size).map(each))));
  return results;
}

describe('hostile requests', () => {
  it('no request of any shape ends the daemon or a meeting that is streaming', async () => {
    const clip = readWav(librivoxClips()[0]!.path).samples;
    const speech = concatSamples([roomNoise(0.5), clip, roomNoise(0.5), clip, roomNoise(1)]);
    const streaming = streamAudio(`ws://127.0.0.1:${httpPort}/ingest/live`, speech, { token: 'live-token-0123456789' });

    const http = httpCases();
    const rtmp = rtmpCases();
    const answers = await inBatches(http, 25, (request) => rawExchange(httpPort, request));
    await inBatches(rtmp, 6, (bytes) => rawExchange(rtmpPort, bytes));

    // The two one-request crashes this suite was written for answer like any other bad path.
    const statusOf = (request: string): string => answers[http.indexOf(request)]!;
    expect(statusOf('GET // HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n')).toMatch(/^HTTP\/1\.1 404/);
    expect(statusOf('GET /capture/constructor HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n')).toMatch(/^HTTP\/1\.1 404/);
    // Every HTTP request was answered or closed; none got a 500 (a handler that threw).
    expect(answers.filter((a) => a.includes(' 500 '))).toEqual([]);

    expect(daemon.child.exitCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status).toBe(200);
    const outcome = await streaming;
    expect(outcome.code).toBe(1000);
    expect(zoom.text()).toMatch(/dashwood/i);
    expect(zoom.violations).toEqual([]);
    console.log(`hostile requests: ${http.length} HTTP and ${rtmp.length} RTMP cases, daemon alive, ${zoom.accepted.length} captions`);
  });

  it('a flood of RTMP handshakes declaring 16 MiB messages costs little memory, and a real publisher still gets in', async () => {
    const rss = (): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${daemon.child.pid}/status`, 'utf8'))![1]) / 1024;
    const before = rss();
    // C0, C1, C2, then a type-0 chunk header declaring a 16 MiB command message (the parser would allocate it).
    const hostile = Buffer.concat([Buffer.from([0x03]), Buffer.alloc(1536, 1), Buffer.alloc(1536, 2), Buffer.from([0x03, 0, 0, 0, 0xff, 0xff, 0xff, 0x14, 0, 0, 0, 0]), Buffer.alloc(512, 3)]);
    const answers = await inBatches(Array.from({ length: 200 }, () => hostile), 40, (bytes) => rawExchange(rtmpPort, bytes, 2_000));
    const grown = rss() - before;
    console.log(`rtmp flood: 200 connections declaring 16 MiB each; daemon RSS ${before.toFixed(0)} -> ${rss().toFixed(0)} MiB`);
    expect(answers).toHaveLength(200);
    expect(grown).toBeLessThan(100); // unbounded, this would be 200 x 16 MiB
    expect(daemon.child.exitCode).toBeNull();

    const clip = librivoxClips()[0]!.path;
    const published = await new Promise<number | null>((resolve) =>
      execFile(locateFfmpeg(), ['-loglevel', 'error', '-re', '-i', clip, '-c:a', 'aac', '-f', 'flv', `rtmp://127.0.0.1:${rtmpPort}/live/pushed-key-0123456789`], (err) => resolve(err ? 1 : 0)),
    );
    expect(published).toBe(0);
    await waitUntil(() => /\[pushed\] .*(john|leisure|consider|power)/i.test(daemon.stdout()), { timeoutMs: 10_000, what: 'captions of the pushed RTMP stream' });
  });

  it('refuses a web page of another origin, and an address that keeps guessing tokens', async () => {
    const ingest = `ws://127.0.0.1:${httpPort}/ingest/live`;
    const good = { Authorization: 'Bearer live-token-0123456789' };
    expect(await refusedUpgrade(ingest, { ...good, Origin: 'https://evil.example' })).toMatchObject({ status: 403, body: expect.stringContaining('origin not allowed') });
    // The capture page, served by the bridge itself, may publish (same origin).
    const sameOrigin = await streamAudio(ingest, roomNoise(0.3), { token: 'live-token-0123456789', realtime: false, headers: { Origin: `http://127.0.0.1:${httpPort}` } });
    expect(sameOrigin.code).toBe(1000);
    // The guesser comes from another loopback address, so the publishers of the tests below are not the ones blocked.
    const guesser = '127.0.0.2';
    const guesses = await Promise.all(Array.from({ length: 12 }, (_, i) => refusedUpgrade(ingest, { Authorization: `Bearer guess-${i}` }, guesser)));
    expect(guesses.map((g) => g.status)).toContain(429);
    // Blocked for a while even with the right token; other addresses are not affected.
    expect((await refusedUpgrade(ingest, good, guesser)).status).toBe(429);
    expect((await streamAudio(ingest, roomNoise(0.3), { token: 'live-token-0123456789', realtime: false })).code).toBe(1000);
    // Behind a trusted proxy (here 127.0.0.1), each client is counted by X-Forwarded-For: a guesser behind it blocks
    // itself, not the other clients of the same proxy.
    const viaProxy = (client: string, token: string): Promise<{ status: number; body: string }> =>
      refusedUpgrade(ingest, { Authorization: `Bearer ${token}`, 'X-Forwarded-For': `${client}, 127.0.0.1` }).catch(() => ({ status: 101, body: 'accepted' }));
    const proxied = await Promise.all(Array.from({ length: 12 }, (_, i) => viaProxy('203.0.113.5', `guess-${i}`)));
    expect(proxied.map((g) => g.status)).toContain(429);
    expect((await viaProxy('203.0.113.5', 'live-token-0123456789')).status).toBe(429);
    expect((await viaProxy('203.0.113.6', 'live-token-0123456789')).status).toBe(101);
    // One IPv6 host holds a whole /64: its addresses count as one.
    const v6 = await Promise.all(Array.from({ length: 12 }, (_, i) => viaProxy(`2001:db8:1:2::${i + 1}`, `guess-${i}`)));
    expect(v6.map((g) => g.status)).toContain(429);
    expect((await viaProxy('2001:db8:1:2:ffff::9', 'live-token-0123456789')).status).toBe(429);
    expect((await viaProxy('2001:db8:1:3::1', 'live-token-0123456789')).status).toBe(101);
    // Not from a trusted proxy: the header is the client's own word and counts for nothing.
    expect((await refusedUpgrade(ingest, { ...good, 'X-Forwarded-For': '203.0.113.6' }, guesser)).status).toBe(429);
  });

  it('idle RTMP connections filling every slot do not lock out a publisher: the oldest idle one goes', async () => {
    // 64 connections that never publish, 8 from each of 8 addresses, kept open (renewed as the bridge closes them).
    const idle = new Set<import('node:net').Socket>();
    let renewing = true;
    const open = (from: string): void => {
      if (!renewing) return;
      const socket = connect({ port: rtmpPort, host: '127.0.0.1', localAddress: from });
      socket.on('error', () => undefined);
      socket.on('close', () => {
        idle.delete(socket);
        setTimeout(() => open(from), 50);
      });
      idle.add(socket);
    };
    for (let a = 10; a < 18; a++) for (let i = 0; i < 8; i++) open(`127.0.0.${a}`);
    await new Promise((r) => setTimeout(r, 500));
    const clip = librivoxClips()[0]!.path;
    const published = await new Promise<number | null>((resolve) =>
      execFile(locateFfmpeg(), ['-loglevel', 'error', '-re', '-i', clip, '-c:a', 'aac', '-f', 'flv', `rtmp://127.0.0.1:${rtmpPort}/live/pushed-key-0123456789`], (err) => resolve(err ? 1 : 0)),
    );
    renewing = false;
    for (const socket of idle) socket.destroy();
    expect(published).toBe(0);
    expect(daemon.stderr()).toContain('rtmp: too many connections not publishing; the oldest is closed');
  });
});

/** One authenticated publisher sending `frames`; resolves with how the bridge closed it (or 'open' if it did not). */
function publishFrames(path: string, token: string, frames: (string | Buffer)[], waitMs = 1_500): Promise<{ code: number | 'open' | 'refused'; reason: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${httpPort}${path}`, { headers: { Authorization: `Bearer ${token}` } });
    const timer = setTimeout(() => {
      ws.terminate();
      resolve({ code: 'open', reason: '' });
    }, waitMs);
    ws.on('open', () => {
      for (const frame of frames) if (ws.readyState === ws.OPEN) ws.send(frame, { binary: typeof frame !== 'string' });
    });
    ws.on('close', (code, reason) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString() });
    });
    ws.on('unexpected-response', () => {
      clearTimeout(timer);
      resolve({ code: 'refused', reason: '' });
    });
    ws.on('error', () => undefined);
  });
}

/** Every shape of text frame a token holder can send, and binary frames of odd sizes in every encoding. */
function frameCases(): { path: string; frames: (string | Buffer)[]; label: string }[] {
  const texts = [
    `{"type":"${'€'.repeat(60)}"}`, `{"type":"${'😀'.repeat(200)}"}`, `{"type":"${'x'.repeat(300_000)}"}`, '{"type":null}', '{"type":{"a":1}}',
    '{"type":["KeepAlive"]}', '{"type":"__proto__"}', '{"type":"constructor"}', '{"__proto__":{"type":"CloseStream"}}', '[]', 'null', '"KeepAlive"',
    '123', '', ' ', '{', 'not json', '\u0000', '{"type":"KeepAlive"}', '{"type":"Finalize"}', '{"type":"CloseStream"}', '{"type":"keepalive"}',
  ];
  const odd = [Buffer.alloc(0), Buffer.alloc(1, 1), Buffer.alloc(3, 0x7f), Buffer.alloc(4_097, 0x80), Buffer.alloc(1 << 20, 0x11), Buffer.alloc((1 << 20) + 1, 0x22)];
  const formats = ['', '?encoding=linear16&sample_rate=44100&channels=2', '?encoding=linear16&sample_rate=8000', '?encoding=opus', '?encoding=ogg-opus', '?encoding=webm-opus'];
  const cases: { path: string; frames: (string | Buffer)[]; label: string }[] = [];
  for (const base of ['/ingest/fuzz', '/v1/listen']) {
    const join = (query: string): string => (base === '/v1/listen' ? `${base}?meeting=fuzz${query.replace('?', '&')}` : `${base}${query}`);
    for (const text of texts) cases.push({ path: join(''), frames: [text], label: `text ${text.slice(0, 30)}` });
    for (const format of formats) {
      cases.push({ path: join(format), frames: odd, label: `odd sizes ${format}` });
      cases.push({ path: join(format), frames: [...odd.slice(0, 4), '{"type":"Finalize"}', Buffer.alloc(5, 0xff), '{"type":"CloseStream"}'], label: `mixed ${format}` });
    }
    cases.push({ path: join(''), frames: Array.from({ length: 3_000 }, (_, i) => (i % 100 === 0 ? '{"type":"Finalize"}' : Buffer.alloc(321, i % 256))), label: 'flood' });
    cases.push({ path: join(''), frames: Array.from({ length: 500 }, () => '{"type":"KeepAlive"}'), label: 'keepalive flood' });
  }
  return cases;
}

describe('authenticated publishers sending odd frames', () => {
  it('close their own stream with a reason that fits the frame, never the process; another meeting keeps its captions', async () => {
    const captionsBefore = zoom.accepted.length;
    const clip = readWav(librivoxClips()[0]!.path).samples;
    const streaming = streamAudio(`ws://127.0.0.1:${httpPort}/ingest/live`, concatSamples([roomNoise(0.5), clip, roomNoise(1)]), { token: 'live-token-0123456789' });
    const cases = frameCases();
    const outcomes = [];
    for (const c of cases) outcomes.push({ ...c, ...(await publishFrames(c.path, 'fuzz-token-0123456789', c.frames)) });

    const multibyte = outcomes[0]!;
    expect(multibyte.code).toBe(1003);
    expect(Buffer.byteLength(multibyte.reason)).toBeLessThanOrEqual(123);
    expect(multibyte.reason).toMatch(/^unknown control message type "€+\.\.\.$/);
    // Each closed with a WebSocket code of its own (or stayed open for more audio); none was refused or dropped.
    const codes = new Set(outcomes.map((o) => o.code));
    for (const code of codes) expect([1000, 1003, 1007, 1008, 1009, 1011, 4009, 'open']).toContain(code);
    expect(outcomes.filter((o) => o.code === 1011)).toEqual([]);
    expect(daemon.child.exitCode).toBeNull();
    expect((await fetch(`http://127.0.0.1:${httpPort}/healthz`)).status).toBe(200);

    const outcome = await streaming;
    expect(outcome.code).toBe(1000);
    expect(zoom.accepted.length).toBeGreaterThan(captionsBefore);
    expect(zoom.accepted.slice(captionsBefore).map((c) => c.body).join(' ')).toMatch(/dashwood/i);
    expect(zoom.violations).toEqual([]);
    console.log(`frame fuzz: ${cases.length} publishers, close codes ${[...codes].join(', ')}; the other meeting got ${zoom.accepted.length - captionsBefore} captions`);
  });

  it('a stray rejection anywhere in the daemon is logged, and it keeps captioning', () => {
    // The daemon has run every test of this file under rejections injected every 200 ms.
    expect(daemon.stderr()).toContain(STRAY);
    expect(daemon.stderr()).toContain('unhandled rejection (a bug): the daemon keeps running');
    expect(daemon.child.exitCode).toBeNull();
  });
});

describe('signed webhooks with odd RTMS fields', () => {
  it('never make the bridge dial a host that is not Zoom\'s, nor end it; the streaming meeting keeps its captions', async () => {
    // A listener on another loopback address stands for an internal host: nothing may connect to it.
    const internal = createServer((socket) => socket.destroy());
    let dialled = 0;
    internal.on('connection', () => (dialled += 1));
    await new Promise<void>((resolve) => internal.listen(0, '127.0.0.2', resolve));
    const port = (internal.address() as AddressInfo).port;
    const captionsBefore = zoom.accepted.length;
    const clip = readWav(librivoxClips()[0]!.path).samples;
    const streaming = streamAudio(`ws://127.0.0.1:${httpPort}/ingest/live`, concatSamples([roomNoise(0.5), clip, roomNoise(1)]), { token: 'live-token-0123456789' });

    const urls: unknown[] = [
      `ws://127.0.0.2:${port}/signaling`, `wss://127.0.0.2:${port}/signaling`, `ws://127.0.0.2:${port}/#fragment`, `ws://user:pw@127.0.0.2:${port}/`,
      `http://127.0.0.2:${port}/`, `javascript:alert(1)`, `wss://zoom.us.127.0.0.2.example:${port}/`, `ws://[::1]:${port}/`, `,,, ,ws://127.0.0.2:${port}`,
      '', 'x'.repeat(100_000), `ws://${'a'.repeat(70_000)}`, ['wss://rtms.zoom.us'], 12345, null, {}, { toString: 'x' },
    ];
    const payloads: Record<string, unknown>[] = [];
    for (const server_urls of urls) payloads.push({ meeting_uuid: 'uuid==', meeting_id: RTMS_MEETING, rtms_stream_id: `s${payloads.length}`, server_urls });
    payloads.push(
      { meeting_uuid: 'uuid==', meeting_id: { x: 1 }, rtms_stream_id: 's-odd-id', server_urls: `ws://127.0.0.2:${port}` },
      { meeting_uuid: 'uuid==', meeting_id: Number(RTMS_MEETING), rtms_stream_id: 'x'.repeat(50_000), server_urls: `ws://127.0.0.2:${port}` },
      { meeting_uuid: { a: 1 }, meeting_id: RTMS_MEETING, rtms_stream_id: '__proto__', server_urls: `ws://127.0.0.2:${port}` },
      { meeting_uuid: 'uuid==', meeting_id: 'constructor', rtms_stream_id: 'constructor', server_urls: `ws://127.0.0.2:${port}` },
    );
    const events = ['meeting.rtms_started', 'meeting.rtms_interrupted', 'meeting.rtms_stopped', 'webinar.rtms_started'];
    const answers: number[] = [];
    for (const payload of payloads) {
      for (const event of events) {
        const body = JSON.stringify({ event, event_ts: Date.now(), payload: event.endsWith('stopped') ? { ...payload, stop_reason: '12' } : payload });
        const timestamp = String(Math.floor(Date.now() / 1000));
        const signature = `v0=${createHmac('sha256', WEBHOOK_SECRET).update(`v0:${timestamp}:${body}`).digest('hex')}`;
        const answer = await fetch(`http://127.0.0.1:${httpPort}/zoom/webhook`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-zm-request-timestamp': timestamp, 'x-zm-signature': signature },
          body,
        });
        answers.push(answer.status);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    internal.close();
    expect(dialled).toBe(0);
    expect(answers.filter((status) => status >= 500)).toEqual([]);
    expect(daemon.stderr()).toContain('RTMS signaling URL refused');
    expect(daemon.child.exitCode).toBeNull();
    expect((await streaming).code).toBe(1000);
    expect(zoom.accepted.slice(captionsBefore).map((c) => c.body).join(' ')).toMatch(/dashwood/i);
    console.log(`rtms webhook fuzz: ${answers.length} signed events, answers ${[...new Set(answers)].join(', ')}; ${dialled} connections to the internal host`);
  });
});

describe('stopping while Zoom is unreachable', () => {
  it('SIGTERM mid-stream exits 0 by the flush deadline (shutdown.flushSeconds), and records what never reached Zoom', async () => {
    zoom.outage = { kind: 'hang' };
    const clip = readWav(librivoxClips()[0]!.path).samples;
    const streaming = streamAudio(`ws://127.0.0.1:${httpPort}/ingest/live`, concatSamples([roomNoise(0.5), clip, roomNoise(1)]), { token: 'live-token-0123456789' }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 6_000));
    const stoppingAt = Date.now();
    const code = await daemon.stop('SIGTERM');
    const tookMs = Date.now() - stoppingAt;
    await streaming;
    console.log(`stop while Zoom hangs: exit ${code} after ${tookMs} ms`);
    expect(code).toBe(0);
    // The stop honoured its own deadline: the command line's last-resort timer (flush + 0.9 s) did not have to end it.
    expect(daemon.stderr()).toContain('shutdown flush deadline reached');
    expect(daemon.stderr()).not.toContain('stop did not finish in time');
    const archiveDir = join(dir, 'state', 'transcripts', 'live');
    const vtt = (await readdir(archiveDir)).filter((f) => f.endsWith('.vtt'));
    const archive = (await Promise.all(vtt.map((f) => readFile(join(archiveDir, f), 'utf8')))).join('\n');
    expect(archive).toMatch(/NOTE never reached zoom /);
    expect(archive).not.toContain(zoom.query.signature);
    expect(daemon.stderr()).toContain('caption never reached Zoom');
  });
});
