import { readFileSync } from 'node:fs';
import { DEFAULT_MODEL_DIR, PocketsphinxDecoder } from '../src/asr/pocketsphinx/binding.js';
import type { RecognizedWord } from '../src/asr/types.js';
import { alignWords, normalizeWords } from '../src/util/wer.js';

const CHUNK = 1_600;

/** The engine alone, offline on the same audio: its words with their timings, and when each final fired. */
export function engineOffline(samples: Int16Array): { words: RecognizedWord[]; finalsOnlyLatencies: number[] } {
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

/**
 * Word latency: each word a POST shows for the first time, matched to the same word in the engine's offline
 * alignment, whose end time says when it was spoken; latency runs from there to Zoom's acceptance of the POST.
 */
export function wordLatencies(spoken: RecognizedWord[], firstShown: { text: string; at: number }[], streamStartedAt: number): number[] {
  const captionWords = firstShown.flatMap((p) => normalizeWords(p.text).map((word) => ({ word, acceptedAt: p.at })));
  return alignWords(spoken.map((w) => w.word), captionWords.map((w) => w.word)).flatMap((step) =>
    step.op === 'match' ? [captionWords[step.hyp]!.acceptedAt - (streamStartedAt + spoken[step.ref]!.end * 1000)] : [],
  );
}

/** utime + stime of a process, in seconds (Linux /proc, clock ticks of 10 ms). */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
}
