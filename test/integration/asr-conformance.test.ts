import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AssemblyAiRecognizer } from '../../src/asr/assemblyai/recognizer.js';
import { DeepgramRecognizer } from '../../src/asr/deepgram/recognizer.js';
import { OpenAiRealtimeRecognizer } from '../../src/asr/openai-realtime/recognizer.js';
import { DEFAULT_MODEL_DIR } from '../../src/asr/pocketsphinx/binding.js';
import { PocketsphinxRecognizer } from '../../src/asr/pocketsphinx/recognizer.js';
import type { SpeechEvent, SpeechRecognizer } from '../../src/asr/types.js';
import { VoskServerRecognizer } from '../../src/asr/vosk-server/recognizer.js';
import { WhisperLiveRecognizer } from '../../src/asr/whisperlive/recognizer.js';
import { SpeechmaticsRecognizer } from '../../src/asr/speechmatics/recognizer.js';
import { AwsTranscribeRecognizer } from '../../src/asr/aws-transcribe/recognizer.js';
import { GoogleSpeechRecognizer } from '../../src/asr/google-speech/recognizer.js';
import type { AudioItem } from '../../src/audio.js';
import { silentLogger } from '../../src/log.js';
import { readWav } from '../../src/util/wav.js';
import { wordErrorRate } from '../../src/util/wer.js';
import { FakeAssemblyAi } from '../helpers/fake-assemblyai.js';
import { FakeDeepgram } from '../helpers/fake-deepgram.js';
import { FakeOpenAiRealtime } from '../helpers/fake-openai-realtime.js';
import type { EngineStandIn } from '../helpers/fake-engine-server.js';
import { FakeVoskServer } from '../helpers/fake-vosk-server.js';
import { FakeWhisperLive } from '../helpers/fake-whisperlive.js';
import { FakeSpeechmatics } from '../helpers/fake-speechmatics.js';
import { FakeAwsTranscribe } from '../helpers/fake-aws-transcribe.js';
import { FakeGoogleSpeech } from '../helpers/fake-google-speech.js';
import { concatSamples, librivoxClips, roomNoise } from '../helpers/speech.js';
import { waitUntil } from '../helpers/wait.js';
import { audioChunks, collectEvents, finalText, type ChunkOptions } from '../helpers/speech-events.js';

/**
 * One suite every adapter runs: the same speech, the same questions. Engines that are services run against a
 * local stand-in speaking the service's exact protocol, with real recognition (pocketsphinx) behind it.
 */
interface EngineUnderTest {
  name: string;
  /** Undefined for the embedded engine. */
  server?: () => EngineStandIn;
  create: (url: string, options?: { apiKey?: string }) => SpeechRecognizer;
  /** Whether the protocol has a "settle now" message (vosk's has not). */
  finalizes: boolean;
  /** Whether the service checks an API key. */
  keyed: boolean;
  /** Whether the protocol gives word times (OpenAI's does not: the adapter spreads a turn's words over its speech). */
  wordTimings?: false;
  /** Whether the service sends interims (some self-hosted OpenAI-compatible servers send completions only). */
  interims?: false;
}

const timing = { endpointSilenceMs: 500, partialIntervalMs: 100, maxUtteranceMs: 20_000 };
const engines: EngineUnderTest[] = [
  { name: 'pocketsphinx', create: () => new PocketsphinxRecognizer({ modelDir: DEFAULT_MODEL_DIR, ...timing }, silentLogger), finalizes: true, keyed: false },
  { name: 'vosk-server', server: () => new FakeVoskServer(), create: (url) => new VoskServerRecognizer(url, silentLogger), finalizes: false, keyed: false },
  {
    name: 'deepgram',
    server: () => new FakeDeepgram(),
    create: (url, options) => new DeepgramRecognizer({ apiKey: options?.apiKey ?? 'dg-test-key', url: `${url}/v1/listen`, model: 'nova-3', language: 'en-US', endpointSilenceMs: 500, phrases: ['Quint'] }, silentLogger),
    finalizes: true,
    keyed: true,
  },
  {
    name: 'assemblyai',
    server: () => new FakeAssemblyAi(),
    create: (url, options) => new AssemblyAiRecognizer({ apiKey: options?.apiKey ?? 'aai-test-key', url: `${url}/v3/ws`, model: 'universal-streaming-english', language: 'en-US', endpointSilenceMs: 500, phrases: ['Quint'] }, silentLogger),
    finalizes: true,
    keyed: true,
  },
  {
    name: 'openai-realtime',
    server: () => new FakeOpenAiRealtime(),
    create: (url, options) =>
      new OpenAiRealtimeRecognizer(
        { apiKey: options?.apiKey ?? 'sk-test-key', url: `${url}/v1/realtime?intent=transcription`, model: 'gpt-4o-transcribe', language: 'en-US', endpointSilenceMs: 500, phrases: ['Quint'], sessionForm: 'session' },
        silentLogger,
      ),
    finalizes: true,
    keyed: true,
    wordTimings: false,
  },
  {
    // A self-hosted server of the same protocol (speaches, SenseVoice servers): the older session form, completions only.
    name: 'openai-compatible self-hosted',
    server: () => new FakeOpenAiRealtime('local-key', { form: 'transcription_session', deltas: false }),
    create: (url, options) =>
      new OpenAiRealtimeRecognizer(
        { apiKey: options?.apiKey ?? 'local-key', url: `${url}/v1/realtime?intent=transcription`, model: 'Systran/faster-whisper-small.en', language: 'en-US', endpointSilenceMs: 500, phrases: [], sessionForm: 'transcription_session' },
        silentLogger,
      ),
    finalizes: true,
    keyed: true,
    wordTimings: false,
    interims: false,
  },
  {
    name: 'whisperlive',
    server: () => new FakeWhisperLive(),
    create: (url) => new WhisperLiveRecognizer({ url, model: 'small', language: 'en-US', phrases: ['Quint'] }, silentLogger),
    finalizes: false,
    keyed: false,
  },
  {
    name: 'speechmatics',
    server: () => new FakeSpeechmatics(),
    create: (url, options) =>
      new SpeechmaticsRecognizer({ apiKey: options?.apiKey ?? 'sm-test-key', url: `${url}/v2`, model: 'enhanced', language: 'en-US', endpointSilenceMs: 500, phrases: ['Quint'] }, silentLogger),
    finalizes: true,
    keyed: true,
  },
  {
    // Credentials come from the SDK's chain: here the environment, as in a container.
    name: 'aws-transcribe',
    server: () => new FakeAwsTranscribe(),
    create: (url, options) => {
      vi.stubEnv('AWS_ACCESS_KEY_ID', options?.apiKey ?? 'AKIDSTANDIN');
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'stand-in-secret');
      return new AwsTranscribeRecognizer({ region: 'us-east-1', url, language: 'en-US', phrases: [] }, silentLogger);
    },
    finalizes: false,
    keyed: true,
  },
  {
    name: 'google-speech',
    server: () => new FakeGoogleSpeech(),
    create: (url, options) =>
      new GoogleSpeechRecognizer({ project: 'caption-bridge-test', location: 'global', model: 'long', language: 'en-US', phrases: ['Quint'], apiKey: options?.apiKey ?? 'google-test-key', url: url.replace(/^ws:/, 'http:') }, silentLogger),
    finalizes: false,
    keyed: true,
  },
];
afterEach(() => vi.unstubAllEnvs());

const clips = librivoxClips();
const speech = (index: number): Int16Array => readWav(clips[index]!.path).samples;

const chunks = (samples: Int16Array, options: ChunkOptions = {}): AsyncIterable<AudioItem> => audioChunks(samples, { paceMs: 15, ...options });

/** The order the segmenter relies on: start, interims, at most one final, end; times never go back. */
function expectWellFormed(events: SpeechEvent[], audioSeconds: number): void {
  let inside = false;
  let finals = 0;
  let time = 0;
  for (const event of events) {
    expect(event.time).toBeGreaterThanOrEqual(time - 1e-6);
    time = event.time;
    switch (event.type) {
      case 'start_of_speech':
        expect(inside).toBe(false);
        inside = true;
        finals = 0;
        break;
      case 'interim':
        expect(inside).toBe(true);
        expect(finals).toBe(0);
        expect(event.text).not.toBe('');
        break;
      case 'final':
        expect(inside).toBe(true);
        expect(++finals).toBe(1);
        for (const word of event.words) {
          expect(word.start).toBeLessThanOrEqual(word.end);
          expect(word.start).toBeGreaterThanOrEqual(0);
          expect(word.end).toBeLessThanOrEqual(audioSeconds + 1);
        }
        break;
      case 'end_of_speech':
        expect(inside).toBe(true);
        inside = false;
        break;
    }
  }
  expect(inside).toBe(false);
}

describe.each(engines)('speech engine conformance: $name', (engine) => {
  let server: EngineStandIn | undefined;
  let url = '';
  beforeAll(async () => {
    server = engine.server?.();
    url = (await server?.start()) ?? '';
  });
  afterAll(() => server?.stop());

  it('declares what it can do and recognises real speech, in well-formed events', async () => {
    const recognizer = engine.create(url);
    expect(recognizer.capabilities).toMatchObject({ streaming: true, interimResults: true, wordTimings: engine.wordTimings ?? true });
    await recognizer.start();
    const audio = concatSamples([roomNoise(0.5), speech(3), roomNoise(1)]);
    const events = await collectEvents(recognizer.transcribe(chunks(audio)));
    expectWellFormed(events, audio.length / 16_000);
    if (engine.interims ?? true) expect(events.filter((e) => e.type === 'interim').length).toBeGreaterThan(3);
    expect(wordErrorRate(clips[3]!.transcript, finalText(events)).wer).toBeLessThan(0.4);
    expect(recognizer.stats?.audioSeconds).toBeGreaterThan(0);
    await recognizer.close();
  });

  it('settles the words being spoken when the audio ends mid-sentence', async () => {
    const recognizer = engine.create(url);
    await recognizer.start();
    const whole = speech(0);
    // Cut inside the last words, with no trailing silence: only the end of the stream can settle them.
    const audio = concatSamples([roomNoise(0.3), whole.slice(0, whole.length - 4_000)]);
    const events = await collectEvents(recognizer.transcribe(chunks(audio)));
    expectWellFormed(events, audio.length / 16_000);
    expect(events.at(-1)!.type).toBe('end_of_speech');
    expect(finalText(events)).toMatch(/power/);
    await recognizer.close();
  });

  it.runIf(engine.finalizes)('a Finalize settles the utterance at once, before the speaker pauses', async () => {
    const recognizer = engine.create(url);
    await recognizer.start();
    const audio = concatSamples([roomNoise(0.3), speech(0), roomNoise(1)]);
    // Two seconds into the clip, mid-sentence: the engine's endpointing would not end this utterance yet.
    const events = await collectEvents(recognizer.transcribe(chunks(audio, { finalizeAt: 16_000 * 2.3 })));
    expectWellFormed(events, audio.length / 16_000);
    const finals = events.filter((e) => e.type === 'final');
    expect(finals.length).toBeGreaterThanOrEqual(2);
    expect(finals[0]!.time).toBeLessThan(3.5);
    await recognizer.close();
  });

  it('close() is safe twice, and a closed recognizer refuses new streams', async () => {
    const recognizer = engine.create(url);
    await recognizer.start();
    await recognizer.close();
    await recognizer.close();
    await expect(collectEvents(recognizer.transcribe(chunks(speech(1))))).rejects.toMatchObject({ code: 'CLOSED' });
  });

  describe.runIf(engine.server)('as a network service', () => {
    it('reconnects when the connection drops mid-stream, and words after the drop keep their place in time', async () => {
      const recognizer = engine.create(url);
      await recognizer.start();
      const before = server!.connections;
      server!.dropNextConnectionAfter(25);
      const audio = concatSamples([roomNoise(0.5), speech(0), roomNoise(1), speech(3), roomNoise(1)]);
      const events = await collectEvents(recognizer.transcribe(chunks(audio)));
      expectWellFormed(events, audio.length / 16_000);
      expect(server!.connections).toBe(before + 2);
      // The second clip starts ~7.8 s in: recognised on the new connection, timed on the stream's timeline.
      const late = events.filter((e) => e.type === 'final' && /married|respectable/.test(e.text));
      expect(late.length).toBeGreaterThan(0);
      const word = late[0]!.type === 'final' ? late[0]!.words.find((w) => /married|respectable/.test(w.word)) : undefined;
      expect(word!.start).toBeGreaterThan(7);
      await recognizer.close();
    });

    it('fails the stream as a retryable engine failure when the service stays down (its reconnects spent, no hang)', async () => {
      const recognizer = engine.create(url);
      await recognizer.start();
      server!.dropNextConnectionAfter(10, { stopServer: true });
      const started = Date.now();
      const failure = await collectEvents(recognizer.transcribe(chunks(concatSamples([speech(0), speech(1)])))).catch((err: unknown) => err);
      await server!.start();
      expect(failure).toMatchObject({ code: 'ASR_ENGINE_FAILED', retryable: true });
      // A hang would meet the test's timeout; how long the reconnects take is the policy's (3.75 s of waits), shown here.
      console.log(`${engine.name}: failed over ${Date.now() - started} ms after the service went down`);
      await recognizer.close();
    });

    it('ends a stream at once when the recognizer is closed while it is reconnecting (no hang)', async () => {
      const recognizer = engine.create(url);
      await recognizer.start();
      server!.dropNextConnectionAfter(10, { stopServer: true });
      const outcome = collectEvents(recognizer.transcribe(chunks(concatSamples([speech(0), speech(1)])))).then(
        () => 'ended',
        (err: unknown) => (err as { code?: string }).code,
      );
      // The connection drops, the stream waits between reconnect attempts, and the meeting is closed meanwhile.
      const drops = server!.drops;
      await waitUntil(() => server!.drops > drops);
      await new Promise((r) => setTimeout(r, 100));
      await recognizer.close();
      const settled = await Promise.race([outcome, new Promise((r) => setTimeout(r, 3_000, 'still running'))]);
      await server!.start();
      expect(settled).not.toBe('still running');
    });

    it('reports an unreachable service at start as retryable', async () => {
      await expect(engine.create('ws://127.0.0.1:1').start()).rejects.toMatchObject({ code: 'ASR_ENGINE_FAILED', retryable: true });
    });

    it.runIf(engine.keyed)('refuses a wrong API key at start, as a failure a person must fix', async () => {
      await expect(engine.create(url, { apiKey: 'wrong' }).start()).rejects.toMatchObject({ code: 'ASR_AUTH_FAILED', retryable: false });
    });
  });
});
