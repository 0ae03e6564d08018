import { performance } from 'node:perf_hooks';
import { it } from 'vitest';
import { DEFAULT_MODEL_DIR, PocketsphinxDecoder } from '../src/asr/pocketsphinx/binding.js';
import { wordErrorRate } from '../src/util/wer.js';
import { buildCorpus } from './corpus.js';
import { report } from './report.js';

/**
 * pocketsphinx search settings on the bench corpus (librivox + espeak-ng meeting talk with pauses), decoded as
 * fast as one core allows in 100 ms chunks, as the worker does: word error rate of the finals and CPU per second
 * of audio. This is what a meeting costs the machine; the real-time factor sets how many meetings fit per core.
 */
const FAST = ['-fwdflat', 'no', '-maxhmmpf', '3000', '-maxwpf', '5', '-pl_window', '5'];
/** The decoder reads the best path (a backtrace with word timings) for a partial every `partialMs` of audio. */
const SETTINGS: { name: string; args: string[]; partialMs?: number }[] = [
  { name: 'default (today)', args: [] },
  { name: 'no fwdflat', args: ['-fwdflat', 'no'] },
  { name: 'narrow beams', args: ['-beam', '1e-40', '-wbeam', '1e-30', '-pbeam', '1e-40'] },
  { name: 'maxhmmpf 3000, maxwpf 5', args: ['-maxhmmpf', '3000', '-maxwpf', '5'] },
  { name: 'pl_window 5', args: ['-pl_window', '5'] },
  { name: 'topn 2', args: ['-topn', '2'] },
  { name: 'fast: no fwdflat, maxhmmpf 3000, maxwpf 5, pl_window 5', args: FAST },
  // Partial cadence as a lever: what reading partials costs, at the default 100 ms, at 500 ms, and never.
  { name: 'fast, partials every 500 ms', args: FAST, partialMs: 500 },
  { name: 'fast, no partials (finals only)', args: FAST, partialMs: 1e9 },
];

it('pocketsphinx search settings: WER and CPU per audio second', () => {
  const corpus = buildCorpus(2);
  const seconds = corpus.samples.length / 16_000;
  const rows = SETTINGS.map(({ name, args, partialMs = 100 }) => {
    const decoder = new PocketsphinxDecoder({ modelDir: DEFAULT_MODEL_DIR, endpointSilenceMs: 500, partialIntervalMs: partialMs, maxUtteranceMs: 20_000, searchArgs: args });
    const finals: string[] = [];
    const started = performance.now();
    const cpuStart = process.cpuUsage();
    for (let at = 0; at < corpus.samples.length; at += 1600) {
      for (const event of decoder.process(corpus.samples.subarray(at, at + 1600))) if (event.type === 'final') finals.push(event.text);
    }
    for (const event of decoder.finish()) if (event.type === 'final') finals.push(event.text);
    const cpu = process.cpuUsage(cpuStart);
    const wall = (performance.now() - started) / 1000;
    decoder.free();
    const wer = wordErrorRate(corpus.transcript, finals.join(' ')).wer;
    return {
      settings: name,
      'WER': wer.toFixed(3),
      'CPU s per audio s': ((cpu.user + cpu.system) / 1e6 / seconds).toFixed(3),
      'meetings per core (at 70 %)': Math.floor(0.7 / ((cpu.user + cpu.system) / 1e6 / seconds)),
      'wall s': wall.toFixed(1),
    };
  });
  console.log(report('pocketsphinx-profiles', rows, { audioSeconds: Math.round(seconds), chunkMs: 100, note: 'decoded as fast as possible on one core; WER of the finals; partials read every 100 ms unless the row says otherwise' }));
});
