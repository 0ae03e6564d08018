import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { readWav } from '../../src/util/wav.js';
import { startDaemonProcess, freePort, type DaemonProcess } from '../helpers/daemon-process.js';
import { CuttableRelay, EtcdCluster, type EtcdMember } from '../helpers/etcd.js';
import { FakeRtms } from '../helpers/fake-rtms.js';
import { FakeZoom } from '../helpers/fake-zoom.js';
import { FakeZoomApi, sendWebhook } from '../helpers/fake-zoom-api.js';
import { concatSamples, librivoxClips, roomNoise } from '../helpers/speech.js';
import { streamAudio } from '../helpers/ws-client.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * Three real bridge processes sharing a real etcd, captioning six Zoom meetings (RTMS stand-ins, the Zoom API
 * stand-in, one strict caption stand-in per meeting). One fleet for the whole file, as one organisation would run
 * it, through the failures in turn: etcd unreachable for one process, SIGKILL of an owner, SIGTERM of an owner.
 * After each, every caption stand-in must have seen no rule violation and no seq gap or reuse.
 */
const WEBHOOK_SECRET = 'fleet-webhook-secret';
const ADMIN = 'fleet-admin-token-0123456789abcdef';
// Longer than the default (4 s): on this 2-core machine under load an etcd election once took 3.6 s, more than a 4 s lease
// bridges (its fence comes 3.5 s after the last renewal); the leader-loss step is about the fleet riding out an election.
const LEASE_SECONDS = 6;
/** A meeting whose audio is pushed to the bridge (a mixer over WebSocket), captioned through the Zoom API too. */
const PUSHED = { name: 'push0', zoomId: '810000020', uuid: 'uuid-push-aaaaaaaaaaaaaa==', token: 'push-token-0123456789abcdef' };
/** room0's captions also go to its caption page, for readers with this token. */
const VIEWER = 'fleet-viewer-token-0123456789';
const MEETINGS = Array.from({ length: 6 }, (_, i) => ({ name: `room${i}`, zoomId: String(810000000 + i), uuid: `uuid-${i}-aaaaaaaaaaaaaaaa==`, stream: `${i}`.repeat(32) }));

const clips = librivoxClips().map((clip) => readWav(clip.path).samples);
/** About 80 s of speech per meeting, each room starting at another clip. */
function speechFor(room: number): Int16Array {
  const parts: Int16Array[] = [roomNoise(0.5, room + 1)];
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < clips.length; i++) parts.push(clips[(i + room) % clips.length]!, roomNoise(0.8, round * 10 + i));
  }
  return concatSamples(parts);
}

interface Bridge {
  name: string;
  port: number;
  process: DaemonProcess;
  relay?: CuttableRelay;
}

interface FleetView {
  members: { name: string; meetings: string[] }[];
  meetings: { id: string; owner?: string }[];
}

describe('a fleet of bridge processes on etcd', () => {
  let etcd: EtcdCluster;
  let api: FakeZoomApi;
  const zooms: FakeZoom[] = [];
  let pushZoom: FakeZoom;
  const rtms: FakeRtms[] = [];
  const bridges: Bridge[] = [];
  let dir: string;
  let relayTarget: EtcdMember;
  let config: (name: string, port: number, endpoints: string[]) => string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cb-fleet-'));
    etcd = await EtcdCluster.start(dir, 3);
    api = new FakeZoomApi();
    const bases = await api.start();
    for (const [i, meeting] of MEETINGS.entries()) {
      const zoom = new FakeZoom();
      const captionUrl = await zoom.start();
      zooms.push(zoom);
      api.meetings.set(meeting.zoomId, { started: true, uuid: meeting.uuid, captionUrl: () => captionUrl });
      const fake = new FakeRtms({ clientId: api.clientId, clientSecret: api.clientSecret }, speechFor(i), { meetingUuid: meeting.uuid, streamId: meeting.stream, keepAliveMs: 2_000 });
      await fake.start();
      rtms.push(fake);
    }
    pushZoom = new FakeZoom();
    const pushCaptionUrl = await pushZoom.start();
    api.meetings.set(PUSHED.zoomId, { started: true, uuid: PUSHED.uuid, captionUrl: () => pushCaptionUrl });
    const meetingsYaml = MEETINGS.map(
      (m, i) => `  - id: ${m.name}
    source: { type: zoom-rtms, meetingId: "${m.zoomId}" }
    captions: [ { zoom: { meetingId: "${m.zoomId}" } }${i === 0 ? `, { page: { token: "${VIEWER}" } }` : ''} ]
    archive: false`,
    ).join('\n') + `
  - id: ${PUSHED.name}
    source: { type: websocket, token: "${PUSHED.token}" }
    captions: [ { zoom: { meetingId: "${PUSHED.zoomId}" } } ]
    archive: false`;
    config = (name, port, endpoints) => `http: { host: 127.0.0.1, port: ${port}, adminToken: "${ADMIN}" }
state: { dir: ${dir}/${name} }
zoomApi: { accountId: ${api.accountId}, clientId: ${api.clientId}, clientSecret: ${api.clientSecret}, webhookSecret: ${WEBHOOK_SECRET}, apiBase: "${bases.apiBase}", oauthBase: "${bases.oauthBase}", rtmsHosts: ["127.0.0.1"] }
fleet: { etcd: { endpoints: ${JSON.stringify(endpoints)}, prefix: /fleet-test/ }, name: ${name}, advertiseUrl: "http://127.0.0.1:${port}", leaseSeconds: ${LEASE_SECONDS} }
meetings:
${meetingsYaml}
`;
    // bridge-c reaches etcd through a relay the test can cut, to a member that is not the leader (the leader is the
    // one killed later); the others know every member.
    const leader = await etcd.leader();
    relayTarget = etcd.members.find((m) => m !== leader)!;
    const relay = new CuttableRelay({ host: '127.0.0.1', port: Number(new URL(relayTarget.clientUrl).port) });
    const relayUrl = await relay.start();
    await Promise.all(
      ['bridge-a', 'bridge-b', 'bridge-c'].map(async (name) => {
        const port = await freePort();
        const file = `${dir}/${name}.yaml`;
        const viaRelay = name === 'bridge-c';
        await writeFile(file, config(name, port, viaRelay ? [relayUrl] : etcd.endpoints));
        bridges.push({ name, port, process: await startDaemonProcess(file, port), ...(viaRelay ? { relay } : {}) });
      }),
    );
  });

  afterAll(async () => {
    const t0 = Date.now();
    const step = (what: string): void => console.log(`[fleet] cleanup ${what} at ${Date.now() - t0} ms`);
    await Promise.all(bridges.map((b) => b.process.stop('SIGKILL')));
    step('bridges');
    await Promise.all(bridges.map((b) => b.relay?.stop()));
    step('relay');
    await Promise.all([pushZoom?.stop(), ...zooms.map((z) => z.stop()), ...rtms.map((r) => r.stop()), api?.stop()]);
    step('stand-ins');
    await etcd?.stop();
    step('etcd');
    await rm(dir, { recursive: true, force: true });
  });

  const bridge = (name: string): Bridge => bridges.find((b) => b.name === name)!;
  /** The RTMS rooms among a process's meetings (the pushed meeting has no publisher by then). */
  const roomsOf = (ids: string[]): number[] => ids.filter((id) => id.startsWith('room')).map((id) => Number(id.replace('room', '')));
  const alive = (): Bridge[] => bridges.filter((b) => b.process.child.exitCode === null && b.process.child.signalCode === null);

  const fleetView = async (via: Bridge): Promise<FleetView> => {
    const answer = await fetch(`http://127.0.0.1:${via.port}/meetings`, { headers: { authorization: `Bearer ${ADMIN}` } });
    return ((await answer.json()) as { fleet: FleetView }).fleet;
  };
  const ownerOf = async (room: string, via: Bridge): Promise<string | undefined> => (await fleetView(via)).meetings.find((m) => m.id === room)?.owner;

  const webhook = (via: Bridge, event: string, payload: Record<string, unknown>): Promise<Response> => sendWebhook(via.port, WEBHOOK_SECRET, event, payload);

  /** What a failed takeover needs to be understood: the view, each room's stand-in, and what each process logged. */
  const dumpFleet = async (since: number, rooms: number[]): Promise<void> => {
    const survivor = alive()[0];
    if (survivor) console.log('[fleet] view', JSON.stringify(await fleetView(survivor)));
    for (const r of rooms) console.log(`[fleet] room${r}: ${zooms[r]!.accepted.length} accepted, last at +${(zooms[r]!.accepted.at(-1)?.receivedAt ?? 0) - since} ms; RTMS audio at ${rtms[r]!.sentSeconds.toFixed(1)} s, finished ${rtms[r]!.finishedSpeech}`);
    for (const b of alive()) {
      const lines = b.process.stderr().split('\n').filter((l) => l.startsWith('{') && !/caption delivered|"level":20/.test(l));
      const recent = lines.filter((l) => (JSON.parse(l) as { time: number }).time > since - 2_000);
      console.log(`[fleet] ${b.name} logged:\n${recent.slice(-40).join('\n')}`);
    }
  };

  const expectStrictZoomHappy = (): void => {
    for (const [i, zoom] of zooms.entries()) {
      expect({ room: i, violations: zoom.violations, gaps: zoom.gaps }).toEqual({ room: i, violations: [], gaps: [] });
    }
    expect({ room: PUSHED.name, violations: pushZoom.violations, gaps: pushZoom.gaps }).toEqual({ room: PUSHED.name, violations: [], gaps: [] });
  };

  it('spreads the meetings over the processes, shows every owner on any process, and a webhook to any process reaches the owner', async () => {
    // The first process up takes every meeting; as the others join it hands idle ones over until the spread is even.
    const spread = (view: FleetView): number[] => view.members.map((m) => m.meetings.length);
    let views: FleetView[] = [];
    await waitUntil(
      async () => {
        views = await Promise.all(bridges.map(fleetView));
        const owners = (view: FleetView): string => JSON.stringify(view.meetings.map((m) => m.owner));
        const counts = spread(views[0]!);
        return (
          views[0]!.meetings.length === MEETINGS.length + 1 &&
          views[0]!.meetings.every((m) => m.owner !== undefined) &&
          views.every((view) => owners(view) === owners(views[0]!)) &&
          counts.length === 3 &&
          Math.max(...counts) - Math.min(...counts) <= 1
        );
      },
      { timeoutMs: 20_000, what: 'every meeting owned, spread within one of even, the same on every process' },
    );
    console.log(`[fleet] meetings per process: ${views[0]!.members.map((m) => `${m.name} ${m.meetings.length}`).join(', ')}`);

    // Each rtms_started goes to a process chosen round robin, mostly not the owner.
    for (const [i, m] of MEETINGS.entries()) {
      const url = `${rtms[i]!.url}/signaling`;
      const answer = await webhook(bridges[i % 3]!, 'meeting.rtms_started', { meeting_uuid: m.uuid, meeting_id: Number(m.zoomId), operator_id: 'op-1', rtms_stream_id: m.stream, server_urls: url });
      expect(answer.status).toBe(200);
    }
    // Records another version or a person left under the prefix are logged and skipped, never trusted or fatal.
    const client = new Etcd3({ hosts: etcd.endpoints });
    await client.put('/fleet-test/owners/room0-copy').value('not json');
    await client.put('/fleet-test/meetings/zoom-1').value(JSON.stringify({ kind: 'conference', id: 'x' }));
    client.close();
    await waitUntil(() => bridges.every((b) => b.process.stderr().includes('does not parse: skipped')), { timeoutMs: 5_000, what: 'each process skips the bad records' });
    await waitUntil(() => zooms.every((z) => z.accepted.length >= 2), { timeoutMs: 40_000, what: 'captions from every meeting' });
    expect(rtms.map((r) => r.counts.signaling)).toEqual(MEETINGS.map(() => 1));
    expectStrictZoomHappy();
  });

  it("a caption page reader may reach any process: the others check the viewer token and relay the owner's captions", async () => {
    const owner = await ownerOf('room0', bridges[0]!);
    const other = bridges.find((b) => b.name !== owner)!;
    const base = `http://127.0.0.1:${other.port}/captions/room0`;
    const page = await fetch(base);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('room0');
    // A wrong token is refused where it arrives, several times: the owner never sees it, so its lockout cannot be
    // turned against the readers this process relays; the right one then reads the owner's captions.
    for (let i = 0; i < 3; i++) expect((await fetch(`${base}/events`, { headers: { authorization: 'Bearer wrong-token-0123456789abc' } })).status).toBe(401);
    const stop = new AbortController();
    const events = await fetch(`${base}/events?after=0`, { headers: { authorization: `Bearer ${VIEWER}` }, signal: stop.signal });
    expect(events.status).toBe(200);
    expect(events.headers.get('content-type')).toContain('text/event-stream');
    let text = '';
    const reader = events.body!.getReader();
    await waitUntil(async () => ((text += new TextDecoder().decode((await reader.read()).value ?? new Uint8Array())), text.includes('event: caption')), { timeoutMs: 15_000, what: 'a relayed caption event' });
    stop.abort();
    const caption = JSON.parse(/event: caption\ndata: (.*)\n/.exec(text)![1]!) as { seq: number; text: string };
    expect(zooms[0]!.text()).toContain(caption.text.split('\n')[0]);
    // The WebSocket feed, the same way.
    const ws = new WebSocket(`ws://127.0.0.1:${other.port}/captions/room0/feed?token=${VIEWER}`);
    const first = await new Promise<{ type: string; text?: string }>((resolve, reject) => {
      ws.once('message', (data) => resolve(JSON.parse(String(data)) as { type: string }));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`feed refused: ${res.statusCode}`)));
      ws.once('error', reject);
    });
    ws.terminate();
    expect(first.type).toBe('caption');
    // A relayed request is never relayed again (a process with an old view must not bounce readers around).
    const relayedAgain = await fetch(`${base}/events`, { headers: { authorization: `Bearer ${VIEWER}`, 'x-caption-bridge-relay': 'bridge-x' } });
    expect(relayedAgain.status).toBe(404);
  });

  it('a publisher of pushed audio brings its meeting to the process it reached; the newest publisher wins across the fleet', async () => {
    const owner = await ownerOf(PUSHED.name, bridges[0]!);
    const [first, second] = bridges.filter((b) => b.name !== owner);
    const url = (b: Bridge): string => `ws://127.0.0.1:${b.port}/ingest/${PUSHED.name}`;
    const speech = concatSamples(clips.flatMap((clip, i) => [clip, roomNoise(0.8, 40 + i)]));
    const firstStream = streamAudio(url(first!), speech, { token: PUSHED.token });
    const startedAt = Date.now();
    await waitUntil(async () => (await ownerOf(PUSHED.name, second!)) === first!.name, { timeoutMs: 15_000, what: `${PUSHED.name} moves from ${owner} to ${first!.name}, which the publisher reached` });
    const movedMs = Date.now() - startedAt;
    await waitUntil(() => pushZoom.accepted.length >= 2, { timeoutMs: 20_000, what: 'captions from the pushed meeting' }).catch(async (err: unknown) => {
      await dumpFleet(startedAt, []);
      throw err;
    });
    const secondStream = streamAudio(url(second!), speech.subarray(0, 8 * 16_000), { token: PUSHED.token });
    const replaced = await firstStream;
    expect(replaced.code).toBe(4009);
    expect(replaced.reason).toContain(`replaced by a newer publisher (on ${second!.name})`);
    await waitUntil(async () => (await ownerOf(PUSHED.name, first!)) === second!.name, { timeoutMs: 15_000, what: `${PUSHED.name} moves on to ${second!.name}, which the newer publisher reached` });
    const before = pushZoom.accepted.length;
    const ended = await secondStream;
    expect(ended.code).toBe(1000);
    expect(pushZoom.accepted.length).toBeGreaterThan(before);
    console.log(`[fleet] pushed audio: ${PUSHED.name} came from ${owner} to ${first!.name} in ${movedMs} ms, then to ${second!.name} with the newer publisher; ${pushZoom.accepted.length} captions`);
    expectStrictZoomHappy();
  });

  it('etcd unreachable for one process: it stops posting before its lease can expire, the others take its meetings, it rejoins', async () => {
    const cut = bridge('bridge-c');
    const theirs = (await fleetView(bridges[0]!)).members.find((m) => m.name === cut.name)!.meetings;
    expect(theirs.length).toBeGreaterThan(0);
    const rooms = roomsOf(theirs);
    cut.relay!.sever();
    const severedAt = Date.now();
    await waitUntil(() => cut.process.stderr().includes('fleet lease lost'), { timeoutMs: 10_000, what: 'the cut process gives up its meetings' });
    const stoppedAfterMs = Date.now() - severedAt;
    await waitUntil(async () => {
      const view = await fleetView(bridge('bridge-a'));
      return theirs.every((id) => ['bridge-a', 'bridge-b'].includes(view.meetings.find((m) => m.id === id)?.owner ?? ''));
    }, { timeoutMs: 15_000, what: 'the others take its meetings' });
    const before = rooms.map((r) => zooms[r]!.accepted.length);
    await waitUntil(() => rooms.every((r, i) => zooms[r]!.accepted.length > before[i]!), { timeoutMs: 20_000, what: 'captions resume from the new owners' });
    console.log(`[fleet] etcd cut for ${cut.name}: it stopped its ${theirs.length} meetings ${stoppedAfterMs} ms after the cut (lease ${LEASE_SECONDS} s)`);
    expectStrictZoomHappy();
    cut.relay!.restore();
    await waitUntil(async () => (await fetch(`http://127.0.0.1:${cut.port}/readyz`)).status === 200, { timeoutMs: 15_000, what: 'the cut process rejoins' });
  });

  it('one etcd member of three killed (the leader): the fleet goes on, no lease or meeting is lost, captions go on', async () => {
    const leader = await etcd.leader();
    const victim = leader && leader !== relayTarget ? leader : etcd.members.find((m) => m !== relayTarget)!;
    // Meetings being captioned never move for balance; an idle one (the pushed meeting) may, so it is left out.
    const owners = async (via: Bridge): Promise<string[]> => (await fleetView(via)).meetings.filter((m) => m.id.startsWith('room')).map((m) => `${m.id}:${m.owner}`);
    const ownersBefore = await owners(bridges[0]!);
    const lossesOf = (b: Bridge): number => b.process.stderr().split(/fleet lease lost|meeting ownership lost/).length;
    const lostBefore = bridges.map(lossesOf);
    const before = zooms.map((z) => z.accepted.length);
    await victim.kill('SIGKILL');
    const killedAt = Date.now();
    await waitUntil(async () => (await etcd.leader()) !== undefined, { timeoutMs: 10_000, what: 'etcd elects a new leader' });
    const electedMs = Date.now() - killedAt;
    await waitUntil(() => zooms.every((z, i) => z.accepted.some((c, n) => n >= before[i]! && c.receivedAt > killedAt + 2_000)), { timeoutMs: 20_000, what: 'captions go on in every meeting' });
    console.log(`[fleet] etcd member ${victim.name} killed (${victim === leader ? 'the leader' : 'a follower'}): new leader after ${electedMs} ms`);
    expect(bridges.map(lossesOf)).toEqual(lostBefore);
    expect(await owners(bridges[1]!)).toEqual(ownersBefore);
    expectStrictZoomHappy();
  });

  it('SIGKILL of an owner mid-speech: another process takes each of its meetings, redials Zoom and resumes at its seq', async () => {
    const victim = bridge('bridge-a');
    const view = await fleetView(bridge('bridge-b'));
    const theirs = view.members.find((m) => m.name === victim.name)!.meetings;
    expect(theirs.length).toBeGreaterThan(0);
    const rooms = roomsOf(theirs);
    const before = rooms.map((r) => zooms[r]!.accepted.length);
    const dials = rooms.map((r) => rtms[r]!.counts.signaling);
    await victim.process.stop('SIGKILL');
    const killedAt = Date.now();
    await waitUntil(() => rooms.every((r, i) => zooms[r]!.accepted.some((c, n) => n >= before[i]! && c.receivedAt > killedAt)), { timeoutMs: 25_000, what: 'captions resume' }).catch(async (err: unknown) => {
      await dumpFleet(killedAt, rooms);
      throw err;
    });
    const resumedMs = rooms.map((r) => zooms[r]!.accepted.find((c) => c.receivedAt > killedAt)!.receivedAt - killedAt);
    console.log(`[fleet] SIGKILL of ${victim.name}: captions of ${theirs.join(', ')} resumed after ${resumedMs.join(', ')} ms (lease ${LEASE_SECONDS} s)`);
    for (const b of alive()) {
      const lines = b.process.stderr().split('\n').filter((l) => /claimed|rtms|Caption URL|caption seq resumed|meeting ready|stream started|caption delivered/i.test(l));
      for (const line of lines) {
        const { time, msg, meeting } = JSON.parse(line) as { time: number; msg: string; meeting?: string };
        if (time > killedAt - 1000) console.log(`[fleet]   ${b.name} +${time - killedAt} ms ${meeting ?? ''} ${msg}`);
      }
    }
    expect(rooms.map((r, i) => rtms[r]!.counts.signaling > dials[i]!)).toEqual(rooms.map(() => true));
    for (const id of theirs) expect(['bridge-b', 'bridge-c']).toContain(await ownerOf(id, bridge('bridge-b')));
    expectStrictZoomHappy();
  });

  it('SIGTERM of an owner: it flushes and lets go of each meeting at once; the last process takes them over', async () => {
    const leaving = bridge('bridge-b');
    const theirs = (await fleetView(bridge('bridge-c'))).members.find((m) => m.name === leaving.name)!.meetings;
    expect(theirs.length).toBeGreaterThan(0);
    const rooms = roomsOf(theirs);
    const termAt = Date.now();
    expect(await leaving.process.stop('SIGTERM')).toBe(0);
    const exitedAt = Date.now();
    await waitUntil(async () => {
      const view = await fleetView(bridge('bridge-c'));
      return theirs.every((id) => view.meetings.find((m) => m.id === id)?.owner === 'bridge-c');
    }, { timeoutMs: 15_000, intervalMs: 50, what: 'the last process owns them' }).catch(async (err: unknown) => {
      console.log('[fleet] view', JSON.stringify(await fleetView(bridge('bridge-c'))));
      console.log(bridge('bridge-c').process.stderr().split('\n').filter((l) => !/caption delivered|"level":20/.test(l)).slice(-30).join('\n'));
      throw err;
    });
    const ownedAt = Date.now();
    await waitUntil(() => rooms.every((r) => zooms[r]!.accepted.some((c) => c.receivedAt > exitedAt)), { timeoutMs: 20_000, what: 'captions resume' });
    console.log(`[fleet] SIGTERM of ${leaving.name}: exited after ${exitedAt - termAt} ms, its meetings owned by bridge-c ${ownedAt - exitedAt} ms later`);
    expect(alive().map((b) => b.name)).toEqual(['bridge-c']);
    expectStrictZoomHappy();
  });
});

