import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'vitest';
import { DEFAULT_SEGMENTER_OPTIONS } from '../src/segmenter/segmenter.js';
import { normalizeWords, wordErrorRate } from '../src/util/wer.js';
import { freePort, startDaemonProcess } from '../test/helpers/daemon-process.js';
import { FakeZoom } from '../test/helpers/fake-zoom.js';
import { streamAudio } from '../test/helpers/ws-client.js';
import { buildCorpus, WITH_PAUSES, WITHOUT_PAUSES, type Corpus } from './corpus.js';
import { cpuSeconds, engineOffline, wordLatencies } from './measure.js';
import { percentile, report } from './report.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

/** Streams the corpus through the daemon process at real-time pace into a local Zoom stand-in and measures. */
async function measure(corpus: Corpus): Promise<Record<string, string | number>> {
  const audioSeconds = corpus.samples.length / 16_000;
  const offline = engineOffline(corpus.samples);
  const zoom = new FakeZoom();
  const url = await zoom.start();
  const dir = await mkdtemp(join(tmpdir(), 'cb-bench-'));
  const port = await freePort();
  const config = join(dir, 'bench.yaml');
  await writeFile(
    config,
    `log: { level: warn }\nhttp: { host: 127.0.0.1, port: ${port} }\nstate: { dir: ${dir} }\nmeetings:\n  - id: bench\n    source: { type: websocket, token: bench-token }\n    captions: [ { zoom: { url: "${url}" } } ]\n`,
  );
  const daemon = await startDaemonProcess(config, port);
  const cpuBefore = cpuSeconds(daemon.child.pid!);
  const outcome = await streamAudio(`ws://127.0.0.1:${port}/ingest/bench`, corpus.samples, { token: 'bench-token' });
  const cpuUsed = cpuSeconds(daemon.child.pid!) - cpuBefore;
  await daemon.stop();
  await zoom.stop();
  await rm(dir, { recursive: true, force: true });

  const latencies = wordLatencies(offline.words, zoom.accepted, outcome.startedAt);
  const captionWords = zoom.accepted.flatMap((c) => normalizeWords(c.body));
  const captionWer = wordErrorRate(corpus.transcript, zoom.text()).wer;
  const engineWer = wordErrorRate(corpus.transcript, offline.words.map((w) => w.word).join(' ')).wer;
  const gaps = zoom.accepted.slice(1).map((c, i) => c.receivedAt - zoom.accepted[i]!.receivedAt);
  const chars = zoom.accepted.map((c) => c.body.length);
  const ms = (v: number): string => `${Math.round(v)} ms`;
  return {
    'word latency p50': ms(percentile(latencies, 50)),
    'word latency p95': ms(percentile(latencies, 95)),
    'finals-only p50 / p95 (simulated)': `${ms(percentile(offline.finalsOnlyLatencies, 50))} / ${ms(percentile(offline.finalsOnlyLatencies, 95))}`,
    'words matched for latency': `${latencies.length} of ${captionWords.length}`,
    'caption WER': captionWer.toFixed(3),
    'engine offline WER': engineWer.toFixed(3),
    captions: zoom.accepted.length,
    'captions per minute': (zoom.accepted.length / (audioSeconds / 60)).toFixed(1),
    'chars per caption mean / max': `${(chars.reduce((a, b) => a + b, 0) / chars.length).toFixed(1)} / ${Math.max(...chars)}`,
    'longest gap between captions': ms(Math.max(...gaps)),
    'CPU per stream (one core)': `${((cpuUsed / audioSeconds) * 100).toFixed(1)} %`,
    'Zoom rule violations': zoom.violations.length,
    'audio / speech seconds': `${audioSeconds.toFixed(1)} / ${corpus.speechSeconds.toFixed(1)}`,
  };
}

it('latency and accuracy of the daemon on a few minutes of speech at real-time pace', async () => {
  const conditions = { 'with pauses (0.3-1.5 s)': WITH_PAUSES, 'without pauses (0.1-0.15 s)': WITHOUT_PAUSES };
  const results: Record<string, Record<string, string | number>> = {};
  for (const [name, pauses] of Object.entries(conditions)) results[name] = await measure(buildCorpus(ROUNDS, pauses));
  const measures = Object.keys(Object.values(results)[0]!);
  const targets: Record<string, string> = { 'word latency p50': '<= 1000 ms', 'word latency p95': '<= 2000 ms', 'Zoom rule violations': '0' };
  report(
    'latency',
    measures.map((measure) => ({ measure, ...Object.fromEntries(Object.entries(results).map(([c, r]) => [c, r[measure]!])), target: targets[measure] ?? '' })),
    { rounds: ROUNDS, segmenter: DEFAULT_SEGMENTER_OPTIONS },
  );
});
