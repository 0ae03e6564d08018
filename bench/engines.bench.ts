import { it } from 'vitest';
import { AssemblyAiRecognizer } from '../src/asr/assemblyai/recognizer.js';
import { OpenAiRealtimeRecognizer } from '../src/asr/openai-realtime/recognizer.js';
import { WhisperLiveRecognizer } from '../src/asr/whisperlive/recognizer.js';
import { SpeechmaticsRecognizer } from '../src/asr/speechmatics/recognizer.js';
import { AwsTranscribeRecognizer } from '../src/asr/aws-transcribe/recognizer.js';
import { GoogleSpeechRecognizer } from '../src/asr/google-speech/recognizer.js';
import { DeepgramRecognizer } from '../src/asr/deepgram/recognizer.js';
import { DEFAULT_MODEL_DIR } from '../src/asr/pocketsphinx/binding.js';
import { PocketsphinxRecognizer } from '../src/asr/pocketsphinx/recognizer.js';
import type { SpeechEvent, SpeechRecognizer } from '../src/asr/types.js';
import { VoskServerRecognizer } from '../src/asr/vosk-server/recognizer.js';
import type { AudioItem } from '../src/audio.js';
import { silentLogger } from '../src/log.js';
import { readWav } from '../src/util/wav.js';
import { wordErrorRate } from '../src/util/wer.js';
import { FakeAssemblyAi } from '../test/helpers/fake-assemblyai.js';
import { FakeOpenAiRealtime } from '../test/helpers/fake-openai-realtime.js';
import { FakeWhisperLive } from '../test/helpers/fake-whisperlive.js';
import { FakeSpeechmatics } from '../test/helpers/fake-speechmatics.js';
import { FakeAwsTranscribe } from '../test/helpers/fake-aws-transcribe.js';
import { FakeGoogleSpeech } from '../test/helpers/fake-google-speech.js';
import { FakeDeepgram } from '../test/helpers/fake-deepgram.js';
import type { EngineStandIn } from '../test/helpers/fake-engine-server.js';
import { FakeVoskServer } from '../test/helpers/fake-vosk-server.js';
import { concatSamples, librivoxClips, roomNoise } from '../test/helpers/speech.js';
import { percentile, report } from './report.js';

/**
 * Each engine on the librivox clips (human read speech, 1.2 s of room noise between them): streamed at real-time
 * pace for the end-of-utterance-to-final latency, CPU and WER, then as fast as it takes for the real-time factor.
 * Services run against the local stand-ins (pocketsphinx behind their exact protocols), so their rows measure
 * the adapter and protocol path, not Deepgram's or AssemblyAI's accuracy: no network here.
 */
const clips = librivoxClips();
const gap = 1.2;
const parts: Int16Array[] = [roomNoise(gap)];
const utterances: { start: number; end: number }[] = [];
let at = gap;
for (const clip of clips) {
  const samples = readWav(clip.path).samples;
  utterances.push({ start: at, end: at + samples.length / 16_000 });
  at += samples.length / 16_000 + gap;
  parts.push(samples, roomNoise(gap, utterances.length + 3));
}
const audio = concatSamples(parts);
const audioSeconds = audio.length / 16_000;
const transcript = clips.map((c) => c.transcript).join(' ');

async function* feed(samples: Int16Array, realtime: boolean): AsyncIterable<AudioItem> {
  const started = Date.now();
  for (let i = 0; i < samples.length; i += 1600) {
    if (realtime) await new Promise((r) => setTimeout(r, Math.max(0, started + (i / 16_000) * 1000 - Date.now())));
    yield samples.slice(i, i + 1600);
  }
}

interface Arrival {
  event: SpeechEvent;
  at: number;
}

async function run(recognizer: SpeechRecognizer, realtime: boolean): Promise<{ arrivals: Arrival[]; startedAt: number; wallMs: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const startedAt = Date.now();
  const arrivals: Arrival[] = [];
  for await (const event of recognizer.transcribe(feed(audio, realtime))) arrivals.push({ event, at: Date.now() });
  const used = process.cpuUsage(cpu);
  return { arrivals, startedAt, wallMs: Date.now() - startedAt, cpuMs: (used.user + used.system) / 1000 };
}

/** For each clip, the last final whose words lie in it: how long after the speaker stopped did it arrive. */
function endOfUtteranceToFinal(arrivals: Arrival[], startedAt: number): number[] {
  return utterances.flatMap((u) => {
    const finals = arrivals.filter(({ event }) => event.type === 'final' && event.words.some((w) => w.start >= u.start - 0.3 && w.end <= u.end + 0.5));
    const last = finals.at(-1);
    return last ? [last.at - (startedAt + u.end * 1000)] : [];
  });
}

const timing = { endpointSilenceMs: 500, partialIntervalMs: 100, maxUtteranceMs: 20_000 };
interface Engine {
  name: string;
  server?: EngineStandIn;
  create: (url: string) => SpeechRecognizer;
}
const engines: Engine[] = [
  { name: 'pocketsphinx (embedded, worker thread)', create: () => new PocketsphinxRecognizer({ modelDir: DEFAULT_MODEL_DIR, ...timing }, silentLogger) },
  { name: 'vosk-server protocol (local stand-in)', server: new FakeVoskServer(), create: (url) => new VoskServerRecognizer(url, silentLogger) },
  { name: 'deepgram protocol (local stand-in)', server: new FakeDeepgram(), create: (url) => new DeepgramRecognizer({ apiKey: 'dg-test-key', url, model: 'nova-3', language: 'en-US', endpointSilenceMs: 500, phrases: [] }, silentLogger) },
  { name: 'assemblyai protocol (local stand-in)', server: new FakeAssemblyAi(), create: (url) => new AssemblyAiRecognizer({ apiKey: 'aai-test-key', url, model: 'universal-streaming-english', language: 'en-US', endpointSilenceMs: 500, phrases: [] }, silentLogger) },
  {
    name: 'openai-realtime protocol (local stand-in)',
    server: new FakeOpenAiRealtime(),
    create: (url) =>
      new OpenAiRealtimeRecognizer({ apiKey: 'sk-test-key', url: `${url}/v1/realtime?intent=transcription`, model: 'gpt-4o-transcribe', language: 'en-US', endpointSilenceMs: 500, phrases: [], sessionForm: 'session' }, silentLogger),
  },
  { name: 'whisperlive protocol (local stand-in)', server: new FakeWhisperLive(), create: (url) => new WhisperLiveRecognizer({ url, model: 'small', language: 'en-US', phrases: [] }, silentLogger) },
  {
    name: 'speechmatics protocol (local stand-in)',
    server: new FakeSpeechmatics(),
    create: (url) => new SpeechmaticsRecognizer({ apiKey: 'sm-test-key', url: `${url}/v2`, model: 'enhanced', language: 'en-US', endpointSilenceMs: 500, phrases: [] }, silentLogger),
  },
  {
    name: 'aws-transcribe protocol (local stand-in, HTTP/2)',
    server: new FakeAwsTranscribe(),
    create: (url) => {
      process.env.AWS_ACCESS_KEY_ID = 'AKIDSTANDIN';
      process.env.AWS_SECRET_ACCESS_KEY = 'stand-in-secret';
      return new AwsTranscribeRecognizer({ region: 'us-east-1', url, language: 'en-US', phrases: [] }, silentLogger);
    },
  },
  {
    name: 'google-speech protocol (local stand-in, gRPC)',
    server: new FakeGoogleSpeech(),
    create: (url) => new GoogleSpeechRecognizer({ project: 'caption-bridge-test', location: 'global', model: 'long', language: 'en-US', phrases: [], apiKey: 'google-test-key', url }, silentLogger),
  },
];

it('engines: real-time factor, CPU and memory per stream, end of utterance to final, WER on librivox', async () => {
  const rows: Record<string, string | number>[] = [];
  for (const engine of engines) {
    const url = (await engine.server?.start()) ?? '';
    const rssBefore = process.memoryUsage().rss;
    const recognizer = engine.create(url);
    await recognizer.start();
    // A first stream warms the decoder (pocketsphinx's first utterance on a fresh decoder is worse: see README).
    await run(recognizer, false);
    const live = await run(recognizer, true);
    const rssMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    const fast = await run(recognizer, false);
    await recognizer.close();
    await engine.server?.stop();
    const latencies = endOfUtteranceToFinal(live.arrivals, live.startedAt);
    const text = live.arrivals.flatMap(({ event }) => (event.type === 'final' ? [event.text] : [])).join(' ');
    rows.push({
      engine: engine.name,
      'real-time factor': (fast.wallMs / 1000 / audioSeconds).toFixed(3),
      'CPU % of a core (live)': ((live.cpuMs / live.wallMs) * 100).toFixed(1),
      'memory MiB (RSS growth)': rssMiB.toFixed(0),
      'end of utterance -> final p50': `${Math.round(percentile(latencies, 50))} ms`,
      'end of utterance -> final max': `${Math.round(Math.max(...latencies))} ms`,
      WER: wordErrorRate(transcript, text).wer.toFixed(3),
    });
  }
  rows.push({ engine: 'sherpa-onnx', 'real-time factor': 'not run: needs a downloaded model (no downloads on this machine)', 'CPU % of a core (live)': '', 'memory MiB (RSS growth)': '', 'end of utterance -> final p50': '', 'end of utterance -> final max': '', WER: '' });
  report('engines', rows, { audioSeconds, utterances: utterances.length, note: 'stand-in rows: pocketsphinx behind each protocol, in this process (their CPU includes the stand-in\'s recognition)' });
});
