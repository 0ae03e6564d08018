import { it } from 'vitest';
import { DEFAULT_MODEL_DIR, PocketsphinxDecoder } from '../src/asr/pocketsphinx/binding.js';
import type { RecognizedWord, SpeechEvent } from '../src/asr/types.js';
import { replayEvents } from '../src/segmenter/replay.js';
import { DEFAULT_SEGMENTER_OPTIONS, Segmenter, type SegmenterOptions } from '../src/segmenter/segmenter.js';
import { alignWords, wordErrorRate } from '../src/util/wer.js';
import { buildCorpus } from './corpus.js';
import { percentile, report } from './report.js';

const CHUNK = 1_600;

/**
 * Replays the engine's real event stream (decoded once, at audio-time pace) through the segmenter with each
 * setting. No network or scheduling delay is included: compare settings here, confirm with bench/latency.
 */
it('segmenter settings: latency against accuracy and caption size', () => {
  const corpus = buildCorpus(Number(process.env.BENCH_ROUNDS ?? 1));
  const decoder = new PocketsphinxDecoder({ modelDir: DEFAULT_MODEL_DIR, endpointSilenceMs: 500, partialIntervalMs: 100, maxUtteranceMs: 20_000 });
  const events: SpeechEvent[] = [];
  for (let i = 0; i < corpus.samples.length; i += CHUNK) events.push(...decoder.process(corpus.samples.slice(i, i + CHUNK)));
  events.push(...decoder.finish());
  decoder.free();
  const finalWords: RecognizedWord[] = events.flatMap((e) => (e.type === 'final' ? e.words : []));
  const engineWer = wordErrorRate(corpus.transcript, finalWords.map((w) => w.word).join(' ')).wer;

  const settings: Partial<SegmenterOptions>[] = [];
  for (const stableMs of [200, 300, 500, 800])
    for (const holdBackWords of [0, 1, 2]) for (const minIntervalMs of [700, 1000, 1500]) settings.push({ stableMs, holdBackWords, minIntervalMs });

  const rows = settings.map((overrides) => {
    const captions = replayEvents(events, new Segmenter({ ...DEFAULT_SEGMENTER_OPTIONS, ...overrides }));
    const words = captions.flatMap((c) => c.words.map((word) => ({ word, at: c.releasedAt })));
    const latencies = alignWords(finalWords.map((w) => w.word), words.map((w) => w.word))
      .filter((s) => s.op === 'match')
      .map((s) => (s.op === 'match' ? words[s.hyp]!.at - finalWords[s.ref]!.end * 1000 : 0));
    const chars = captions.map((c) => c.text.length);
    return {
      stableMs: overrides.stableMs!,
      holdBack: overrides.holdBackWords!,
      minIntervalMs: overrides.minIntervalMs!,
      p50: Math.round(percentile(latencies, 50)),
      p95: Math.round(percentile(latencies, 95)),
      werLoss: Number((wordErrorRate(corpus.transcript, captions.map((c) => c.text).join(' ')).wer - engineWer).toFixed(3)),
      charsPerCaption: Number((chars.reduce((a, b) => a + b, 0) / chars.length).toFixed(1)),
      captions: captions.length,
    };
  });
  report('segmenter-sweep', rows, { engineWer, audioSeconds: corpus.samples.length / 16_000 });
});
