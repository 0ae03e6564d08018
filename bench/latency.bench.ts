import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'vitest';
import { DEFAULT_MODEL_DIR, PocketsphinxDecoder } from '../src/asr/pocketsphinx/binding.js';
import type { RecognizedWord } from '../src/asr/types.js';
import { DEFAULT_SEGMENTER_OPTIONS } from '../src/segmenter/segmenter.js';
import { alignWords, normalizeWords, wordErrorRate } from '../src/util/wer.js';
import { freePort, startDaemonProcess } from '../test/helpers/daemon-process.js';
import { FakeZoom } from '../test/helpers/fake-zoom.js';
import { streamAudio } from '../test/helpers/ws-client.js';
import { buildCorpus } from './corpus.js';
import { percentile, report } from './report.js';

const CHUNK = 1_600;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);

/** The engine alone, offline on the same audio: its words with their timings, and when each final fired. */
function engineOffline(samples: Int16Array): { words: RecognizedWord[]; finalsOnlyLatencies: number[] } {
  const decoder = new PocketsphinxDecoder({ modelDir: DEFAULT_MODEL_DIR, endpointSilenceMs: 500, partialIntervalMs: 100, maxUtteranceMs: 20_000 });
  const words: RecognizedWord[] = [];
  const finalsOnlyLatencies: number[] = [];
  const take = (events: ReturnType<PocketsphinxDecoder['process']>): void => {
    for (const event of events) {
      if (event.type !== 'final') continue;
      words.push(...event.words);
      // A "post each final" pipeline shows a word when its utterance's final fires.
      for (const word of event.words) finalsOnlyLatencies.push((event.time - word.end) * 1000);
    }
  };
  for (let i = 0; i < samples.length; i += CHUNK) take(decoder.process(samples.slice(i, i + CHUNK)));
  take(decoder.finish());
  decoder.free();
  return { words, finalsOnlyLatencies };
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
}

it('latency and accuracy of the daemon on a few minutes of speech at real-time pace', async () => {
  const corpus = buildCorpus(ROUNDS);
  const audioSeconds = corpus.samples.length / 16_000;
  console.log(`corpus: ${audioSeconds.toFixed(1)} s of audio, ${corpus.speechSeconds.toFixed(1)} s of speech`);
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

  // Word latency: each caption word matched to the same word in the engine's offline alignment, whose end
  // time says when it was spoken; latency runs from there to Zoom's acceptance of the caption.
  const captionWords = zoom.accepted.flatMap((c) => normalizeWords(c.body).map((word) => ({ word, acceptedAt: c.receivedAt })));
  const engineWords = offline.words.map((w) => w.word.toLowerCase());
  const latencies: number[] = [];
  for (const step of alignWords(engineWords, captionWords.map((w) => w.word))) {
    if (step.op !== 'match') continue;
    latencies.push(captionWords[step.hyp]!.acceptedAt - (outcome.startedAt + offline.words[step.ref]!.end * 1000));
  }

  const captionText = zoom.accepted.map((c) => c.body).join(' ');
  const captionWer = wordErrorRate(corpus.transcript, captionText);
  const engineWer = wordErrorRate(corpus.transcript, offline.words.map((w) => w.word).join(' '));
  const gaps = zoom.accepted.slice(1).map((c, i) => c.receivedAt - zoom.accepted[i]!.receivedAt);
  const chars = zoom.accepted.map((c) => c.body.length);

  const ms = (v: number): string => `${Math.round(v)} ms`;
  report(
    'latency',
    [
      { measure: 'word latency p50 (spoken -> Zoom accepted)', value: ms(percentile(latencies, 50)), target: '<= 1000 ms' },
      { measure: 'word latency p95', value: ms(percentile(latencies, 95)), target: '<= 2000 ms' },
      { measure: 'finals-only pipeline p50 (simulated, same engine)', value: ms(percentile(offline.finalsOnlyLatencies, 50)), target: 'baseline' },
      { measure: 'finals-only pipeline p95 (simulated)', value: ms(percentile(offline.finalsOnlyLatencies, 95)), target: 'baseline' },
      { measure: 'words matched for latency', value: `${latencies.length} of ${captionWords.length}`, target: '' },
      { measure: 'caption WER vs reference', value: captionWer.wer.toFixed(3), target: 'engine + 0.02' },
      { measure: 'engine offline WER vs reference', value: engineWer.wer.toFixed(3), target: '' },
      { measure: 'captions', value: zoom.accepted.length, target: '' },
      { measure: 'captions per minute', value: (zoom.accepted.length / (audioSeconds / 60)).toFixed(1), target: '' },
      { measure: 'characters per caption (mean / max)', value: `${(chars.reduce((a, b) => a + b, 0) / chars.length).toFixed(1)} / ${Math.max(...chars)}`, target: '<= 65' },
      { measure: 'longest gap between captions', value: ms(Math.max(...gaps)), target: '' },
      { measure: 'daemon CPU per stream (share of one core)', value: `${((cpuUsed / audioSeconds) * 100).toFixed(1)} %`, target: '' },
      { measure: 'Zoom rule violations', value: zoom.violations.length, target: '0' },
      { measure: 'audio seconds streamed', value: audioSeconds.toFixed(1), target: '' },
    ],
    {
      corpus: { audioSeconds, speechSeconds: corpus.speechSeconds, rounds: ROUNDS },
      segmenter: DEFAULT_SEGMENTER_OPTIONS,
      captions: zoom.accepted.map((c) => c.body),
    },
  );
});
