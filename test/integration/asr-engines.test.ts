import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AssemblyAiRecognizer } from '../../src/asr/assemblyai/recognizer.js';
import { DeepgramRecognizer } from '../../src/asr/deepgram/recognizer.js';
import { OpenAiRealtimeRecognizer } from '../../src/asr/openai-realtime/recognizer.js';
import { DEFAULT_MODEL_DIR, PocketsphinxDecoder } from '../../src/asr/pocketsphinx/binding.js';
import { SherpaOnnxRecognizer } from '../../src/asr/sherpa-onnx/recognizer.js';
import { WhisperLiveRecognizer } from '../../src/asr/whisperlive/recognizer.js';
import { SpeechmaticsRecognizer } from '../../src/asr/speechmatics/recognizer.js';
import { AwsTranscribeRecognizer } from '../../src/asr/aws-transcribe/recognizer.js';
import { GoogleSpeechRecognizer, type GoogleSpeechOptions } from '../../src/asr/google-speech/recognizer.js';
import { parseConfig } from '../../src/config/load.js';
import { startDaemon } from '../../src/daemon.js';
import type { AudioItem } from '../../src/audio.js';
import { silentLogger } from '../../src/log.js';
import { readWav } from '../../src/util/wav.js';
import { wordErrorRate } from '../../src/util/wer.js';
import { FakeAssemblyAi } from '../helpers/fake-assemblyai.js';
import { FakeDeepgram } from '../helpers/fake-deepgram.js';
import { FakeOpenAiRealtime } from '../helpers/fake-openai-realtime.js';
import { FakeWhisperLive } from '../helpers/fake-whisperlive.js';
import { FakeSpeechmatics } from '../helpers/fake-speechmatics.js';
import { FakeAwsTranscribe } from '../helpers/fake-aws-transcribe.js';
import { FakeGoogleSpeech } from '../helpers/fake-google-speech.js';
import { configProblems } from '../helpers/config-problems.js';
import { FakeZoom } from '../helpers/fake-zoom.js';
import { captureLogs } from '../helpers/log-capture.js';
import { concatSamples, librivoxClips, roomNoise } from '../helpers/speech.js';
import { audioChunks, collectEvents, finalText } from '../helpers/speech-events.js';
import WebSocket from 'ws';
import { streamAudio } from '../helpers/ws-client.js';
import { stopAfterTest, tempDirForTest } from '../helpers/cleanup.js';

const clips = librivoxClips();
const speech = (index: number): Int16Array => readWav(clips[index]!.path).samples;
const timing = { endpointSilenceMs: 500, partialIntervalMs: 100, maxUtteranceMs: 20_000 };

const paced = (samples: Int16Array, pause?: { at: number; ms: number }): AsyncIterable<AudioItem> => audioChunks(samples, { paceMs: 15, pause });

/** A daemon config with one meeting `m` (token t) on `asr`, captioning to `captionUrl`; `extra` goes before captions. */
const engineMeeting = (dir: string, asr: string, captionUrl: string, extra = ''): string =>
  `http: { host: 127.0.0.1, port: 0 }\nstate: { dir: ${dir} }\nmeetings:\n  - id: m\n    source: { type: websocket, token: t }\n    asr: ${asr}\n${extra}` +
  `    captions: [ { zoom: { url: "${captionUrl}" } } ]\n`;

const meetingWith = (asr: string): string => `meetings:\n  - id: m\n    source: { type: websocket, token: t-0123456789abcdef }\n    asr: ${asr}\n    captions: [ { stdout: {} } ]\n`;

/**
 * Two clips through a daemon whose meeting `m` uses `asr`, captions to a strict Zoom stand-in: what Zoom accepted
 * and what was logged. Every engine that punctuates must cut blocks at its sentence ends and break no Zoom rule.
 */
async function captionTwoClips(asr: string, env: Record<string, string> = {}): Promise<{ zoom: FakeZoom; logs: string }> {
  const zoom = stopAfterTest(new FakeZoom());
  const captionUrl = await zoom.start();
  const dir = await tempDirForTest('cb-engine-');
  const captured = captureLogs('debug');
  const daemon = stopAfterTest(await startDaemon(parseConfig(engineMeeting(dir, asr, captionUrl), 'engine.yaml', env), captured.log));
  const audio = concatSamples([roomNoise(0.5), speech(2), roomNoise(1.5), speech(1), roomNoise(1.5)]);
  expect((await streamAudio(`ws://127.0.0.1:${daemon.port}/ingest/m`, audio, { token: 't', realtime: false })).code).toBe(1000);
  await daemon.stop();
  expect(zoom.text()).toMatch(/selfish/i);
  expect(zoom.accepted.some((c) => /\.$/.test(c.body))).toBe(true);
  expect(zoom.violations).toEqual([]);
  return { zoom, logs: captured.text() };
}

describe('Deepgram adapter', () => {
  const server = new FakeDeepgram('dg-key');
  let url = '';
  beforeAll(async () => (url = await server.start()));
  afterAll(() => server.stop());

  it('asks for linear16 16 kHz with interim results, endpointing and the phrases as key terms, authenticated by Token', async () => {
    const recognizer = new DeepgramRecognizer({ apiKey: 'dg-key', url: `${url}/v1/listen`, model: 'nova-3', language: 'en-US', endpointSilenceMs: 400, phrases: ['Quint', 'caption bridge'] }, silentLogger);
    await recognizer.start();
    const { url: request, headers } = server.requests.at(-1)!;
    expect(request.pathname).toBe('/v1/listen');
    expect(Object.fromEntries(request.searchParams)).toMatchObject({ model: 'nova-3', language: 'en-US', encoding: 'linear16', sample_rate: '16000', channels: '1', interim_results: 'true', endpointing: '400', utterance_end_ms: '1000', vad_events: 'true' });
    expect(request.searchParams.getAll('keyterm')).toEqual(['Quint', 'caption bridge']);
    expect(headers.authorization).toBe('Token dg-key');
    await recognizer.close();
  });

  it('joins a long utterance that Deepgram finalises in pieces as it goes into one final, with every piece\'s words once', async () => {
    const pieces = stopAfterTest(new FakeDeepgram('dg-key'));
    pieces.piecesAsItGoes = true;
    const base = await pieces.start();
    const sent: { is_final?: boolean; speech_final?: boolean; words: string[] }[] = [];
    const recognizer = new DeepgramRecognizer({ apiKey: 'dg-key', url: `${base}/v1/listen`, model: 'nova-3', language: 'en-US', endpointSilenceMs: 500, phrases: [] }, silentLogger);
    const tap = new WebSocket(`${base}/v1/listen?encoding=linear16&sample_rate=16000`, { headers: { authorization: 'Token dg-key' } });
    tap.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type?: string; is_final?: boolean; speech_final?: boolean; channel?: { alternatives: { words: { word: string }[] }[] } };
      if (message.type === 'Results' && message.is_final) sent.push({ is_final: true, speech_final: message.speech_final, words: message.channel!.alternatives[0]!.words.map((w) => w.word) });
    });
    await new Promise((resolve) => tap.once('open', resolve));
    const long = concatSamples([roomNoise(0.5), speech(0), roomNoise(1)]);
    for (let at = 0; at < long.length; at += 1_600) tap.send(Buffer.from(long.subarray(at, at + 1_600).buffer.slice(long.byteOffset + at * 2, long.byteOffset + Math.min(long.length, at + 1_600) * 2)));
    tap.send(JSON.stringify({ type: 'CloseStream' }));
    await new Promise((resolve) => tap.once('close', resolve));
    // The service side: more than one is_final piece for the one long utterance, only the last with speech_final.
    const spoken = sent.filter((p) => p.words.length > 0);
    expect(spoken.length).toBeGreaterThan(1);
    expect(spoken.filter((p) => p.speech_final)).toHaveLength(1);
    // The adapter: one final with every piece's words, once, in order.
    const events = await collectEvents(recognizer.transcribe(paced(long)));
    const finals = events.flatMap((e) => (e.type === 'final' && e.words.length > 0 ? [e] : []));
    expect(finals).toHaveLength(1);
    // The same audio in the same chunks gives the stand-in's recognizer the same words both times.
    expect(finals[0]!.words.map((w) => w.word)).toEqual(spoken.flatMap((p) => p.words));
    await recognizer.close();
  });

  it('uses Deepgram\'s punctuation to end blocks, and with diarize a new speaker starts a block marked ">>"', async () => {
    const zoom = stopAfterTest(new FakeZoom());
    const captionUrl = await zoom.start();
    const dir = await tempDirForTest('cb-diarize-');
    const config = parseConfig(
      engineMeeting(dir, `{ engine: deepgram, apiKey: dg-key, url: "${url}/v1/listen", diarize: true }`, captionUrl, '    display: { speakerMarker: ">>" }\n'),
      'diarize.yaml',
      {},
    );
    const daemon = stopAfterTest(await startDaemon(config, silentLogger));
    try {
      const audio = concatSamples([roomNoise(0.5), speech(0), roomNoise(1.5), speech(3), roomNoise(1.5)]);
      expect((await streamAudio(`ws://127.0.0.1:${daemon.port}/ingest/m`, audio, { token: 't', realtime: false })).code).toBe(1000);
    } finally {
      await daemon.stop();
      await zoom.stop();
      await rm(dir, { recursive: true, force: true });
    }
    expect(Object.fromEntries(server.requests.at(-1)!.url.searchParams)).toMatchObject({ punctuate: 'true', diarize: 'true', smart_format: 'false' });
    const posts = zoom.accepted.map((c) => c.body);
    // Speaker 0 says the first clip, speaker 1 the second: the second clip's first block is marked, none of the first's.
    const marked = posts.filter((p) => p.startsWith('>> '));
    expect(marked.length).toBeGreaterThanOrEqual(1);
    expect(posts[0]!.startsWith('>> ')).toBe(false);
    expect(marked.some((p) => /married|more/i.test(p))).toBe(true);
    // No block mixes the two speakers' words.
    expect(posts.some((p) => /dashwood/i.test(p) && /married/i.test(p))).toBe(false);
    expect(zoom.violations).toEqual([]);
  });

  it('sends KeepAlive while the audio pauses, so Deepgram does not close the connection as idle', async () => {
    // Keep-alives every 300 ms against an idle limit five times that: a busy machine (files side by side) delays a
    // timer by a few hundred ms, not by seconds, so only a missing keep-alive lets the connection go idle.
    server.idleTimeoutMs = 1_500;
    const recognizer = new DeepgramRecognizer({ apiKey: 'dg-key', url, model: 'nova-3', language: 'en-US', endpointSilenceMs: 500, phrases: [], keepAliveMs: 300 }, silentLogger);
    const before = server.connections;
    const audio = concatSamples([roomNoise(0.3), speech(0), roomNoise(0.5), speech(3), roomNoise(1)]);
    // A three-second gap in the audio itself (a muted mixer), twice the idle limit.
    const events = await collectEvents(recognizer.transcribe(paced(audio, { at: 16_000 * 8, ms: 3_000 })));
    server.idleTimeoutMs = 10_000;
    expect(server.keepAlives).toBeGreaterThan(2);
    expect(server.connections).toBe(before + 1);
    expect(finalText(events)).toMatch(/respectable|married/);
    await recognizer.close();
  });
});

describe('AssemblyAI adapter', () => {
  const server = new FakeAssemblyAi('aai-key');
  let url = '';
  beforeAll(async () => (url = await server.start()));
  afterAll(() => server.stop());

  it('asks for the speech model, pcm_s16le at 16 kHz, formatted turns and the phrases as key terms, with the raw key', async () => {
    const recognizer = new AssemblyAiRecognizer({ apiKey: 'aai-key', url, model: 'universal-streaming-english', language: 'en-US', endpointSilenceMs: 400, phrases: ['Quint', 'caption bridge'] }, silentLogger);
    await recognizer.start();
    const { url: request, headers } = server.requests.at(-1)!;
    expect(Object.fromEntries(request.searchParams)).toMatchObject({ speech_model: 'universal-streaming-english', sample_rate: '16000', encoding: 'pcm_s16le', format_turns: 'true', min_turn_silence: '400' });
    expect(JSON.parse(request.searchParams.get('keyterms_prompt')!)).toEqual(['Quint', 'caption bridge']);
    expect(headers.authorization).toBe('aai-key');
    await recognizer.close();
  });

  it("uses the formatted turn: each final carries the engine's punctuation and casing on the words as heard, and captions show them", async () => {
    const zoom = stopAfterTest(new FakeZoom());
    const captionUrl = await zoom.start();
    const dir = await tempDirForTest('cb-assemblyai-');
    const config = parseConfig(engineMeeting(dir, `{ engine: assemblyai, apiKey: aai-key, url: "${url}" }`, captionUrl), 'assemblyai.yaml', {});
    const daemon = stopAfterTest(await startDaemon(config, silentLogger));
    const recognizer = new AssemblyAiRecognizer({ apiKey: 'aai-key', url, model: 'universal-streaming-english', language: 'en-US', endpointSilenceMs: 500, phrases: [] }, silentLogger);
    // "unless to be rather cold hearted and rather selfish ...": the formatter's comma before "and" and its full stop.
    const audio = concatSamples([roomNoise(0.5), speech(2), roomNoise(1.5), speech(1), roomNoise(1.5)]);
    try {
      const events = await collectEvents(recognizer.transcribe(paced(audio)));
      const finals = events.flatMap((e) => (e.type === 'final' ? [e] : []));
      expect(finals.length).toBeGreaterThanOrEqual(2);
      for (const final of finals) {
        expect(final.text).toMatch(/^[A-Z].*[.?]$/);
        // The words stay as heard (plain, for the text rules); their written forms come from the formatted turn.
        expect(final.words.every((w) => w.word === w.word.toLowerCase())).toBe(true);
        expect(final.words.at(-1)!.display).toMatch(/[.?]$/);
      }
      expect(finals.some((f) => f.words.some((w) => w.display?.endsWith(',')))).toBe(true);
      expect((await streamAudio(`ws://127.0.0.1:${daemon.port}/ingest/m`, audio, { token: 't', realtime: false })).code).toBe(1000);
    } finally {
      await recognizer.close();
      await daemon.stop();
      await zoom.stop();
      await rm(dir, { recursive: true, force: true });
    }
    const captions = zoom.accepted.map((c) => c.body.replace(/\n/g, ' ')).join(' ');
    expect(captions).toMatch(/\w, and/);
    expect(zoom.violations).toEqual([]);
  });

  it('settles each turn once when its formatted copy comes after the next turn began', async () => {
    const recognizer = new AssemblyAiRecognizer({ apiKey: 'aai-key', url, model: 'universal-streaming-english', language: 'en-US', endpointSilenceMs: 500, phrases: [] }, silentLogger);
    server.formatLate = true;
    try {
      const audio = concatSamples([roomNoise(0.5), speech(1), roomNoise(1.5), speech(4), roomNoise(1.5), speech(1), roomNoise(1.5)]);
      const events = await collectEvents(recognizer.transcribe(paced(audio)));
      const finals = events.flatMap((e) => (e.type === 'final' ? [e] : []));
      // Three turns, three finals: a late copy neither settles a turn twice nor is taken for the next one.
      expect(finals).toHaveLength(3);
      expect(finalText(events).match(/\bhe\b/gi)?.length).toBe(3);
    } finally {
      server.formatLate = false;
      await recognizer.close();
    }
  });

  it('continues on a new session when the service ends one for its maximum duration (3005), and pads the last message to 50 ms', async () => {
    const recognizer = new AssemblyAiRecognizer({ apiKey: 'aai-key', url, model: 'universal-streaming-english', language: 'en-US', endpointSilenceMs: 500, phrases: [] }, silentLogger);
    const before = server.connections;
    server.expireNextAfter = 40;
    // 30 ms over a whole number of messages: the last one would be shorter than the 50 ms the API takes.
    const audio = concatSamples([roomNoise(0.3), speech(0), roomNoise(0.5), speech(3), roomNoise(1.03)]);
    const events = await collectEvents(recognizer.transcribe(paced(audio)));
    expect(server.connections).toBe(before + 2);
    expect(finalText(events)).toMatch(/respectable|married/);
    await recognizer.close();
  });
});

describe('OpenAI realtime transcription adapter', () => {
  it('configures a transcription session (model, language, server VAD at the meeting silence, the phrases as a prompt) and sends base64 PCM16 at 24 kHz', async () => {
    const server = stopAfterTest(new FakeOpenAiRealtime('sk-key'));
    const url = `${await server.start()}/v1/realtime?intent=transcription`;
    const recognizer = new OpenAiRealtimeRecognizer({ apiKey: 'sk-key', url, model: 'gpt-4o-mini-transcribe', language: 'en-US', endpointSilenceMs: 400, phrases: ['Quint', 'caption bridge'], sessionForm: 'session' }, silentLogger);
    const events = await collectEvents(recognizer.transcribe(paced(concatSamples([roomNoise(0.5), speech(3), roomNoise(1)]))));
    expect(server.sessionUpdates.at(-1)).toEqual({
      type: 'transcription',
      audio: {
        input: {
          format: { type: 'audio/pcm', rate: 24_000 },
          transcription: { model: 'gpt-4o-mini-transcribe', language: 'en', prompt: 'Vocabulary: Quint, caption bridge.' },
          turn_detection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 400 },
        },
      },
    });
    expect(server.requests.at(-1)!.headers.authorization).toBe('Bearer sk-key');
    // The stand-in resamples what it gets back to 16 kHz for its recognizer: the words only come out if it was 24 kHz PCM16.
    const finals = events.flatMap((e) => (e.type === 'final' ? [e] : []));
    expect(wordErrorRate(clips[3]!.transcript, finals.map((f) => f.text).join(' ')).wer).toBeLessThan(0.4);
    // gpt-4o-transcribe writes sentences: the written forms ride on the words as heard, which stay plain.
    for (const final of finals) {
      expect(final.words.at(-1)!.display).toMatch(/\.$/);
      expect(final.words.every((w) => w.word === w.word.toLowerCase())).toBe(true);
      expect(final.words.at(-1)!.end).toBeGreaterThan(final.words[0]!.start);
    }
    await recognizer.close();
  });

  it('speaks the GA interface OpenAI serves today: no beta header (refused since the beta\'s removal), recoverable errors survived, deltas\' written forms kept', async () => {
    const server = stopAfterTest(new FakeOpenAiRealtime('sk-key', { deltas: 'streaming', errorAfterAppends: 20 }));
    const url = `${await server.start()}/v1/realtime?intent=transcription`;
    const logs = captureLogs('info');
    const recognizer = new OpenAiRealtimeRecognizer({ apiKey: 'sk-key', url, model: 'gpt-realtime-whisper', language: 'en-US', endpointSilenceMs: 400, phrases: [], sessionForm: 'session' }, logs.log);
    const events = await collectEvents(recognizer.transcribe(paced(concatSamples([roomNoise(0.5), speech(3), roomNoise(1)]))));
    expect(server.requests.at(-1)!.headers['openai-beta']).toBeUndefined();
    expect(logs.text()).toContain('openai-realtime reported an error; the session goes on');
    // The turn's words came while it was said, cased as written: the interims show them before the turn ends, and
    // the final keeps them (a streaming model's deltas only grow). The stand-in's recognizer commits words from its
    // interims here, so accuracy is measured on the after-commit timing (above), not on this one.
    const finals = events.flatMap((e) => (e.type === 'final' ? [e] : []));
    expect(finals.length).toBeGreaterThan(0);
    const interims = events.flatMap((e) => (e.type === 'interim' ? [e] : []));
    const lastInterim = interims.at(-1)!.text.replace(/[.]$/, '');
    expect(finals.map((f) => f.text).join(' ')).toContain(lastInterim.split(' ').slice(0, 3).join(' '));
    expect(interims.length).toBeGreaterThan(2);
    expect(interims.some((e) => /^[A-Z]/.test(e.words?.[0]?.display ?? ''))).toBe(true);
    expect(interims.every((e) => (e.words ?? []).every((w) => w.word === w.word.toLowerCase()))).toBe(true);
    // Deltas only add: every word but the newest (which the next delta may still lengthen) is the engine's last word on it.
    const longer = interims.filter((e) => (e.words ?? []).length > 1);
    expect(longer.length).toBeGreaterThan(0);
    for (const interim of longer) expect(interim.words!.map((w) => w.stable === true)).toEqual(interim.words!.map((_, i, all) => i < all.length - 1));
    await recognizer.close();

    // What a client that still asks for the beta interface gets from the service: refused before any session.
    const beta = await new Promise<{ code: number; said: string }>((resolve) => {
      const ws = new WebSocket(url, { headers: { authorization: 'Bearer sk-key', 'OpenAI-Beta': 'realtime=v1' } });
      let said = '';
      ws.on('message', (data) => (said += String(data)));
      ws.on('close', (code) => resolve({ code, said }));
    });
    expect(beta).toMatchObject({ code: 4000, said: expect.stringContaining('beta_api_shape_disabled') });
  });

  it('says which form to use when OpenAI refuses the older transcription_session.update', async () => {
    const server = stopAfterTest(new FakeOpenAiRealtime('sk-key'));
    const url = `${await server.start()}/v1/realtime?intent=transcription`;
    const recognizer = new OpenAiRealtimeRecognizer({ apiKey: 'sk-key', url, model: 'gpt-4o-transcribe', language: 'en-US', endpointSilenceMs: 500, phrases: [], sessionForm: 'transcription_session' }, silentLogger);
    await expect(recognizer.start()).rejects.toMatchObject({ code: 'ASR_ENGINE_REJECTED', message: expect.stringContaining('set asr.realtimeSession: session') });
    await recognizer.close();
  });

  it('captions a meeting through a self-hosted server of the older protocol that sends completions only', async () => {
    const server = stopAfterTest(new FakeOpenAiRealtime('local', { form: 'transcription_session', deltas: false }));
    const base = await server.start();
    await captionTwoClips(`{ engine: openai-realtime, url: "${base}/v1/realtime?intent=transcription", apiKey: local, model: Systran/faster-whisper-small.en, realtimeSession: transcription_session }`);
    expect(server.sessionUpdates.at(-1)).toMatchObject({ input_audio_format: 'pcm16', input_audio_transcription: { model: 'Systran/faster-whisper-small.en' } });
  });

  it('says at start which session form to use when a server does not take the one configured', async () => {
    const server = stopAfterTest(new FakeOpenAiRealtime('local', { form: 'transcription_session' }));
    const url = `${await server.start()}/v1/realtime?intent=transcription`;
    const recognizer = new OpenAiRealtimeRecognizer({ apiKey: 'local', url, model: 'whisper-1', language: 'en-US', endpointSilenceMs: 500, phrases: [], sessionForm: 'session' }, silentLogger);
    await expect(recognizer.start()).rejects.toMatchObject({ code: 'ASR_ENGINE_REJECTED', retryable: false, message: expect.stringContaining('set asr.realtimeSession: transcription_session') });
    await recognizer.close();
  });

  it('needs a key for OpenAI itself, not for a self-hosted server', () => {
    expect(configProblems(meetingWith('{ engine: openai-realtime }'))).toEqual(['4:10 meetings[0].asr.apiKey: engine openai-realtime needs an API key: apiKey: ${OPENAI_API_KEY} (or url, for a self-hosted server)']);
    expect(configProblems(meetingWith('{ engine: openai-realtime, url: "ws://gpu-box:8000/v1/realtime?intent=transcription" }'))).toEqual([]);
  });
});

describe('WhisperLive adapter', () => {
  it('opens with its options (language, model, VAD, hotwords, word timestamps), takes each completed segment once and keeps Whisper\'s writing', async () => {
    const server = stopAfterTest(new FakeWhisperLive());
    const url = await server.start();
    const recognizer = new WhisperLiveRecognizer({ url, model: 'large-v3', language: 'en-US', phrases: ['Quint', 'caption bridge'] }, silentLogger);
    await recognizer.start();
    const events = await collectEvents(recognizer.transcribe(paced(concatSamples([roomNoise(0.5), speech(0), roomNoise(1.2), speech(3), roomNoise(1)]))));
    expect(server.clientOptions.at(-1)).toMatchObject({ language: 'en', task: 'transcribe', model: 'large-v3', use_vad: true, word_timestamps: true, hotwords: 'Quint, caption bridge' });
    expect(server.clientOptions.at(-1)!.uid).toMatch(/^[0-9a-f-]{36}$/);
    // The server repeats its last ten completed segments in every message: each one is one final, once.
    const finals = events.flatMap((e) => (e.type === 'final' ? [e] : []));
    expect(finals.length).toBeGreaterThanOrEqual(2);
    expect(new Set(finals.map((f) => f.words[0]!.start)).size).toBe(finals.length);
    expect(wordErrorRate(`${clips[0]!.transcript} ${clips[3]!.transcript}`, finalText(events)).wer).toBeLessThan(0.4);
    // Whisper writes sentences: the written forms ride on the plain words as heard, with the server's word times.
    for (const final of finals) {
      expect(final.words.at(-1)!.display).toMatch(/\.$/);
      expect(final.words.every((w) => w.word === w.word.toLowerCase())).toBe(true);
    }
    expect(finals.at(-1)!.words[0]!.start).toBeGreaterThan(7);
    await recognizer.close();
  });

  it('asks the server who speaks with diarize: each completed segment\'s speaker labels its words', async () => {
    const server = stopAfterTest(new FakeWhisperLive());
    const recognizer = new WhisperLiveRecognizer({ url: await server.start(), model: 'small', language: 'en-US', phrases: [], diarize: true }, silentLogger);
    const events = await collectEvents(recognizer.transcribe(paced(concatSamples([roomNoise(0.5), speech(0), roomNoise(1.2), speech(3), roomNoise(1)]))));
    expect(server.clientOptions.at(-1)).toMatchObject({ enable_diarization: true });
    const speakers = events.flatMap((e) => (e.type === 'final' ? [e.words.map((w) => w.speaker)] : []));
    expect(speakers.slice(0, 2)).toEqual([speakers[0]!.map(() => 'SPEAKER_00'), speakers[1]!.map(() => 'SPEAKER_01')]);
    await recognizer.close();
  });

  it('goes on after the server\'s time limit (DISCONNECT): the words it was hearing are kept, later words keep their place in time', async () => {
    const server = stopAfterTest(new FakeWhisperLive());
    server.maxConnectionSeconds = 2.5;
    const recognizer = new WhisperLiveRecognizer({ url: await server.start(), model: 'small', language: 'en-US', phrases: [] }, silentLogger);
    await recognizer.start();
    const before = server.connections;
    const audio = concatSamples([roomNoise(0.3), speech(0), roomNoise(1), speech(3), roomNoise(1)]);
    const events = await collectEvents(recognizer.transcribe(paced(audio)));
    expect(server.connections).toBeGreaterThanOrEqual(before + 3);
    // The first connection ends mid-sentence, 2.5 s in: its words so far are settled, not lost.
    const first = events.find((e) => e.type === 'final');
    expect(first?.type === 'final' && first.words.length).toBeGreaterThanOrEqual(2);
    expect(first?.type === 'final' && first.words.at(-1)!.end).toBeLessThan(2.6);
    const late = events.flatMap((e) => (e.type === 'final' ? e.words : [])).filter((w) => /married|respectable/.test(w.word));
    expect(late[0]!.start).toBeGreaterThan(7);
    await recognizer.close();
  });

  it('says at start that a server at its client limit is full, as a failure worth retrying (a fallback engine takes over)', async () => {
    const server = stopAfterTest(new FakeWhisperLive());
    server.full = true;
    const recognizer = new WhisperLiveRecognizer({ url: await server.start(), model: 'small', language: 'en-US', phrases: [] }, silentLogger);
    await expect(recognizer.start()).rejects.toMatchObject({ code: 'ASR_ENGINE_FAILED', retryable: true, message: expect.stringContaining('frees in 4.5 minutes') });
    await recognizer.close();
  });

  it('captions a meeting in the daemon, its sentence ends cutting blocks; the config needs the server\'s address', async () => {
    const server = stopAfterTest(new FakeWhisperLive());
    await captionTwoClips(`{ engine: whisperlive, url: "${await server.start()}" }`);
    expect(server.clientOptions.at(-1)).toMatchObject({ model: 'small' });
    expect(configProblems(meetingWith('{ engine: whisperlive }'))).toEqual(['4:10 meetings[0].asr.url: engine whisperlive needs asr.url, the server (ws://gpu-box:9090)']);
  });
});

describe('Speechmatics adapter', () => {
  it('starts recognition as its client does (raw pcm_s16le 16 kHz, partials, vocabulary, end of utterance at the meeting silence), names the last frame at the end, and keeps its punctuation', async () => {
    const server = stopAfterTest(new FakeSpeechmatics('sm-key'));
    const url = `${await server.start()}/v2`;
    const recognizer = new SpeechmaticsRecognizer({ apiKey: 'sm-key', url, model: 'enhanced', language: 'en-US', endpointSilenceMs: 400, phrases: ['Quint', 'caption bridge'] }, silentLogger);
    const events = await collectEvents(recognizer.transcribe(paced(concatSamples([roomNoise(0.5), speech(0), roomNoise(1.2), speech(3), roomNoise(1)]))));
    expect(server.starts.at(-1)).toEqual({
      message: 'StartRecognition',
      audio_format: { type: 'raw', encoding: 'pcm_s16le', sample_rate: 16_000 },
      transcription_config: {
        language: 'en',
        output_locale: 'en-US',
        operating_point: 'enhanced',
        enable_partials: true,
        max_delay: 2,
        additional_vocab: [{ content: 'Quint' }, { content: 'caption bridge' }],
        conversation_config: { end_of_utterance_silence_trigger: 0.4 },
      },
    });
    expect(server.requests.at(-1)!.headers.authorization).toBe('Bearer sm-key');
    expect(server.wrongLastSeqNo).toBe(0);
    // Each utterance came in two AddTranscript pieces: joined into one final, the full stop on its last word.
    const finals = events.flatMap((e) => (e.type === 'final' ? [e] : []));
    expect(finals.length).toBeGreaterThanOrEqual(2);
    expect(wordErrorRate(`${clips[0]!.transcript} ${clips[3]!.transcript}`, finalText(events)).wer).toBeLessThan(0.4);
    for (const final of finals) {
      expect(final.words.at(-1)!.display).toMatch(/\.$/);
      expect(final.words[0]!.display).toMatch(/^[A-Z]/);
      expect(final.words.every((w) => w.word === w.word.toLowerCase())).toBe(true);
    }
    await recognizer.close();
  });

  it('asks for speakers with diarize, and refuses a language the service does not have at start, as a request to fix', async () => {
    const server = stopAfterTest(new FakeSpeechmatics('sm-key'));
    const url = `${await server.start()}/v2`;
    const speakers = new SpeechmaticsRecognizer({ apiKey: 'sm-key', url, model: 'standard', language: 'en-GB', endpointSilenceMs: 500, phrases: [], diarize: true }, silentLogger);
    const events = await collectEvents(speakers.transcribe(paced(concatSamples([roomNoise(0.3), speech(3), roomNoise(1)]))));
    expect(server.starts.at(-1)!.transcription_config).toMatchObject({ diarization: 'speaker', output_locale: 'en-GB', operating_point: 'standard' });
    expect(events.flatMap((e) => (e.type === 'final' ? e.words : [])).every((w) => w.speaker === 'S1')).toBe(true);
    await speakers.close();
    const german = new SpeechmaticsRecognizer({ apiKey: 'sm-key', url, model: 'enhanced', language: 'de-DE', endpointSilenceMs: 500, phrases: [] }, silentLogger);
    await expect(german.start()).rejects.toMatchObject({ code: 'ASR_ENGINE_REJECTED', retryable: false, message: expect.stringContaining('invalid_language') });
    await german.close();
  });

  it('captions a meeting in the daemon with the key from the environment, never logged', async () => {
    const server = stopAfterTest(new FakeSpeechmatics('sm-secret-key-456'));
    const { logs } = await captionTwoClips(`{ engine: speechmatics, apiKey: "\${SPEECHMATICS_API_KEY}", url: "${await server.start()}/v2" }`, { SPEECHMATICS_API_KEY: 'sm-secret-key-456' });
    expect(logs).not.toContain('sm-secret-key-456');
    expect(configProblems(meetingWith('{ engine: speechmatics }'))).toEqual(['4:10 meetings[0].asr.apiKey: engine speechmatics needs an API key: apiKey: ${SPEECHMATICS_API_KEY}']);
  });
});

describe('AWS Transcribe adapter', () => {
  afterEach(() => vi.unstubAllEnvs());
  const withCredentials = (accessKeyId = 'AKIDSTANDIN'): void => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'stand-in-secret');
  };

  it('streams PCM 16 kHz with partial-result stabilisation through AWS\'s SDK; a word AWS calls stable settles at once; punctuation and speakers kept', async () => {
    withCredentials();
    const server = stopAfterTest(new FakeAwsTranscribe());
    const url = await server.start();
    const recognizer = new AwsTranscribeRecognizer({ region: 'eu-west-1', url, language: 'en-GB', vocabularyName: 'meeting-terms', diarize: true, phrases: [] }, silentLogger);
    await recognizer.start();
    // A pause longer than the idle interval: silence keeps the request alive (AWS ends one idle for 15 s).
    const audio = concatSamples([roomNoise(0.5), speech(0), roomNoise(1.2), speech(3), roomNoise(1)]);
    const events = await collectEvents(recognizer.transcribe(audioChunks(audio, { paceMs: 15, pause: { at: 16_000 * 7, ms: 6_000 } })));
    expect(server.requests.at(-1)).toMatchObject({
      'x-amzn-transcribe-language-code': 'en-GB',
      'x-amzn-transcribe-sample-rate': '16000',
      'x-amzn-transcribe-media-encoding': 'pcm',
      'x-amzn-transcribe-enable-partial-results-stabilization': 'true',
      'x-amzn-transcribe-partial-results-stability': 'medium',
      'x-amzn-transcribe-show-speaker-label': 'true',
      'x-amzn-transcribe-vocabulary-name': 'meeting-terms',
    });
    expect(String(server.requests.at(-1)!.authorization)).toMatch(/Credential=AKIDSTANDIN\/\d{8}\/eu-west-1\/transcribe\/aws4_request/);
    expect(server.silentFrames).toBeGreaterThan(0);
    expect(server.framesAfterEnd).toBe(0);
    const interimWords = events.flatMap((e) => (e.type === 'interim' ? (e.words ?? []) : []));
    expect(interimWords.some((w) => w.stable)).toBe(true);
    const finals = events.flatMap((e) => (e.type === 'final' ? [e] : []));
    expect(wordErrorRate(`${clips[0]!.transcript} ${clips[3]!.transcript}`, finalText(events)).wer).toBeLessThan(0.4);
    for (const final of finals) {
      expect(final.words.at(-1)!.display).toMatch(/\.$/);
      expect(final.words.every((w) => w.speaker === '0' && w.word === w.word.toLowerCase())).toBe(true);
    }
    await recognizer.close();
  });

  it('refuses at start, as something a person must fix: a vocabulary AWS does not have, and no region', async () => {
    withCredentials();
    const server = stopAfterTest(new FakeAwsTranscribe());
    const url = await server.start();
    const missing = new AwsTranscribeRecognizer({ region: 'us-east-1', url, language: 'en-US', vocabularyName: 'no-such-list', phrases: [] }, silentLogger);
    await expect(missing.start()).rejects.toMatchObject({ code: 'ASR_ENGINE_REJECTED', retryable: false, message: expect.stringContaining("vocabulary couldn't be found") });
    await missing.close();
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', undefined);
    vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent');
    const nowhere = new AwsTranscribeRecognizer({ url, language: 'en-US', phrases: [] }, silentLogger);
    await expect(nowhere.start()).rejects.toMatchObject({ code: 'ASR_ENGINE_REJECTED', message: expect.stringContaining('aws-transcribe needs a region: set asr.region or AWS_REGION') });
    await nowhere.close();
  });

  it('captions a meeting in the daemon with credentials from the environment, never logged; phrases without a vocabulary are named as not sent', async () => {
    withCredentials('AKIDDAEMONKEY');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'daemon-secret-789');
    const server = stopAfterTest(new FakeAwsTranscribe('AKIDDAEMONKEY'));
    const { logs } = await captionTwoClips(`{ engine: aws-transcribe, region: us-west-2, url: "${await server.start()}", phrases: [Quint] }`);
    expect(logs).not.toContain('daemon-secret-789');
    expect(logs).toContain('asr.phrases are not sent');
    expect(configProblems(meetingWith('{ engine: aws-transcribe, url: "wss://transcribe.example" }'))).toEqual(['4:41 meetings[0].asr.url: engine aws-transcribe takes an https:// endpoint']);
    expect(configProblems(meetingWith('{ engine: deepgram, apiKey: k, url: "https://api.deepgram.com" }'))).toEqual(['4:46 meetings[0].asr.url: expected a ws:// or wss:// URL']);
  });
});

describe('Google Speech-to-Text v2 adapter', () => {
  const options = (url: string, more: Partial<GoogleSpeechOptions> = {}): GoogleSpeechOptions => ({
    project: 'caption-bridge-test',
    location: 'global',
    model: 'long',
    language: 'en-US',
    phrases: [],
    apiKey: 'g-key',
    url,
    ...more,
  });

  it('configures the stream inline through Google\'s client (recognizer, LINEAR16 16 kHz, model, punctuation, word offsets, phrases, interims) and keeps Google\'s writing', async () => {
    const server = stopAfterTest(new FakeGoogleSpeech('g-key'));
    const url = await server.start();
    const recognizer = new GoogleSpeechRecognizer(options(url, { location: 'us-central1', model: 'chirp_2', phrases: ['Quint', 'caption bridge'] }), silentLogger);
    await recognizer.start();
    const events = await collectEvents(recognizer.transcribe(paced(concatSamples([roomNoise(0.5), speech(0), roomNoise(1.2), speech(3), roomNoise(1)]))));
    expect(server.configs.at(-1)).toEqual({
      recognizer: 'projects/caption-bridge-test/locations/us-central1/recognizers/_',
      streamingConfig: {
        config: {
          explicitDecodingConfig: { encoding: 'LINEAR16', sampleRateHertz: 16_000, audioChannelCount: 1 },
          languageCodes: ['en-US'],
          model: 'chirp_2',
          features: { enableAutomaticPunctuation: true, enableWordTimeOffsets: true },
          adaptation: { phraseSets: [{ inlinePhraseSet: { phrases: [{ value: 'Quint', boost: 10 }, { value: 'caption bridge', boost: 10 }] }, value: 'inlinePhraseSet' }] },
          decodingConfig: 'explicitDecodingConfig',
        },
        streamingFeatures: { interimResults: true, enableVoiceActivityEvents: true },
      },
      streamingRequest: 'streamingConfig',
    });
    expect(server.apiKeys.at(-1)).toBe('g-key');
    const finals = events.flatMap((e) => (e.type === 'final' ? [e] : []));
    expect(finals.length).toBeGreaterThanOrEqual(2);
    expect(wordErrorRate(`${clips[0]!.transcript} ${clips[3]!.transcript}`, finalText(events)).wer).toBeLessThan(0.4);
    for (const final of finals) {
      expect(final.words.at(-1)!.display).toMatch(/\.$/);
      expect(final.words.every((w) => w.word === w.word.toLowerCase())).toBe(true);
    }
    // Interims have no word offsets from Google: spread from the last final on, so the second clip's words are late.
    const lateInterim = events.filter((e) => e.type === 'interim' && e.time > 8).at(-1);
    expect(lateInterim?.type === 'interim' && lateInterim.words![0]!.start).toBeGreaterThan(4);
    await recognizer.close();
  });

  it('starts the next stream at once when Google ends one at its duration limit, words keeping their place in time', async () => {
    const server = stopAfterTest(new FakeGoogleSpeech('g-key'));
    server.maxStreamSeconds = 4;
    const url = await server.start();
    const recognizer = new GoogleSpeechRecognizer(options(url), silentLogger);
    await recognizer.start();
    const before = server.connections;
    const events = await collectEvents(recognizer.transcribe(paced(concatSamples([roomNoise(0.5), speech(0), roomNoise(1), speech(3), roomNoise(1)]))));
    expect(server.connections).toBeGreaterThanOrEqual(before + 3);
    const late = events.flatMap((e) => (e.type === 'final' ? e.words : [])).filter((w) => /married|respectable/.test(w.word));
    expect(late.length).toBeGreaterThan(0);
    expect(late[0]!.start).toBeGreaterThan(7);
    expect(server.cutAtLimit).toBeGreaterThan(0);
    await recognizer.close();
  });

  it('ends an old stream itself at a final and goes on in a new one, before Google\'s limit cuts words in flight', async () => {
    const server = stopAfterTest(new FakeGoogleSpeech('g-key'));
    server.maxStreamSeconds = 9;
    const url = await server.start();
    const recognizer = new GoogleSpeechRecognizer(options(url, { rotateAfterSeconds: 3 }), silentLogger);
    await recognizer.start();
    const before = server.connections;
    const events = await collectEvents(recognizer.transcribe(paced(concatSamples([roomNoise(0.5), speech(0), roomNoise(1), speech(3), roomNoise(1)]))));
    expect(server.connections).toBeGreaterThanOrEqual(before + 2);
    expect(server.cutAtLimit).toBe(0);
    expect(wordErrorRate(`${clips[0]!.transcript} ${clips[3]!.transcript}`, finalText(events)).wer).toBeLessThan(0.4);
    await recognizer.close();
  });

  it('refuses at start a model Google does not have, and a wrong key, as things a person must fix', async () => {
    const server = stopAfterTest(new FakeGoogleSpeech('g-key'));
    const url = await server.start();
    const unknown = new GoogleSpeechRecognizer(options(url, { model: 'latest_long_v9' }), silentLogger);
    await expect(unknown.start()).rejects.toMatchObject({ code: 'ASR_ENGINE_REJECTED', retryable: false, message: expect.stringContaining('The model "latest_long_v9" does not exist') });
    await unknown.close();
    const wrong = new GoogleSpeechRecognizer(options(url, { apiKey: 'nope' }), silentLogger);
    await expect(wrong.start()).rejects.toMatchObject({ code: 'ASR_AUTH_FAILED', retryable: false, message: expect.stringContaining('API key not valid') });
    await wrong.close();
  });

  it('captions a meeting in the daemon with the key from the environment, never logged; the config needs the project', async () => {
    const server = stopAfterTest(new FakeGoogleSpeech('g-secret-key-321'));
    const { logs } = await captionTwoClips(`{ engine: google-speech, project: caption-bridge-test, apiKey: "\${GOOGLE_API_KEY}", url: "${await server.start()}" }`, { GOOGLE_API_KEY: 'g-secret-key-321' });
    expect(logs).not.toContain('g-secret-key-321');
    expect(configProblems(meetingWith('{ engine: google-speech }'))).toEqual(['4:10 meetings[0].asr.project: engine google-speech needs asr.project, the Google Cloud project id']);
  });
});

describe('cloud engines in the daemon', () => {
  it('captions a meeting through Deepgram, the key coming from the environment and never reaching the logs', async () => {
    const deepgram = stopAfterTest(new FakeDeepgram('dg-secret-key-123'));
    const dgUrl = await deepgram.start();
    const zoom = stopAfterTest(new FakeZoom());
    const captionUrl = await zoom.start();
    const dir = await tempDirForTest('cb-deepgram-');
    const config = parseConfig(
      `http: { host: 127.0.0.1, port: 0 }\nstate: { dir: ${dir} }\nmeetings:\n  - id: cloud\n    source: { type: websocket, token: t0k3n }\n    asr: { engine: deepgram, apiKey: "\${DEEPGRAM_API_KEY}", url: "${dgUrl}/v1/listen" }\n    captions: [ { zoom: { url: "${captionUrl}" } } ]\n`,
      'deepgram.yaml',
      { DEEPGRAM_API_KEY: 'dg-secret-key-123' },
    );
    const captured = captureLogs('debug');
    const daemon = stopAfterTest(await startDaemon(config, captured.log));
    const audio = concatSamples([roomNoise(0.5), speech(3), roomNoise(1)]);
    const outcome = await streamAudio(`ws://127.0.0.1:${daemon.port}/ingest/cloud`, audio, { token: 't0k3n', realtime: true });
    await daemon.stop();
    await zoom.stop();
    await deepgram.stop();
    await rm(dir, { recursive: true, force: true });
    expect(outcome.code).toBe(1000);
    expect(zoom.text()).toMatch(/married/i);
    expect(zoom.violations).toEqual([]);
    expect(captured.text()).not.toContain('dg-secret-key-123');
  });

  it('refuses a wrong key at start with a message that says so', async () => {
    const deepgram = stopAfterTest(new FakeDeepgram('right-key'));
    const dgUrl = await deepgram.start();
    const config = parseConfig(meetingWith(`{ engine: deepgram, apiKey: wrong-key, url: "${dgUrl}" }`).replace('meetings:', 'http: { host: 127.0.0.1, port: 0 }\nstate: { dir: /tmp/cb-wrong-key }\nmeetings:'), 'c.yaml', {});
    await expect(startDaemon(config, silentLogger)).rejects.toThrow(`no meeting could start: deepgram refused the API key (HTTP 401 from ${dgUrl}/)`);
    await deepgram.stop();
  });
});

describe('engine configuration', () => {
  it('asks for speakers only from engines that tell them apart', () => {
    expect(configProblems(meetingWith('{ engine: google-speech, project: my-project-123, diarize: true }'))).toEqual([
      '4:69 meetings[0].asr.diarize: engine google-speech does not tell speakers apart; diarize works with deepgram, speechmatics, aws-transcribe, whisperlive',
    ]);
    expect(configProblems(meetingWith('{ engine: speechmatics, apiKey: k, diarize: true }'))).toEqual([]);
  });

  it('requires an API key for cloud engines, from an environment variable that must be set', () => {
    expect(configProblems(meetingWith('{ engine: deepgram }'))).toEqual(['4:10 meetings[0].asr.apiKey: engine deepgram needs an API key: apiKey: ${DEEPGRAM_API_KEY}']);
    expect(configProblems(meetingWith('{ engine: assemblyai, fallback: [ { engine: deepgram } ] }'))).toEqual([
      '4:44 meetings[0].asr.fallback[0].apiKey: engine deepgram needs an API key: apiKey: ${DEEPGRAM_API_KEY}',
      '4:10 meetings[0].asr.apiKey: engine assemblyai needs an API key: apiKey: ${ASSEMBLYAI_API_KEY}',
    ]);
    expect(configProblems(meetingWith('{ engine: deepgram, apiKey: "${DEEPGRAM_API_KEY}" }'))).toEqual(['4:38 meetings[0].asr.apiKey: environment variable DEEPGRAM_API_KEY is not set']);
    expect(configProblems(meetingWith('{ engine: deepgram, apiKey: "${DEEPGRAM_API_KEY}" }'), { DEEPGRAM_API_KEY: 'k' })).toEqual([]);
  });

  it('checks the sherpa-onnx model folder at config time and names what is missing', async () => {
    expect(configProblems(meetingWith('{ engine: sherpa-onnx }'))).toEqual(['4:10 meetings[0].asr.modelDir: engine sherpa-onnx needs asr.modelDir, the folder of a streaming model']);
    expect(configProblems(meetingWith('{ engine: sherpa-onnx, modelDir: /nonexistent/model }'))[0]).toMatch(/asr\.modelDir: model folder \/nonexistent\/model does not exist; download a streaming transducer model, e\.g\. https:\/\/github\.com\/k2-fsa/);
    expect(configProblems(meetingWith('{ engine: pocketsphinx, fallback: [ { engine: sherpa-onnx, modelDir: /nonexistent/model } ] }'))[0]).toMatch(/^4:\d+ meetings\[0\]\.asr\.fallback\[0\]\.modelDir: model folder/);
    // The parser itself never touches the disk: the folder is checked by --check, at start and on reload.
    expect(() => parseConfig(meetingWith('{ engine: sherpa-onnx, modelDir: /nonexistent/model }'), 'c.yaml', {})).not.toThrow();
    const dir = await tempDirForTest('cb-sherpa-');
    await writeFile(join(dir, 'encoder-epoch-99-avg-1.onnx'), '');
    expect(configProblems(meetingWith(`{ engine: sherpa-onnx, modelDir: ${dir} }`))[0]).toMatch(/lacks decoder\*\.onnx, joiner\*\.onnx, tokens\.txt/);
    await rm(dir, { recursive: true, force: true });
  });

  it('takes phrases as text or as a word with its pronunciation', () => {
    const config = parseConfig(meetingWith('{ phrases: [ Quint, { text: kubernetes, pronunciation: "K UW B ER N EH T IY Z" } ] }'), 'c.yaml', {});
    expect(config.meetings[0]!.asr.phrases).toEqual([{ text: 'Quint' }, { text: 'kubernetes', pronunciation: 'K UW B ER N EH T IY Z' }]);
    expect(configProblems(meetingWith('{ phrases: [ { text: "new york", pronunciation: "N UW" } ] }'))[0]).toMatch(/phrases\[0\]\.text: a pronunciation is for a single word/);
    expect(configProblems(meetingWith('{ phrases: [ { text: quokka, pronunciation: "kwokka" } ] }'))[0]).toMatch(/phrases\[0\]\.pronunciation: expected CMU phones/);
  });
});

describe('sherpa-onnx', () => {
  it('a corrupt model fails the engine with a clear error, and the process survives the library aborting', async () => {
    const dir = await tempDirForTest('cb-sherpa-');
    await mkdir(dir, { recursive: true });
    for (const name of ['encoder-epoch-99.onnx', 'decoder-epoch-99.onnx', 'joiner-epoch-99.onnx']) await writeFile(join(dir, name), 'not a model');
    await writeFile(join(dir, 'tokens.txt'), '<blk> 0\n');
    const recognizer = new SherpaOnnxRecognizer({ modelDir: dir, ...timing }, 'en-US', silentLogger);
    await expect(recognizer.start()).rejects.toMatchObject({ code: 'ASR_ENGINE_FAILED', message: expect.stringContaining(`sherpa-onnx cannot load the model in ${dir}`) });
    await recognizer.close();
    await rm(dir, { recursive: true, force: true });
  });
});

describe('pocketsphinx vocabulary', () => {
  it('adds a word given with its pronunciation and names phrase words it cannot recognise', () => {
    const decoder = new PocketsphinxDecoder({ modelDir: DEFAULT_MODEL_DIR, ...timing, phrases: [{ text: 'kubernetes', pronunciation: 'K UW B ER N EH T IY Z' }, { text: 'grafana dashboard' }] });
    expect(decoder.notices).toEqual([expect.stringContaining('will never recognise them: grafana;')]);
    decoder.free();
    const known = new PocketsphinxDecoder({ modelDir: DEFAULT_MODEL_DIR, ...timing, phrases: [{ text: 'kubernetes', pronunciation: 'K UW B ER N EH T IY Z' }, { text: 'kubernetes' }] });
    expect(known.notices).toEqual([]);
    known.free();
  });
});
