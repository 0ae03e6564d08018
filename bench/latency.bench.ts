import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'vitest';
import { DEFAULT_DISPLAY_OPTIONS, type DisplayMode } from '../src/display/types.js';
import { normalizeWords, wordErrorRate } from '../src/util/wer.js';
import { freePort, startDaemonProcess } from '../test/helpers/daemon-process.js';
import { FakeZoom, type ZoomFault } from '../test/helpers/fake-zoom.js';
import { freshText, viewerStats } from '../test/helpers/viewer.js';
import { streamAudio } from '../test/helpers/ws-client.js';
import { buildCorpus, WITH_PAUSES, WITHOUT_PAUSES, type Corpus } from './corpus.js';
import { cpuSeconds, engineOffline, wordLatencies } from './measure.js';
import { percentile, report } from './report.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
/** BENCH_PROFILE=fast measures the fast pocketsphinx search profile; BENCH_MODES=blocks measures one display mode. */
const PROFILE = process.env.BENCH_PROFILE ?? 'balanced';
const MODES = (process.env.BENCH_MODES ?? 'blocks,rollup').split(',') as DisplayMode[];

/** A reproducible mix of Zoom failures: each POST fails with the given probabilities. */
function faultPlan(count: number, shares: { status: number; lostAnswer: number; hang: number }, seed = 7): ZoomFault[] {
  let state = seed;
  const random = (): number => ((state = (state * 1_103_515_245 + 12_345) & 0x7fffffff) / 0x7fffffff);
  return Array.from({ length: count }, (): ZoomFault => {
    const r = random();
    if (r < shares.hang) return { kind: 'hang' };
    if (r < shares.hang + shares.lostAnswer) return { kind: 'accept-then-reset' };
    if (r < shares.hang + shares.lostAnswer + shares.status) return { kind: 'status', status: 503 };
    return { kind: 'ok' };
  });
}

/**
 * Streams the corpus through the daemon process at real-time pace into a local Zoom stand-in, and measures what a
 * viewer of Zoom's caption box gets: the POSTs as shown, how late each word first appears, what is lost.
 */
async function measure(corpus: Corpus, mode: DisplayMode, faults: ZoomFault[] = []): Promise<Record<string, string | number>> {
  const audioSeconds = corpus.samples.length / 16_000;
  const offline = engineOffline(corpus.samples);
  const zoom = new FakeZoom();
  zoom.faults.push(...faults);
  const url = await zoom.start();
  const dir = await mkdtemp(join(tmpdir(), 'cb-bench-'));
  const port = await freePort();
  const config = join(dir, 'bench.yaml');
  await writeFile(
    config,
    `log: { level: warn }\nhttp: { host: 127.0.0.1, port: ${port} }\nstate: { dir: ${dir} }\nmeetings:\n  - id: bench\n    source: { type: websocket, token: bench-token }\n    asr: { profile: ${PROFILE} }\n    captions: [ { zoom: { url: "${url}", display: ${mode}, requestTimeoutMs: 1000 } } ]\n`,
  );
  const daemon = await startDaemonProcess(config, port);
  const cpuBefore = cpuSeconds(daemon.child.pid!);
  const outcome = await streamAudio(`ws://127.0.0.1:${port}/ingest/bench`, corpus.samples, { token: 'bench-token' });
  const cpuUsed = cpuSeconds(daemon.child.pid!) - cpuBefore;
  await daemon.stop();
  await zoom.stop();
  // The archive holds every word the daemon settled, once: what reached Zoom is compared with it.
  const archiveDir = join(dir, 'transcripts', 'bench');
  const vtt = await readFile(join(archiveDir, (await readdir(archiveDir)).find((f) => f.endsWith('.vtt'))!), 'utf8');
  await rm(dir, { recursive: true, force: true });
  const settledWords = normalizeWords(vtt.split('\n\n').filter((cue) => cue.includes(' --> ')).map((cue) => cue.split('\n').slice(1).join(' ')).join(' ')).length;

  const posts = zoom.accepted.map((c) => ({ text: c.body, at: c.receivedAt }));
  const fresh = posts.map((p, i) => ({ text: freshText(posts[i - 1]?.text, p.text).fresh, at: p.at }));
  const latencies = wordLatencies(offline.words, fresh, outcome.startedAt);
  const deliveredWords = normalizeWords(fresh.map((p) => p.text).join(' ')).length;
  const ms = (v: number): string => `${Math.round(v)} ms`;
  return {
    ...viewerStats(posts),
    'word latency p50 (first shown)': ms(percentile(latencies, 50)),
    'word latency p95 (first shown)': ms(percentile(latencies, 95)),
    'caption WER': wordErrorRate(corpus.transcript, fresh.map((p) => p.text).join(' ')).wer.toFixed(3),
    'engine offline WER': wordErrorRate(corpus.transcript, offline.words.map((w) => w.word).join(' ')).wer.toFixed(3),
    'words at Zoom / settled': `${deliveredWords} / ${settledWords}`,
    'POSTs per minute': (zoom.accepted.length / (audioSeconds / 60)).toFixed(1),
    'CPU per stream (one core)': `${((cpuUsed / audioSeconds) * 100).toFixed(1)} %`,
    'Zoom rule violations / seq gaps': `${zoom.violations.length} / ${zoom.gaps.length}`,
    'audio / speech seconds': `${audioSeconds.toFixed(1)} / ${corpus.speechSeconds.toFixed(1)}`,
  };
}

function table(name: string, results: Record<string, Record<string, string | number>>, targets: Record<string, string>, details: Record<string, unknown>): void {
  const measures = Object.keys(Object.values(results)[0]!);
  report(
    name,
    measures.map((measure) => ({ measure, ...Object.fromEntries(Object.entries(results).map(([c, r]) => [c, r[measure]!])), target: targets[measure] ?? '' })),
    details,
  );
}

it('what a viewer of the caption box gets from the daemon, blocks and roll-up, at real-time pace', async () => {
  const results: Record<string, Record<string, string | number>> = {};
  for (const [condition, pauses] of Object.entries({ pauses: WITH_PAUSES, continuous: WITHOUT_PAUSES })) {
    const corpus = buildCorpus(ROUNDS, pauses);
    for (const mode of MODES) results[`${mode}, ${condition}`] = await measure(corpus, mode);
  }
  table(
    'latency',
    results,
    {
      'fragments %': 'blocks <= 5',
      'chars per POST': 'blocks >= 25',
      'on screen p10 ms': 'blocks >= 1200',
      'over 20 chars/s %': 'blocks <= 5',
      'repeated words %': 'blocks 0',
      'word latency p50 (first shown)': 'blocks <= 2000, rollup <= 1200',
      'word latency p95 (first shown)': 'blocks <= 3500',
      'Zoom rule violations / seq gaps': '0 / 0',
    },
    { rounds: ROUNDS, profile: PROFILE, display: DEFAULT_DISPLAY_OPTIONS },
  );
});

it('Zoom fault drill: 30 % failed POSTs, 10 % lost answers, 2 % hangs; what reaches Zoom', async () => {
  const corpus = buildCorpus(ROUNDS, WITH_PAUSES);
  const shares = { status: 0.3, lostAnswer: 0.1, hang: 0.02 };
  const results = {
    'no faults': await measure(corpus, 'blocks'),
    '30/10/2 % faults': await measure(corpus, 'blocks', faultPlan(2_000, shares)),
  };
  table('zoom-faults', results, { 'words at Zoom / settled': 'equal', 'Zoom rule violations / seq gaps': '0 / 0' }, { rounds: ROUNDS, shares });
});
