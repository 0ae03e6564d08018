import { it } from 'vitest';
import { DEFAULT_MODEL_DIR, PocketsphinxDecoder } from '../src/asr/pocketsphinx/binding.js';
import type { RecognizedWord, SpeechEvent } from '../src/asr/types.js';
import { createDisplay } from '../src/display/create.js';
import { replayEvents } from '../src/display/replay.js';
import { DEFAULT_DISPLAY_OPTIONS, type DisplayMode, type DisplayOptions } from '../src/display/types.js';
import { DEFAULT_SEGMENTER_OPTIONS, Segmenter, type SegmenterOptions } from '../src/segmenter/segmenter.js';
import { wordErrorRate } from '../src/util/wer.js';
import { scriptOf, ScriptedHearing } from '../test/helpers/scripted-hearing.js';
import { buildCorpus, WITH_PAUSES, WITHOUT_PAUSES, type Corpus, type CorpusName } from './corpus.js';
import { percentile, report } from './report.js';
import { freshText, viewerStats } from '../test/helpers/viewer.js';

const CHUNK = 1_600;

/**
 * BENCH_HEARING=script: the events of a perfect engine (ScriptedHearing) instead of pocketsphinx's, so the display
 * alone is measured; BENCH_CORPUS picks the talk (meeting, the default, is what settings are chosen on).
 */
const HEARING = process.env.BENCH_HEARING ?? 'engine';
const CORPUS = (process.env.BENCH_CORPUS ?? 'meeting') as CorpusName;
/**
 * BENCH_INTERIM_EVERY_MS=1000: at most one interim per that much audio (Deepgram's cadence), as the stand-in thins
 * them; BENCH_STABLE_MS: segmenter.stableMs for every setting (an engine's settleAfterMs).
 */
const INTERIM_EVERY_MS = Number(process.env.BENCH_INTERIM_EVERY_MS ?? 0);
const STABLE_MS = process.env.BENCH_STABLE_MS === undefined ? undefined : Number(process.env.BENCH_STABLE_MS);

/** The events an engine with a slower interim cadence would send: finals as they are, interims thinned. */
function atCadence(events: SpeechEvent[], everyMs: number): SpeechEvent[] {
  if (everyMs <= 0) return events;
  let lastInterimAt = -Infinity;
  return events.filter((event) => {
    if (event.type === 'final') lastInterimAt = -Infinity;
    if (event.type !== 'interim') return true;
    if (event.time * 1000 - lastInterimAt < everyMs) return false;
    lastInterimAt = event.time * 1000;
    return true;
  });
}

function engineEvents(corpus: Corpus): SpeechEvent[] {
  if (HEARING === 'script') {
    const hearing = new ScriptedHearing(scriptOf(corpus.samples, corpus.segments));
    const events: SpeechEvent[] = [];
    for (let i = 0; i < corpus.samples.length; i += CHUNK) events.push(...hearing.process(corpus.samples.slice(i, i + CHUNK)));
    return atCadence([...events, ...hearing.finish()], INTERIM_EVERY_MS);
  }
  const decoder = new PocketsphinxDecoder({ modelDir: DEFAULT_MODEL_DIR, endpointSilenceMs: 500, partialIntervalMs: 100, maxUtteranceMs: 20_000 });
  const events: SpeechEvent[] = [];
  for (let i = 0; i < corpus.samples.length; i += CHUNK) events.push(...decoder.process(corpus.samples.slice(i, i + CHUNK)));
  events.push(...decoder.finish());
  decoder.free();
  return events;
}

interface Setting {
  mode: DisplayMode;
  display?: Partial<DisplayOptions>;
  segmenter?: Partial<SegmenterOptions>;
}

/** One setting on one condition: what the viewer sees, how late words are, and what the captions lose. */
function evaluate(corpus: Corpus, events: SpeechEvent[], setting: Setting): Record<string, number> {
  const finalWords: RecognizedWord[] = events.flatMap((e) => (e.type === 'final' ? e.words : []));
  const engineWer = wordErrorRate(corpus.transcript, finalWords.map((w) => w.word).join(' ')).wer;
  const segmenter = new Segmenter({ ...DEFAULT_SEGMENTER_OPTIONS, ...(STABLE_MS === undefined ? {} : { stableMs: STABLE_MS }), ...setting.segmenter });
  const display = createDisplay(setting.mode, { ...DEFAULT_DISPLAY_OPTIONS, ...setting.display });
  const posts = replayEvents(events, segmenter, display);
  // Replay time is audio time: a word is late by the time from when it was spoken to the POST that first shows it.
  const latencies = posts.flatMap((p) => p.tokens.map((t) => p.releasedAt - t.end * 1000));
  const fresh = posts.map((p, i) => freshText(posts[i - 1]?.text, p.text).fresh).join(' ');
  return {
    ...viewerStats(posts.map((p) => ({ text: p.text, at: p.releasedAt }))),
    'latency p50 ms': Math.round(percentile(latencies, 50)),
    'latency p95 ms': Math.round(percentile(latencies, 95)),
    'WER loss (points)': Number((100 * (wordErrorRate(corpus.transcript, fresh).wer - engineWer)).toFixed(1)),
  };
}

/**
 * Replays the engine's real event stream (decoded once, at audio-time pace) through the segmenter and each
 * display setting, for speech with pauses and without, and measures what a viewer of Zoom's pop-on caption box
 * gets. No network or scheduling delay is included (the daemon adds ~0.1-0.3 s): compare settings here, confirm
 * with bench/latency.
 */
it('display settings: readability in the caption box against word latency', () => {
  const rounds = Number(process.env.BENCH_ROUNDS ?? 1);
  const conditions = { pauses: buildCorpus(rounds, WITH_PAUSES, CORPUS), continuous: buildCorpus(rounds, WITHOUT_PAUSES, CORPUS) };
  const events = Object.fromEntries(Object.entries(conditions).map(([name, corpus]) => [name, engineEvents(corpus)]));
  const settings: Setting[] = [];
  // BENCH_HOLDS=1600,2000: only blocks with these holds (the rest of the sweep off), for a quick look at one trade-off.
  const holds = process.env.BENCH_HOLDS?.split(',').map(Number);
  // BENCH_DISPLAYS='[{"maxLagMs":2500},{}]': only blocks with these display settings, for any other trade-off.
  const displays = process.env.BENCH_DISPLAYS ? (JSON.parse(process.env.BENCH_DISPLAYS) as Partial<DisplayOptions>[]) : undefined;
  if (displays) for (const display of displays) settings.push({ mode: 'blocks', display });
  else if (holds) for (const maxHoldMs of holds) settings.push({ mode: 'blocks', display: { maxHoldMs } });
  else for (const maxHoldMs of [900, 1_200, 1_600])
    for (const minShowMs of [1_500, 2_000])
      for (const maxCharsPerSecond of [15, 17, 20]) settings.push({ mode: 'blocks', display: { maxHoldMs, minShowMs, maxCharsPerSecond } });
  if (!holds && !displays) {
    for (const maxLagMs of [2_000, 4_000]) settings.push({ mode: 'blocks', display: { maxLagMs } });
    for (const stableMs of [100, 300, 500, 800]) for (const holdBackWords of [1, 2]) settings.push({ mode: 'blocks', segmenter: { stableMs, holdBackWords } });
    for (const rollupIntervalMs of [500, 700, 1_000, 1_500]) settings.push({ mode: 'rollup', display: { rollupIntervalMs } });
  }

  const rows = settings.map((setting) => {
    const row: Record<string, string | number> = { mode: setting.mode, setting: JSON.stringify({ ...setting.display, ...setting.segmenter }) };
    for (const [name, corpus] of Object.entries(conditions)) {
      const r = evaluate(corpus, events[name]!, setting);
      for (const key of ['chars per POST', 'sentence tails alone %', 'fragments %', 'on screen p10 ms', 'over 20 chars/s %', 'repeated words %', 'latency p50 ms', 'latency p95 ms', 'WER loss (points)']) {
        row[`${name} ${key}`] = r[key]!;
      }
    }
    return row;
  });
  report(['display-sweep', HEARING === 'script' ? 'perfect-engine' : '', CORPUS === 'meeting' ? '' : CORPUS, INTERIM_EVERY_MS ? `interims-${INTERIM_EVERY_MS}` : '', STABLE_MS === undefined ? '' : `stable-${STABLE_MS}`].filter(Boolean).join('-'), rows, { rounds, corpus: CORPUS, hearing: HEARING, interimEveryMs: INTERIM_EVERY_MS, stableMs: STABLE_MS, defaults: { display: DEFAULT_DISPLAY_OPTIONS, segmenter: DEFAULT_SEGMENTER_OPTIONS } });
});
