import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'vitest';
import { parseCaptionUrl } from '../src/caption/caption-url.js';
import { SeqStore } from '../src/caption/seq-store.js';
import { ZoomCaptionSender } from '../src/caption/zoom-sender.js';
import { silentLogger } from '../src/log.js';
import { readWav } from '../src/util/wav.js';
import { freePort, startDaemonProcess } from '../test/helpers/daemon-process.js';
import { FakeZoom } from '../test/helpers/fake-zoom.js';
import { concatSamples, librivoxClips, roomNoise } from '../test/helpers/speech.js';
import { streamAudio } from '../test/helpers/ws-client.js';
import { cpuSeconds, engineOffline, rssMiB, wordLatencies } from './measure.js';
import { percentile, report } from './report.js';

/** BENCH_MEETINGS=2,4 (say) picks the counts; an empty value skips that part. */
const list = (name: string, fallback: string): number[] => (process.env[name] ?? fallback).split(',').filter(Boolean).map(Number);
const speech = concatSamples(librivoxClips().flatMap((clip) => [roomNoise(1.2), readWav(clip.path).samples]).concat(roomNoise(1.2)));
const ms = (v: number): string => `${Math.round(v)} ms`;
/** BENCH_PROFILE=balanced measures the balanced pocketsphinx search profile (default: fast, the daemon's default). */
const PROFILE = process.env.BENCH_PROFILE ?? 'fast';
/**
 * aligned: every meeting starts at once with the same speech, so utterances end together (the worst case).
 * staggered: meeting i starts i/n of the speech later, so ends are spread as in independent meetings; every
 * meeting streams the speech twice, so all n overlap for at least half the run.
 */
const STARTS = (process.env.BENCH_STARTS ?? 'aligned,staggered').split(',') as ('aligned' | 'staggered')[];

async function daemonWith(meetings: number, dir: string, zooms: FakeZoom[]): Promise<{ port: number; config: string }> {
  const port = await freePort();
  const config = join(dir, 'load.yaml');
  const entries = await Promise.all(
    Array.from({ length: meetings }, async (_, i) => {
      const url = zooms[i] ? zooms[i]!.captionUrl() : await (zooms[i] = new FakeZoom()).start();
      return `  - id: m${i}\n    source: { type: websocket, token: token-${i} }\n    asr: { profile: ${PROFILE} }\n    archive: false\n    captions: [ { zoom: { url: "${url}" } } ]\n`;
    }),
  );
  await writeFile(config, `log: { level: warn }\nhttp: { host: 127.0.0.1, port: ${port} }\nstate: { dir: ${dir} }\nmeetings:\n${entries.join('')}`);
  return { port, config };
}

it('load: meetings with the embedded engine, destinations for the sender alone, restart drill', async () => {
  // A. N meetings streaming speech at once, each at real-time pace.
  const twice = concatSamples([speech, speech]);
  const spoken = { aligned: engineOffline(speech).words, staggered: engineOffline(twice).words };
  const meetingRows: Record<string, string | number>[] = [];
  for (const start of STARTS) for (const n of list('BENCH_MEETINGS', '2,4,6,8,10,12')) {
    const audio = start === 'aligned' ? speech : twice;
    const audioSeconds = audio.length / 16_000;
    const dir = await mkdtemp(join(tmpdir(), 'cb-load-'));
    const zooms: FakeZoom[] = [];
    const { port, config } = await daemonWith(n, dir, zooms);
    const daemon = await startDaemonProcess(config, port);
    const pid = daemon.child.pid!;
    // Every meeting's decoder is loaded at start: this is the memory the meetings cost before any audio.
    const rssIdle = rssMiB(pid);
    const cpuBefore = cpuSeconds(pid);
    const wallStart = Date.now();
    const outcomes = await Promise.all(
      zooms.map(async (_, i) => {
        if (start === 'staggered') await new Promise((resolve) => setTimeout(resolve, (i * speech.length) / 16 / n));
        const outcome = await streamAudio(`ws://127.0.0.1:${port}/ingest/m${i}`, audio, { token: `token-${i}` });
        return { ...outcome, endedAt: Date.now() };
      }),
    );
    const wall = (Date.now() - wallStart) / 1000;
    const cpu = cpuSeconds(pid) - cpuBefore;
    const rss = rssMiB(pid);
    await daemon.stop();
    const perMeeting = outcomes.map((o, i) => wordLatencies(spoken[start], zooms[i]!.accepted.map((c) => ({ text: c.body, at: c.receivedAt })), o.startedAt));
    const latencies = perMeeting.flat();
    // How long after the last audio the stream was flushed and closed: grows when the engine falls behind.
    const flush = outcomes.map((o) => o.endedAt - o.startedAt - audioSeconds * 1000);
    const dropped = outcomes.reduce((sum, o) => sum + ((o.messages[0] as { dropped_seconds?: number })?.dropped_seconds ?? 0), 0);
    const violations = zooms.reduce((sum, z) => sum + z.violations.length, 0);
    meetingRows.push({
      start,
      meetings: n,
      'word latency p50': ms(percentile(latencies, 50)),
      'word latency p95': ms(percentile(latencies, 95)),
      'worst meeting p95': ms(Math.max(...perMeeting.map((l) => percentile(l, 95)))),
      'flush after last audio (max)': ms(Math.max(...flush)),
      'dropped audio (s)': dropped.toFixed(1),
      'CPU (cores)': (cpu / wall).toFixed(2),
      'CPU per meeting (% core)': ((cpu / wall / n) * 100).toFixed(1),
      'RSS MiB idle (per meeting)': `${Math.round(rssIdle)} (${(rssIdle / n).toFixed(0)})`,
      'RSS MiB streaming (per meeting)': `${Math.round(rss)} (${(rss / n).toFixed(0)})`,
      'Zoom violations': violations,
      'real time': dropped === 0 && percentile(latencies, 95) < 3000 && Math.max(...flush) < 3000 ? 'yes' : 'no',
    });
    await Promise.all(zooms.map((z) => z.stop()));
    await rm(dir, { recursive: true, force: true });
  }
  report('load-meetings', meetingRows, {
    speechSeconds: speech.length / 16_000,
    profile: PROFILE,
    starts: { aligned: 'all meetings at once, the same speech (utterance ends aligned)', staggered: 'meeting i starts i/n of the speech later, the speech twice' },
  });

  // B. The sender alone: N destinations, one caption per second each, to a separate process playing Zoom.
  const senderRows: Record<string, string | number>[] = [];
  for (const n of list('BENCH_DESTINATIONS', '100,500,1000,2000')) {
    const server = spawn(process.execPath, ['-e', SINK_SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve) => server.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim()))));
    const dir = await mkdtemp(join(tmpdir(), 'cb-senders-'));
    const heapBefore = process.memoryUsage().heapUsed;
    const senders = Array.from(
      { length: n },
      (_, i) => new ZoomCaptionSender({ url: parseCaptionUrl(`http://127.0.0.1:${port}/closedcaption?id=${i}&signature=s${i}`), lang: 'en-US', seqStore: new SeqStore(dir), log: silentLogger }),
    );
    await Promise.all(senders.map((s) => s.start()));
    const seconds = 10;
    const delays: number[] = [];
    const sends: Promise<unknown>[] = [];
    const begin = Date.now() + 200;
    for (let tick = 0; tick < seconds; tick++) {
      senders.forEach((sender, i) => {
        // Spread destinations over the second, as independent meetings would be.
        const due = begin + tick * 1000 + (i * 1000) / n;
        setTimeout(() => sends.push(sender.send(`${due}`)), due - Date.now());
      });
    }
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000 + 1500));
    await Promise.all(sends);
    const heapPerDestinationKiB = (process.memoryUsage().heapUsed - heapBefore) / n / 1024;
    const arrivals = (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as [number, number][];
    for (const [due, at] of arrivals) delays.push(at - due);
    server.kill();
    await rm(dir, { recursive: true, force: true });
    const accepted = senders.reduce((sum, s) => sum + s.stats.accepted, 0);
    senderRows.push({
      destinations: n,
      'captions sent / expected': `${accepted} / ${n * seconds}`,
      'delay p50': ms(percentile(delays, 50)),
      'delay p99': ms(percentile(delays, 99)),
      'heap per destination KiB': heapPerDestinationKiB.toFixed(1),
      'p99 < 50 ms': percentile(delays, 99) < 50 ? 'yes' : 'no',
    });
  }
  if (senderRows.length > 0) report('load-senders', senderRows);

  // C. Restart drill: SIGKILL mid-meeting, restart, the publisher reconnects (BENCH_DRILL=no skips it).
  if (process.env.BENCH_DRILL === 'no') return;
  const dir = await mkdtemp(join(tmpdir(), 'cb-drill-'));
  const zooms: FakeZoom[] = [];
  const { port, config } = await daemonWith(1, dir, zooms);
  let daemon = await startDaemonProcess(config, port);
  const first = streamAudio(`ws://127.0.0.1:${port}/ingest/m0`, speech, { token: 'token-0' }).catch(() => undefined);
  await new Promise((resolve) => setTimeout(resolve, 12_000));
  const before = zooms[0]!.accepted.length;
  const killedAt = Date.now();
  await daemon.stop('SIGKILL');
  await first;
  daemon = await startDaemonProcess(config, port);
  const readyAfter = Date.now() - killedAt;
  const resumed = streamAudio(`ws://127.0.0.1:${port}/ingest/m0`, speech, { token: 'token-0' });
  await zooms[0]!.waitForCaptions(before + 1, 30_000);
  const captionsAfter = Date.now() - killedAt;
  await resumed;
  await daemon.stop();
  report('restart-drill', [
    { measure: 'daemon ready again after SIGKILL', value: ms(readyAfter) },
    { measure: 'first caption accepted after SIGKILL (publisher reconnects at once)', value: ms(captionsAfter) },
    { measure: 'captions before kill / after restart', value: `${before} / ${zooms[0]!.accepted.length - before}` },
    { measure: 'seq reused or gone back (violations)', value: zooms[0]!.violations.length },
    { measure: 'seq gaps', value: JSON.stringify(zooms[0]!.gaps) },
  ]);
  await zooms[0]!.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A minimal Zoom stand-in in its own process, so its work does not load the senders' event loop. */
const SINK_SERVER = `
const http = require('node:http');
const arrivals = [];
const server = http.createServer((req, res) => {
  if (req.url === '/stats') return res.end(JSON.stringify(arrivals));
  if (req.method !== 'POST') return res.writeHead(404).end(); // GET .../seq: the senders fall back to their state
  const at = Date.now();
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => { arrivals.push([Number(body), at]); res.end(new Date().toISOString()); });
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;
