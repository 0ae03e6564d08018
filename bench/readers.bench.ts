import { readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { it } from 'vitest';
import { freshText } from '../test/helpers/viewer.js';
import { freePort, startDaemonProcess } from '../test/helpers/daemon-process.js';
import { FakeZoom } from '../test/helpers/fake-zoom.js';
import { streamAudio } from '../test/helpers/ws-client.js';
import { buildCorpus } from './corpus.js';
import { engineOffline, rssMiB, wordLatencies } from './measure.js';
import { percentile, report } from './report.js';

/**
 * One meeting streamed at real-time pace through a daemon process into a strict Zoom stand-in, with its caption page
 * read by nobody, then by BENCH_READERS readers (server-sent events, one socket each) of which BENCH_FROZEN never
 * read a byte (a frozen tab). Measured: word latency at Zoom with and without the readers, how late each reader gets
 * each caption after it was shown, the daemon's memory, and whether every reader got every caption.
 */
const READERS = Number(process.env.BENCH_READERS ?? 500);
const FROZEN = Number(process.env.BENCH_FROZEN ?? 20);
const VIEWER = 'bench-viewer-token-0123456789';

interface Reader {
  got: { seq: number; at: number; receivedAt: number }[];
  response?: IncomingMessage;
}

function read(url: string, frozen: boolean): Reader {
  const reader: Reader = { got: [] };
  get(url, { headers: { authorization: `Bearer ${VIEWER}` }, agent: false }, (res) => {
    reader.response = res;
    // A frozen tab: the socket stays open, nothing is read from it.
    if (frozen) return void res.pause();
    let buffer = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
        const data = /^data: (.+)$/m.exec(buffer.slice(0, cut))?.[1];
        buffer = buffer.slice(cut + 2);
        if (data) {
          const caption = JSON.parse(data) as { seq?: number; at?: number };
          if (caption.seq !== undefined) reader.got.push({ seq: caption.seq, at: caption.at!, receivedAt: Date.now() });
        }
      }
    });
    res.on('error', () => undefined);
  }).on('error', () => undefined);
  return reader;
}

async function run(readers: number, frozen: number): Promise<Record<string, string | number>> {
  const corpus = buildCorpus(1);
  const offline = engineOffline(corpus.samples);
  const zoom = new FakeZoom();
  const url = await zoom.start();
  const dir = await mkdtemp(join(tmpdir(), 'cb-readers-'));
  const port = await freePort();
  const config = join(dir, 'bench.yaml');
  await writeFile(
    config,
    `log: { level: warn }\nhttp: { host: 127.0.0.1, port: ${port} }\nstate: { dir: ${dir} }\nmeetings:\n  - id: bench\n    source: { type: websocket, token: bench-ingest-token }\n    archive: false\n    captions:\n      - zoom: { url: "${url}" }\n      - page: { token: ${VIEWER}, maxReaders: ${readers + frozen + 10} }\n`,
  );
  const daemon = await startDaemonProcess(config, port);
  const rssIdle = rssMiB(daemon.child.pid!);
  const all = Array.from({ length: readers + frozen }, (_, i) => read(`http://127.0.0.1:${port}/captions/bench/events`, i >= readers));
  while (all.some((r) => r.response === undefined)) await sleep(50);
  const rssReaders = rssMiB(daemon.child.pid!);
  const outcome = await streamAudio(`ws://127.0.0.1:${port}/ingest/bench`, corpus.samples, { token: 'bench-ingest-token' });
  await sleep(1_000);
  const rssAfter = rssMiB(daemon.child.pid!);
  for (const reader of all) reader.response?.destroy();
  await daemon.stop();
  await zoom.stop();
  await rm(dir, { recursive: true, force: true });

  const posts = zoom.accepted.map((c) => ({ text: c.body, at: c.receivedAt }));
  const fresh = posts.map((p, i) => ({ text: freshText(posts[i - 1]?.text, p.text).fresh, at: p.at }));
  const latencies = wordLatencies(offline.words, fresh, outcome.startedAt);
  const reading = all.slice(0, readers);
  const delays = reading.flatMap((r) => r.got.map((c) => c.receivedAt - c.at));
  const complete = reading.filter((r) => r.got.length === posts.length && r.got.every((c, i) => c.seq === i + 1)).length;
  const ms = (v: number): string => (Number.isFinite(v) ? `${Math.round(v)} ms` : '-');
  return {
    readers: `${readers} (+${frozen} frozen)`,
    'word latency at Zoom p50': ms(percentile(latencies, 50)),
    'word latency at Zoom p95': ms(percentile(latencies, 95)),
    'reader gets a caption after it is shown, p50': ms(percentile(delays, 50)),
    'reader gets a caption after it is shown, p95': ms(percentile(delays, 95)),
    'reader gets a caption after it is shown, max': ms(percentile(delays, 100)),
    'readers with every caption, in order': readers === 0 ? '-' : `${complete} / ${readers}`,
    'daemon RSS idle / readers connected / after': `${rssIdle.toFixed(0)} / ${rssReaders.toFixed(0)} / ${rssAfter.toFixed(0)} MiB`,
    'captions / Zoom violations': `${posts.length} / ${zoom.violations.length}`,
  };
}

it('caption page readers: word latency at Zoom with and without 500 readers, and what each reader gets', async () => {
  const without = await run(0, 0);
  const withReaders = await run(READERS, FROZEN);
  report(
    'caption-page-readers',
    Object.keys(without).map((measure) => ({ measure, 'no readers': without[measure]!, [`${READERS} readers`]: withReaders[measure]! })),
    { readers: READERS, frozen: FROZEN },
  );
}, 30 * 60_000);

/** Open files of a process (Linux): each reader holds one socket. */
function openFiles(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

it('idle readers: what each costs the daemon, and that a full reader budget leaves health and ingest their connections', async () => {
  const budget = Number(process.env.BENCH_READER_BUDGET ?? 2_000);
  const dir = await mkdtemp(join(tmpdir(), 'cb-idle-readers-'));
  const port = await freePort();
  const config = join(dir, 'bench.yaml');
  await writeFile(
    config,
    `log: { level: warn }\nhttp: { host: 127.0.0.1, port: ${port}, maxReaders: ${budget} }\nstate: { dir: ${dir} }\nmeetings:\n  - id: bench\n    source: { type: websocket, token: bench-ingest-token-0123 }\n    archive: false\n    captions:\n      - page: { public: true, maxReaders: ${budget}, maxReadersPerAddress: ${budget} }\n`,
  );
  const daemon = await startDaemonProcess(config, port);
  const pid = daemon.child.pid!;
  const rows: Record<string, string | number>[] = [];
  const readers: IncomingMessage[] = [];
  const open = (count: number): Promise<number[]> =>
    Promise.all(
      Array.from(
        { length: count },
        () =>
          new Promise<number>((resolve) => {
            get(`http://127.0.0.1:${port}/captions/bench/events`, { agent: false }, (res) => {
              if (res.statusCode === 200) {
                readers.push(res);
                res.pause();
              } else res.resume();
              resolve(res.statusCode ?? 0);
            }).on('error', () => resolve(0));
          }),
      ),
    );
  await sleep(500);
  const base = { rss: rssMiB(pid), files: openFiles(pid) };
  rows.push({ readers: 0, 'daemon RSS': `${base.rss.toFixed(1)} MiB`, 'open files': base.files, 'RSS per reader': '-', 'files per reader': '-' });
  for (const step of [budget / 2, budget / 2]) {
    await open(step);
    await sleep(1_000);
    const rss = rssMiB(pid);
    const files = openFiles(pid);
    rows.push({
      readers: readers.length,
      'daemon RSS': `${rss.toFixed(1)} MiB`,
      'open files': files,
      'RSS per reader': `${(((rss - base.rss) * 1024) / readers.length).toFixed(1)} KiB`,
      'files per reader': ((files - base.files) / readers.length).toFixed(2),
    });
  }
  // The budget is full: 1000 more readers are refused, and health and ingest still get in.
  const refused = await open(1_000);
  const healthStart = Date.now();
  const health = (await fetch(`http://127.0.0.1:${port}/healthz`)).status;
  const healthMs = Date.now() - healthStart;
  const ingest = await streamAudio(`ws://127.0.0.1:${port}/ingest/bench`, new Int16Array(16_000), { token: 'bench-ingest-token-0123', realtime: false });
  rows.push({
    readers: `${readers.length} + 1000 more tried`,
    'daemon RSS': `${rssMiB(pid).toFixed(1)} MiB`,
    'open files': openFiles(pid),
    'RSS per reader': `refused ${refused.filter((s) => s === 503).length} of 1000 (503)`,
    'files per reader': `healthz ${health} in ${healthMs} ms; ingest closed ${ingest.code}`,
  });
  for (const reader of readers) reader.destroy();
  await daemon.stop();
  await rm(dir, { recursive: true, force: true });
  report('idle-readers', rows, { budget });
}, 10 * 60_000);
