import { it } from 'vitest';
import { DEFAULT_MODEL_DIR, PocketsphinxDecoder } from '../src/asr/pocketsphinx/binding.js';
import type { RecognizedWord, SpeechEvent } from '../src/asr/types.js';
import { replayEvents } from '../src/segmenter/replay.js';
import { DEFAULT_SEGMENTER_OPTIONS, Segmenter, type SegmenterOptions } from '../src/segmenter/segmenter.js';
import { alignWords, wordErrorRate } from '../src/util/wer.js';
import { buildCorpus, WITH_PAUSES, WITHOUT_PAUSES, type Corpus } from './corpus.js';
import { percentile, report } from './report.js';

const CHUNK = 1_600;

/**
 * Replays the engine's real event stream (decoded once, at audio-time pace) through the segmenter with each
 * setting. No network or scheduling delay is included: compare settings here, confirm with bench/latency.
 */
function engineEvents(corpus: Corpus): SpeechEvent[] {
  const decoder = new PocketsphinxDecoder({ modelDir: DEFAULT_MODEL_DIR, endpointSilenceMs: 500, partialIntervalMs: 100, maxUtteranceMs: 20_000 });
  const events: SpeechEvent[] = [];
  for (let i = 0; i < corpus.samples.length; i += CHUNK) events.push(...decoder.process(corpus.samples.slice(i, i + CHUNK)));
  events.push(...decoder.finish());
  decoder.free();
  return events;
}

function evaluate(corpus: Corpus, events: SpeechEvent[], overrides: Partial<SegmenterOptions>): { p50: number; p95: number; werLoss: number; chars: number } {
  const finalWords: RecognizedWord[] = events.flatMap((e) => (e.type === 'final' ? e.words : []));
  const engineWer = wordErrorRate(corpus.transcript, finalWords.map((w) => w.word).join(' ')).wer;
  const captions = replayEvents(events, new Segmenter({ ...DEFAULT_SEGMENTER_OPTIONS, ...overrides }));
  const words = captions.flatMap((c) => c.words.map((word) => ({ word, at: c.releasedAt })));
  const latencies = alignWords(finalWords.map((w) => w.word), words.map((w) => w.word)).flatMap((s) =>
    s.op === 'match' ? [words[s.hyp]!.at - finalWords[s.ref]!.end * 1000] : [],
  );
  const chars = captions.map((c) => c.text.length);
  return {
    p50: Math.round(percentile(latencies, 50)),
    p95: Math.round(percentile(latencies, 95)),
    werLoss: Number((wordErrorRate(corpus.transcript, captions.map((c) => c.text).join(' ')).wer - engineWer).toFixed(3)),
    chars: Number((chars.reduce((a, b) => a + b, 0) / chars.length).toFixed(1)),
  };
}

/**
 * Replays the engine's real event stream (decoded once, at audio-time pace) through the segmenter with each
 * setting, for speech with pauses and without. No network or scheduling delay is included (the daemon adds
 * ~40-100 ms): compare settings here, confirm with bench/latency.
 */
it('segmenter settings: latency against accuracy and caption size', () => {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 1);
  const conditions = { pauses: buildCorpus(rounds, WITH_PAUSES), continuous: buildCorpus(rounds, WITHOUT_PAUSES) };
  const events = Object.fromEntries(Object.entries(conditions).map(([name, corpus]) => [name, engineEvents(corpus)]));
  const settings: Partial<SegmenterOptions>[] = [];
  for (const stableMs of [100, 200, 300, 500])
    for (const holdBackWords of [1, 2]) for (const minIntervalMs of [700, 850, 1000, 1500]) settings.push({ stableMs, holdBackWords, minIntervalMs });

  const rows = settings.map((overrides) => {
    const row: Record<string, string | number> = { stableMs: overrides.stableMs!, holdBack: overrides.holdBackWords!, minIntervalMs: overrides.minIntervalMs! };
    for (const [name, corpus] of Object.entries(conditions)) {
      const r = evaluate(corpus, events[name]!, overrides);
      row[`${name} p50/p95`] = `${r.p50}/${r.p95}`;
      row[`${name} werLoss`] = r.werLoss;
      row[`${name} chars`] = r.chars;
    }
    return row;
  });
  report('segmenter-sweep', rows, { rounds });
});
