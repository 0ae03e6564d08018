import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { it } from 'vitest';
import { readWav } from '../src/util/wav.js';
import { freePort, startDaemonProcess, type DaemonProcess } from '../test/helpers/daemon-process.js';
import { EtcdCluster } from '../test/helpers/etcd.js';
import { FakeRtms } from '../test/helpers/fake-rtms.js';
import { FakeZoom } from '../test/helpers/fake-zoom.js';
import { FakeZoomApi, sendWebhook } from '../test/helpers/fake-zoom-api.js';
import { concatSamples, librivoxClips, roomNoise } from '../test/helpers/speech.js';
import { waitUntil } from '../test/helpers/wait.js';
import { alignWords, normalizeWords } from '../src/util/wer.js';
import { engineOffline } from './measure.js';
import { percentile, report } from './report.js';

/**
 * Takeovers in a fleet of three bridge processes on a real etcd, three Zoom meetings speaking all the time (RTMS
 * stand-ins, strict caption stand-ins). BENCH_FLEET_KILLS times: SIGKILL the owner of a meeting, measure when the
 * fleet names a new owner and when that meeting's captions resume at Zoom, restart the killed process. Then as many
 * SIGTERMs: the handover, from the old claim going to the new one, and the longest pause between the meeting's
 * captions around it. Each takeover's words lost are counted against the engine alone on the same audio. The lease
 * is the config's default (BENCH_FLEET_LEASE to change it). Zoom's RTMS servers hold the audio of an interruption and
 * send it once a client reconnects (as Zoom documents; BENCH_FLEET_REPLAY=0 for the worst case, where it is lost).
 */
const KILLS = Number(process.env.BENCH_FLEET_KILLS ?? 20);
const LEASE = Number(process.env.BENCH_FLEET_LEASE ?? 4);
const REPLAY = process.env.BENCH_FLEET_REPLAY !== '0';
const SECRET = 'fleet-bench-webhook-secret';
const ADMIN = 'fleet-bench-admin-token-0123456789';
const ROOMS = [0, 1, 2].map((i) => ({ name: `room${i}`, zoomId: String(820000000 + i), uuid: `bench-uuid-${i}==`, stream: `${i + 3}`.repeat(32) }));

interface Bridge {
  name: string;
  port: number;
  file: string;
  process: DaemonProcess;
}

it('fleet takeovers: SIGKILL and SIGTERM of an owner while its meetings speak', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cb-fleet-bench-'));
  const etcd = await EtcdCluster.start(dir);
  const api = new FakeZoomApi();
  const bases = await api.start();
  const clips = librivoxClips().map((clip) => readWav(clip.path).samples);
  const secondsNeeded = KILLS * 2 * 16 + 60;
  const zooms: FakeZoom[] = [];
  const rtms: FakeRtms[] = [];
  const speech: Int16Array[] = [];
  for (const [i, room] of ROOMS.entries()) {
    const parts: Int16Array[] = [];
    for (let s = 0; s < secondsNeeded; s += 6) parts.push(clips[(parts.length + i) % clips.length]!, roomNoise(0.6, parts.length));
    speech.push(concatSamples(parts));
    const zoom = new FakeZoom();
    const url = await zoom.start();
    zooms.push(zoom);
    api.meetings.set(room.zoomId, { started: true, uuid: room.uuid, captionUrl: () => url });
    const fake = new FakeRtms({ clientId: api.clientId, clientSecret: api.clientSecret }, speech[i]!, { meetingUuid: room.uuid, streamId: room.stream, replayInterruptions: REPLAY });
    await fake.start();
    rtms.push(fake);
  }
  const config = (name: string, port: number): string => `http: { host: 127.0.0.1, port: ${port}, adminToken: "${ADMIN}" }
state: { dir: ${dir}/${name} }
zoomApi: { accountId: ${api.accountId}, clientId: ${api.clientId}, clientSecret: ${api.clientSecret}, webhookSecret: ${SECRET}, apiBase: "${bases.apiBase}", oauthBase: "${bases.oauthBase}", rtmsHosts: ["127.0.0.1"] }
fleet: { etcd: { endpoints: ["${etcd.endpoints[0]}"] }, name: ${name}, leaseSeconds: ${LEASE} }
meetings:
${ROOMS.map((r) => `  - { id: ${r.name}, source: { type: zoom-rtms, meetingId: "${r.zoomId}" }, captions: [ { zoom: { meetingId: "${r.zoomId}" } } ], archive: false }`).join('\n')}
`;
  const bridges: Bridge[] = [];
  for (const name of ['bridge-a', 'bridge-b', 'bridge-c']) {
    const port = await freePort();
    const file = `${dir}/${name}.yaml`;
    await writeFile(file, config(name, port));
    bridges.push({ name, port, file, process: await startDaemonProcess(file, port) });
  }
  const view = async (via: Bridge): Promise<{ meetings: { id: string; owner?: string }[] }> =>
    ((await (await fetch(`http://127.0.0.1:${via.port}/meetings`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { fleet: { meetings: { id: string; owner?: string }[] } }).fleet;
  const ownerOf = async (room: string, via: Bridge): Promise<string | undefined> => (await view(via)).meetings.find((m) => m.id === room)?.owner;
  const isAlive = (b: Bridge): boolean => b.process.child.exitCode === null && b.process.child.signalCode === null;

  try {
    await waitUntil(async () => (await view(bridges[0]!)).meetings.every((m) => m.owner !== undefined), { timeoutMs: 20_000 });
    for (const [i, room] of ROOMS.entries()) {
      await sendWebhook(bridges[i]!.port, SECRET, 'meeting.rtms_started', { meeting_uuid: room.uuid, meeting_id: Number(room.zoomId), rtms_stream_id: room.stream, server_urls: `${rtms[i]!.url}/signaling` });
    }
    await waitUntil(() => zooms.every((z) => z.accepted.length >= 2), { timeoutMs: 30_000 });

    const kills: { claimMs: number; resumeMs: number }[] = [];
    const terms: { handoverMs: number; captionPauseMs: number; exitMs: number }[] = [];
    const takeovers: { room: number; kill: boolean; resumeAt: number }[] = [];
    for (let cycle = 0; cycle < KILLS * 2; cycle++) {
      const kill = cycle < KILLS;
      const r = cycle % ROOMS.length;
      const room = ROOMS[r]!;
      const observer = bridges.find((b) => isAlive(b))!;
      const victimName = await ownerOf(room.name, observer);
      const victim = bridges.find((b) => b.name === victimName)!;
      const watcher = bridges.find((b) => b !== victim && isAlive(b))!;
      const t0 = Date.now();
      let goneAt: number | undefined;
      let claimedAt: number | undefined;
      const polling = (async () => {
        while (claimedAt === undefined && Date.now() - t0 < 30_000) {
          const owner = await ownerOf(room.name, watcher).catch(() => victimName);
          if (owner === undefined) goneAt ??= Date.now();
          else if (owner !== victimName) claimedAt = Date.now();
          await sleep(20);
        }
      })();
      const exited = victim.process.stop(kill ? 'SIGKILL' : 'SIGTERM').then(() => Date.now());
      await polling;
      const exitAt = await exited;
      await waitUntil(() => zooms[r]!.accepted.some((c) => c.receivedAt > (claimedAt ?? t0)), { timeoutMs: 30_000 });
      const resumeAt = zooms[r]!.accepted.find((c) => c.receivedAt > (claimedAt ?? t0))!.receivedAt;
      takeovers.push({ room: r, kill, resumeAt });
      if (kill) kills.push({ claimMs: (claimedAt ?? Number.NaN) - t0, resumeMs: resumeAt - t0 });
      else {
        // The longest pause between this meeting's captions from 10 s before the SIGTERM to its first caption after the claim.
        const times = zooms[r]!.accepted.map((c) => c.receivedAt).filter((t) => t > t0 - 10_000 && t <= resumeAt);
        const pause = Math.max(...times.slice(1).map((t, i) => t - times[i]!));
        terms.push({ handoverMs: (claimedAt ?? Number.NaN) - (goneAt ?? claimedAt ?? Number.NaN), captionPauseMs: pause, exitMs: exitAt - t0 });
      }
      victim.process = await startDaemonProcess(victim.file, victim.port);
      await sleep(1_000);
    }

    const lost = wordsLostPerTakeover(speech, zooms, takeovers);
    const violations = zooms.reduce((n, z) => n + z.violations.length, 0);
    const gaps = zooms.reduce((n, z) => n + z.gaps.length, 0);
    const ms = (values: number[], p: number): string => `${(percentile(values.filter(Number.isFinite), p) / 1000).toFixed(2)} s`;
    report(
      REPLAY ? 'fleet-takeover' : 'fleet-takeover-no-replay',
      [
        { event: `SIGKILL x${kills.length}`, what: 'fleet names a new owner', p50: ms(kills.map((k) => k.claimMs), 50), p95: ms(kills.map((k) => k.claimMs), 95), max: ms(kills.map((k) => k.claimMs), 100) },
        { event: `SIGKILL x${kills.length}`, what: 'captions resume at Zoom', p50: ms(kills.map((k) => k.resumeMs), 50), p95: ms(kills.map((k) => k.resumeMs), 95), max: ms(kills.map((k) => k.resumeMs), 100) },
        { event: `SIGTERM x${terms.length}`, what: 'claim gone -> new claim', p50: ms(terms.map((t) => t.handoverMs), 50), p95: ms(terms.map((t) => t.handoverMs), 95), max: ms(terms.map((t) => t.handoverMs), 100) },
        { event: `SIGTERM x${terms.length}`, what: 'longest pause between captions', p50: ms(terms.map((t) => t.captionPauseMs), 50), p95: ms(terms.map((t) => t.captionPauseMs), 95), max: ms(terms.map((t) => t.captionPauseMs), 100) },
        { event: `SIGTERM x${terms.length}`, what: 'process exit after SIGTERM', p50: ms(terms.map((t) => t.exitMs), 50), p95: ms(terms.map((t) => t.exitMs), 95), max: ms(terms.map((t) => t.exitMs), 100) },
        ...(['SIGKILL', 'SIGTERM'] as const).map((event) => {
          const counts = lost.perTakeover.filter((t) => t.kill === (event === 'SIGKILL')).map((t) => t.lost);
          return { event: `${event} x${counts.length}`, what: 'words lost (vs the engine alone)', p50: percentile(counts, 50).toFixed(1), p95: percentile(counts, 95).toFixed(1), max: percentile(counts, 100).toFixed(1) };
        }),
      ],
      { leaseSeconds: LEASE, zoomReplaysInterruptions: REPLAY, violations, seqGaps: gaps, kills, terms, captions: zooms.map((z) => z.accepted.length), wordsLost: lost },
    );
    console.log(`strict caption stand-ins: ${violations} rule violations, ${gaps} seq gaps`);
  } finally {
    await Promise.all(bridges.map((b) => b.process.stop('SIGKILL')));
    await Promise.all([...zooms.map((z) => z.stop()), ...rtms.map((r) => r.stop()), api.stop()]);
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
  }
}, 3_600_000);

/**
 * Words the readers lost to each takeover. The floor is the engine alone, offline, on each room's whole audio: its
 * words aligned with every word Zoom accepted for the room. Around a takeover, the anchors are the last word shown
 * right (as the engine has it) before the new owner's first caption, and the first shown right from that caption
 * on. Between them the engine has N words and the captions M (right or not): N - M were lost, what was said while
 * nobody listened and what the old owner had heard but not yet posted.
 */
function wordsLostPerTakeover(
  speech: Int16Array[],
  zooms: FakeZoom[],
  takeovers: { room: number; kill: boolean; resumeAt: number }[],
): { rooms: { engineWords: number; captionWords: number; matched: number }[]; perTakeover: { room: number; kill: boolean; lost: number; engineSaid: string; captionsShowed: string }[] } {
  const rooms: { engineWords: number; captionWords: number; matched: number }[] = [];
  const perTakeover: { room: number; kill: boolean; lost: number; engineSaid: string; captionsShowed: string }[] = [];
  for (const [r, samples] of speech.entries()) {
    const captions = zooms[r]!.accepted.flatMap((c) => normalizeWords(c.body).map((word) => ({ word, at: c.receivedAt })));
    // The engine hears as much audio as was captioned, and a little more for the last caption's words.
    const heardSeconds = captions.length === 0 ? 0 : 10 + (captions.at(-1)!.at - zooms[r]!.accepted[0]!.receivedAt) / 1000;
    const engine = engineOffline(samples.subarray(0, Math.round(heardSeconds * 16_000))).words;
    const matches = alignWords(engine.map((w) => w.word), captions.map((c) => c.word)).flatMap((step) => (step.op === 'match' ? [{ ref: step.ref, hyp: step.hyp }] : []));
    rooms.push({ engineWords: engine.length, captionWords: captions.length, matched: matches.length });
    for (const takeover of takeovers.filter((t) => t.room === r)) {
      const before = matches.filter((m) => captions[m.hyp]!.at < takeover.resumeAt).at(-1) ?? { ref: -1, hyp: -1 };
      const after = matches.find((m) => captions[m.hyp]!.at >= takeover.resumeAt) ?? { ref: engine.length, hyp: captions.length };
      const said = engine.slice(before.ref + 1, after.ref).map((w) => w.word);
      const showed = captions.slice(before.hyp + 1, after.hyp).map((c) => c.word);
      perTakeover.push({ room: r, kill: takeover.kill, lost: Math.max(0, said.length - showed.length), engineSaid: said.join(' '), captionsShowed: showed.join(' ') });
    }
  }
  return { rooms, perTakeover };
}
