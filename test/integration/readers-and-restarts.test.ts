import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { readRecord } from '../../src/control/fleet/records.js';
import { PageRelay } from '../../src/http/page-relay.js';
import { silentLogger } from '../../src/log.js';
import { signWebhook } from '../helpers/fake-zoom-api.js';
import { refusedUpgrade } from '../helpers/ws-client.js';
import { waitUntil } from '../helpers/wait.js';

const VIEWER = 'viewer-token-0123456789abcdef';
const INGEST = 'ingest-token-0123456789abcdef';
const ADMIN = 'admin-token-0123456789abcdef';
const WEBHOOK_SECRET = 'webhook-secret-0123456789abcdef';

/** A reader that opens the event stream and never reads past the headers (a frozen tab, or an attacker's socket). */
function idleReader(url: string, headers: Record<string, string>): Promise<{ status: number; body: string; close: () => void }> {
  return new Promise((resolve, reject) => {
    const request = get(url, { headers, agent: false }, (res: IncomingMessage) => {
      if (res.statusCode === 200) return resolve({ status: 200, body: '', close: () => res.destroy() });
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, close: () => undefined }));
    });
    request.on('error', reject);
  });
}

/** The WebSocket ingest opens (the right token, from `address` as a trusted proxy names it). */
function ingestOpens(port: number, meeting: string, address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ingest/${meeting}`, { headers: { authorization: `Bearer ${INGEST}`, 'x-forwarded-for': address } });
    ws.on('open', () => {
      ws.close(1000);
      resolve(true);
    });
    ws.on('unexpected-response', () => resolve(false));
    ws.on('error', () => resolve(false));
  });
}

describe('readers cannot take the bridge away, and what they see survives a restart', () => {
  let dir: string;
  let daemon: Daemon;
  let base: string;
  const yaml = (stateDir: string): string => `http: { host: 127.0.0.1, port: 0, adminToken: ${ADMIN}, trustedProxies: [127.0.0.1], maxReaders: 30 }
state: { dir: ${stateDir} }
zoomApi: { accountId: acct, clientId: client, clientSecret: client-secret-0123456789, webhookSecret: ${WEBHOOK_SECRET} }
meetings:
  - id: stage
    source: { type: websocket, token: ${INGEST} }
    captions: [ { page: { token: ${VIEWER}, maxReaders: 20, maxReadersPerAddress: 5 } } ]
  - id: hall
    source: { type: websocket, token: hall-ingest-0123456789abcdef }
    captions: [ { page: { public: true, maxReaders: 20, maxReadersPerAddress: 20 } } ]
`;
  const start = async (): Promise<void> => {
    daemon = await startDaemon(parseConfig(yaml(dir), 'test.yaml', {}), silentLogger);
    base = `http://127.0.0.1:${daemon.port}`;
  };
  const admin = (address: string, token = ADMIN): Promise<Response> => fetch(`${base}/meetings`, { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': address } });
  const caption = async (meeting: string, text: string): Promise<void> => {
    const answer = await fetch(`${base}/console/api/meetings/${meeting}/actions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'x-console-action': '1', 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'caption', text }),
    });
    expect(answer.status).toBe(200);
  };
  const events = async (path: string): Promise<{ seq: number; text: string }[]> => {
    const controller = new AbortController();
    const answer = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${VIEWER}` }, signal: controller.signal });
    const reader = answer.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    const timer = setTimeout(() => controller.abort(), 1_000);
    try {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        text += chunk.value;
      }
    } catch {
      // The stream stays open for captions to come: what came in the first second is what there was.
    }
    clearTimeout(timer);
    return [...text.matchAll(/^data: (\{.*\})$/gm)].map((m) => JSON.parse(m[1]!) as { seq: number; text: string }).filter((c) => c.seq !== undefined);
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cb-readers-'));
    await start();
  });

  afterAll(async () => {
    await daemon?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('readers have a budget of their own and one address a share of a page: ingest, health and admin keep theirs', async () => {
    const stage = `${base}/captions/stage/events`;
    const asReader = (address: string): Record<string, string> => ({ authorization: `Bearer ${VIEWER}`, 'x-forwarded-for': address });
    // Proxies that write the client's port: each address is still itself (not the proxy, one bucket for all).
    const open = [];
    for (let i = 0; i < 5; i++) open.push(await idleReader(stage, asReader('198.51.100.1:40001')));
    expect(open.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const sixth = await idleReader(stage, asReader('198.51.100.1:40002'));
    expect(sixth.status).toBe(503);
    expect(sixth.body).toMatch(/5 readers from your address already/);
    open.push(await idleReader(stage, asReader('[2001:db8::1]:40001')));
    expect(open.at(-1)!.status).toBe(200);

    // Readers up to the process's budget (30), from many addresses and both pages.
    for (let i = 0; open.length < 30; i++) {
      const page = i % 2 === 0 ? `${base}/captions/hall/events` : stage;
      open.push(await idleReader(page, asReader(`203.0.113.${i + 1}`)));
    }
    expect(open.every((r) => r.status === 200)).toBe(true);
    const beyond = await idleReader(`${base}/captions/hall/events`, { 'x-forwarded-for': '192.0.2.200' });
    expect(beyond).toMatchObject({ status: 503, body: expect.stringMatching(/serves 30 readers, the most it takes/) });
    expect(await refusedUpgrade(`ws://127.0.0.1:${daemon.port}/captions/hall/feed`, { 'x-forwarded-for': '192.0.2.201' })).toMatchObject({ status: 503 });

    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await admin('192.0.2.10')).status).toBe(200);
    expect(await ingestOpens(daemon.port, 'stage', '192.0.2.10')).toBe(true);

    for (const reader of open) reader.close();
    await waitUntil(async () => (await idleReader(`${base}/captions/hall/events`, { 'x-forwarded-for': '192.0.2.202' }).then((r) => (r.close(), r.status))) === 200, { what: 'readers freed their places' });
  });

  it('wrong viewer tokens lock an address out of the page only; a blocked admin is told it is blocked', async () => {
    const room = '203.0.113.77';
    for (let i = 0; i < 10; i++) expect((await idleReader(`${base}/captions/stage/events`, { authorization: 'Bearer wrong-viewer-token-000000', 'x-forwarded-for': room })).status).toBe(401);
    expect((await idleReader(`${base}/captions/stage/events`, { authorization: `Bearer ${VIEWER}`, 'x-forwarded-for': room })).status).toBe(429);
    // The mixer and the operator behind the same NAT as the room's audience still get in.
    expect((await admin(room)).status).toBe(200);
    expect(await ingestOpens(daemon.port, 'stage', room)).toBe(true);

    const guesser = '203.0.113.78';
    for (let i = 0; i < 10; i++) expect((await admin(guesser, 'wrong-admin-token-00000000')).status).toBe(401);
    const blocked = await admin(guesser);
    expect(blocked.status).toBe(429);
    expect(await blocked.json()).toEqual({ error: 'too many failed attempts from this address; try again in a minute' });
  });

  it('a console path that is not valid percent-encoding is a 400, not a 500', async () => {
    const answer = await fetch(`${base}/console/api/meetings/%E0%A4%A/actions`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'x-console-action': '1' }, body: '{"action":"pause"}' });
    expect(answer.status).toBe(400);
  });

  it('after a restart the page numbers on, a reconnecting page gets what followed, a new one the whole meeting; a replayed webhook stays refused', async () => {
    for (const text of ['First.', 'Second.', 'Third.']) await caption('stage', text);
    expect((await events('/captions/stage/events')).map((c) => [c.seq, c.text])).toEqual([[1, 'First.'], [2, 'Second.'], [3, 'Third.']]);
    const body = JSON.stringify({ event: 'meeting.started', payload: { object: { id: '123456789', uuid: 'abc==' } } });
    const signed = signWebhook(WEBHOOK_SECRET, body);
    expect((await fetch(`${base}/zoom/webhook`, { method: 'POST', headers: signed, body })).status).toBe(200);
    expect((await fetch(`${base}/zoom/webhook`, { method: 'POST', headers: signed, body })).status).toBe(409);

    await daemon.stop();
    await start();
    expect((await fetch(`${base}/zoom/webhook`, { method: 'POST', headers: signed, body })).status).toBe(409);
    for (const text of ['Fourth.', 'Fifth.']) await caption('stage', text);
    expect((await events('/captions/stage/events?after=3')).map((c) => [c.seq, c.text])).toEqual([[4, 'Fourth.'], [5, 'Fifth.']]);
    expect((await events('/captions/stage/events')).map((c) => c.text)).toEqual(['First.', 'Second.', 'Third.', 'Fourth.', 'Fifth.']);
    // The archive of each run holds its own captions as cues; a caption with blank lines writes no cue of its own.
    await caption('stage', 'ok.\r\r00:00:02.000 ---> 09:00:00.000\rFORGED');
    const archive = join(dir, 'transcripts', 'stage');
    await waitUntil(async () => (await readdir(archive)).length >= 4, { what: 'two runs archived' });
    const newest = (await readdir(archive)).filter((f) => f.endsWith('.vtt')).sort().at(-1)!;
    await waitUntil(async () => (await readFile(join(archive, newest), 'utf8')).includes('FORGED'), { what: 'the forged-looking caption archived' });
    const cues = (await readFile(join(archive, newest), 'utf8')).split('\n').filter((line) => line.includes('-->'));
    expect(cues).toHaveLength(3);
  });
});

describe('the caption page relay in a fleet', () => {
  let owner: Server;
  let front: Server;
  let ownerAnswer: { status: number; type: string; body: string };
  let ownerRequests = 0;
  let ownerUrl = '';
  const relay = new PageRelay('front', silentLogger);

  beforeAll(async () => {
    owner = createServer((_req, res) => {
      ownerRequests += 1;
      res.writeHead(ownerAnswer.status, { 'content-type': ownerAnswer.type }).end(ownerAnswer.body);
    });
    await new Promise<void>((resolve) => owner.listen(0, '127.0.0.1', resolve));
    const ownerOrigin = `http://127.0.0.1:${(owner.address() as AddressInfo).port}`;
    front = createServer((req, res) => relay.events(req, res, '/captions/m/events', undefined, { ownerUrl: ownerUrl || ownerOrigin, token: VIEWER }));
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    ownerUrl = ownerOrigin;
  });

  afterAll(async () => {
    await new Promise((resolve) => owner.close(resolve));
    await new Promise((resolve) => front.close(resolve));
  });

  const read = async (): Promise<{ status: number; type: string | null; body: string }> => {
    const answer = await fetch(`http://127.0.0.1:${(front.address() as AddressInfo).port}/captions/m/events`);
    return { status: answer.status, type: answer.headers.get('content-type'), body: await answer.text() };
  };

  it('passes on the owner\'s feed and its refusals, nothing else, and goes only to a bare http(s) origin', async () => {
    ownerAnswer = { status: 200, type: 'text/event-stream; charset=utf-8', body: 'event: end\ndata: {"reason":"x"}\n\n' };
    expect(await read()).toMatchObject({ status: 200, type: 'text/event-stream; charset=utf-8' });
    ownerAnswer = { status: 401, type: 'application/json', body: '{"error":"wrong viewer token"}' };
    expect(await read()).toMatchObject({ status: 401, body: '{"error":"wrong viewer token"}' });
    ownerAnswer = { status: 200, type: 'text/html', body: '<script>alert(1)</script>' };
    const html = await read();
    expect(html).toMatchObject({ status: 502, type: 'application/json' });
    expect(html.body).not.toContain('script');
    ownerAnswer = { status: 302, type: 'application/json', body: '{}' };
    expect((await read()).status).toBe(502);

    const before = ownerRequests;
    ownerUrl = `${ownerUrl}/latest/meta-data/iam#`;
    expect((await read()).status).toBe(502);
    expect(ownerRequests).toBe(before);
    // Nor is such an address taken from etcd, or written there.
    expect(readRecord('members', JSON.stringify({ name: 'p', url: 'http://169.254.169.254/latest/meta-data/iam#', accepting: true, since: 1 }))).toMatchObject({ problem: expect.stringMatching(/url/) });
    expect(readRecord('members', JSON.stringify({ name: 'p', url: 'http://10.0.0.7:8080', accepting: true, since: 1 }))).toHaveProperty('record');
    expect(() => parseConfig('fleet: { etcd: { endpoints: [http://127.0.0.1:2379] }, advertiseUrl: "http://x/y?z" }\nmeetings: [ { id: a, source: { type: websocket, token: t }, captions: [ { stdout: {} } ] } ]\n', 'f.yaml', {})).toThrow(/fleet\.advertiseUrl: expected an http:\/\/ or https:\/\/ origin/);
  });
});
