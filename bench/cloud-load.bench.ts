import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'vitest';
import { alignWords, normalizeWords } from '../src/util/wer.js';
import { freePort, startDaemonProcess } from '../test/helpers/daemon-process.js';
import { FakeDeepgram } from '../test/helpers/fake-deepgram.js';
import { FakeZoom } from '../test/helpers/fake-zoom.js';
import { scriptOf, ScriptedHearing } from '../test/helpers/scripted-hearing.js';
import { freshText } from '../test/helpers/viewer.js';
import { refusedUpgrade, streamAudio } from '../test/helpers/ws-client.js';
import { buildCorpus, WITH_PAUSES } from './corpus.js';
import { cpuSeconds, rssMiB, wordLatencies } from './measure.js';
import { percentile, report } from './report.js';

/**
 * Many meetings in one bridge process on a cloud engine: every meeting streams the held-out talk at real-time pace
 * (all at once, the worst case) through a Deepgram-protocol stand-in that hears every word (ScriptedHearing), so any
 * word lost, doubled or late is the bridge's. Load generator, stand-in, Zoom stand-ins and bridge share the machine.
 * BENCH_MEETINGS (1,100,200): the counts. BENCH_HOGS (0): that many busy-looping processes beside the bridge for the
 * whole run (a starved machine): the bridge should then say overloaded on /readyz and refuse a new meeting, while the
 * meetings under way go on. /readyz's load figures are sustained values (the least of the last three seconds).
 */
const COUNTS = (process.env.BENCH_MEETINGS ?? '1,100,200').split(',').filter(Boolean).map(Number);
const HOGS = Number(process.env.BENCH_HOGS ?? 0);

it('cloud-engine meetings per process: words lost, word latency, CPU and memory, the overload signal', async () => {
  const corpus = buildCorpus(1, WITH_PAUSES, 'held-out');
  const script = scriptOf(corpus.samples, corpus.segments);
  const spoken = script.flatMap((u) => u.words);
  const rows: Record<string, string | number>[] = [];
  for (const n of COUNTS) {
    const service = new FakeDeepgram('bench-key');
    service.hears = () => new ScriptedHearing(script);
    const engineUrl = await service.start();
    // One meeting more than streams: the newcomer that arrives while the others run.
    const zooms = Array.from({ length: n + 1 }, () => new FakeZoom());
    const urls = await Promise.all(zooms.map((zoom) => zoom.start()));
    const dir = await mkdtemp(join(tmpdir(), 'cb-cloud-load-'));
    const port = await freePort();
    const config = join(dir, 'cloud.yaml');
    const meetings = urls.map(
      (url, i) =>
        `  - id: m${i}\n    source: { type: websocket, token: token-${i} }\n    asr: { engine: deepgram, apiKey: bench-key, url: "${engineUrl}/v1/listen" }\n    archive: false\n    captions: [ { zoom: { url: "${url}" } } ]\n`,
    );
    await writeFile(config, `log: { level: warn }\nhttp: { host: 127.0.0.1, port: ${port} }\nstate: { dir: ${dir} }\nmeetings:\n${meetings.join('')}`);
    const daemon = await startDaemonProcess(config, port);
    const pid = daemon.child.pid!;
    const hogs: ChildProcess[] = Array.from({ length: HOGS }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
    // /readyz once a second through the run: the process load it reports, and whether it turned away new meetings.
    const readiness: { status: number; loopMs: number; waitMs: number }[] = [];
    const poll = setInterval(() => {
      void fetch(`http://127.0.0.1:${port}/readyz`).then(
        async (r) => {
          const body = (await r.json()) as { eventLoopDelayMs?: number; cpuWaitMsPerSecond?: number };
          readiness.push({ status: r.status, loopMs: body.eventLoopDelayMs ?? 0, waitMs: body.cpuWaitMsPerSecond ?? 0 });
        },
        () => readiness.push({ status: 0, loopMs: 0, waitMs: 0 }),
      );
    }, 1_000);
    const cpuBefore = cpuSeconds(pid);
    const wallStart = Date.now();
    // Half-way through, a new meeting's publisher arrives: taken, or refused with the reason.
    let newcomer = 'not tried';
    const arrival = setTimeout(() => {
      void refusedUpgrade(`ws://127.0.0.1:${port}/ingest/m${n}`, { Authorization: `Bearer token-${n}` }).then(
        (answer) => (newcomer = `refused ${answer.status}: ${answer.body.slice(0, 80)}`),
        () => (newcomer = 'taken'),
      );
    }, (corpus.samples.length / 16_000 / 2) * 1000);
    const outcomes = await Promise.all(Array.from({ length: n }, (_, i) => streamAudio(`ws://127.0.0.1:${port}/ingest/m${i}`, corpus.samples, { token: `token-${i}` })));
    clearTimeout(arrival);
    clearInterval(poll);
    const wall = (Date.now() - wallStart) / 1000;
    const cpu = cpuSeconds(pid) - cpuBefore;
    const rss = rssMiB(pid);
    for (const hog of hogs) hog.kill('SIGKILL');
    await daemon.stop();
    await service.stop();
    await Promise.all(zooms.map((zoom) => zoom.stop()));
    await rm(dir, { recursive: true, force: true });

    const rooms = zooms.slice(0, n).map((zoom, i) => {
      const posts = zoom.accepted.map((c) => ({ text: c.body, at: c.receivedAt }));
      const fresh = posts.map((p, k) => ({ text: freshText(posts[k - 1]?.text, p.text).fresh, at: p.at }));
      const steps = alignWords(normalizeWords(corpus.transcript), normalizeWords(fresh.map((p) => p.text).join(' ')));
      const count = (op: string): number => steps.filter((s) => s.op === op).length;
      // Where the lost words were said, in seconds of the talk: tells a tail cut at the end from a gap mid-way.
      const lostAt = steps.flatMap((s) => (s.op === 'deletion' ? [spoken[s.ref]?.end ?? -1] : []));
      return { lost: count('deletion'), changed: count('substitution'), added: count('insertion'), lostAt, latencies: wordLatencies(spoken, fresh, outcomes[i]!.startedAt), violations: zoom.violations.length };
    });
    const worst = rooms.reduce((a, b) => (b.lost + b.changed + b.added > a.lost + a.changed + a.added ? b : a));
    const all = rooms.flatMap((r) => r.latencies);
    const roomP95 = rooms.map((r) => percentile(r.latencies, 95));
    const loop = readiness.map((r) => r.loopMs);
    const waits = readiness.map((r) => r.waitMs);
    rows.push({
      meetings: n,
      hogs: HOGS,
      'rooms with a word lost, changed or added': rooms.filter((r) => r.lost + r.changed + r.added > 0).length,
      'worst room lost / changed / added': `${worst.lost} / ${worst.changed} / ${worst.added} of ${spoken.length}`,
      'worst room lost words said at (s)': worst.lostAt.map((t) => t.toFixed(1)).join(' ') || '-',
      'word p50 ms': Math.round(percentile(all, 50)),
      'word p95 ms': Math.round(percentile(all, 95)),
      'worst room word p95 ms': Math.round(Math.max(...roomP95)),
      'Zoom rule violations': rooms.reduce((sum, r) => sum + r.violations, 0),
      'bridge CPU (cores)': (cpu / wall).toFixed(2),
      'bridge CPU per meeting (% of a core)': ((100 * cpu) / wall / n).toFixed(2),
      'bridge RSS MiB': Math.round(rss),
      'event loop delay (readyz) p50 / max ms': `${percentile(loop, 50)} / ${Math.max(0, ...loop)}`,
      'waiting for a CPU (readyz) p50 / max ms a second': `${percentile(waits, 50)} / ${Math.max(0, ...waits)}`,
      '/readyz 503 (s of the run)': readiness.filter((r) => r.status !== 200).length,
      'a new meeting half-way': newcomer,
    });
  }
  report(
    `cloud-load${HOGS ? `-${HOGS}-hogs` : ''}`,
    Object.keys(rows[0]!).map((measure) => ({ measure, ...Object.fromEntries(rows.map((r) => [`${r.meetings} meetings`, r[measure]!])) })),
    { corpus: 'held-out', engine: 'deepgram stand-in, scripted (perfect) hearing', counts: COUNTS, hogs: HOGS },
  );
});
