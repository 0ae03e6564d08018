import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VoskServerRecognizer } from '../../src/asr/vosk-server/recognizer.js';
import { parseConfig } from '../../src/config/load.js';
import { startDaemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import { readWav } from '../../src/util/wav.js';
import { wordErrorRate } from '../../src/util/wer.js';
import { FakeVoskServer } from '../helpers/fake-vosk-server.js';
import { FakeZoom } from '../helpers/fake-zoom.js';
import { concatSamples, librivoxClips, roomNoise } from '../helpers/speech.js';
import { audioChunks, collectEvents } from '../helpers/speech-events.js';
import { streamAudio } from '../helpers/ws-client.js';
import { stopAfterTest, tempDirForTest } from '../helpers/cleanup.js';

let server: FakeVoskServer;
let url: string;
beforeAll(async () => {
  server = new FakeVoskServer();
  url = await server.start();
});
afterAll(() => server.stop());

describe('vosk-server adapter (self-hosted recognizer over WebSocket)', () => {
  it('maps the protocol to speech events and recognises real speech', async () => {
    const recognizer = new VoskServerRecognizer(url, silentLogger);
    await recognizer.start();
    const clip = librivoxClips()[3]!;
    const events = await collectEvents(recognizer.transcribe(audioChunks(concatSamples([readWav(clip.path).samples, roomNoise(1)]))));
    expect(server.configs.at(-1)).toEqual({ config: { sample_rate: 16000, words: 1 } });
    expect(events[0]!.type).toBe('start_of_speech');
    expect(events.filter((e) => e.type === 'interim').length).toBeGreaterThan(5);
    const finals = events.filter((e) => e.type === 'final');
    expect(finals.length).toBeGreaterThan(0);
    const text = finals.map((e) => e.text).join(' ');
    expect(wordErrorRate(clip.transcript, text).wer).toBeLessThan(0.4);
    expect(finals[0]!.type === 'final' && finals[0]!.words.length).toBeGreaterThan(3);
    await recognizer.close();
  });

  it('the daemon captions a meeting with its recognition offloaded to the server', async () => {
    const zoom = stopAfterTest(new FakeZoom());
    const captionUrl = await zoom.start();
    const dir = await tempDirForTest('cb-vosk-');
    const config = parseConfig(
      `http: { host: 127.0.0.1, port: 0 }\nstate: { dir: ${dir} }\nmeetings:\n  - id: offloaded\n    source: { type: websocket, token: t0k3n }\n    asr: { engine: vosk-server, url: "${url}" }\n    captions: [ { zoom: { url: "${captionUrl}" } } ]\n`,
      'vosk.yaml',
      {},
    );
    const daemon = stopAfterTest(await startDaemon(config, silentLogger));
    const speech = concatSamples([roomNoise(0.5), readWav(librivoxClips()[0]!.path).samples, roomNoise(1)]);
    const outcome = await streamAudio(`ws://127.0.0.1:${daemon.port}/ingest/offloaded`, speech, { token: 't0k3n', realtime: false });
    await daemon.stop();
    await zoom.stop();
    await rm(dir, { recursive: true, force: true });
    expect(outcome.code).toBe(1000);
    expect(zoom.text()).toMatch(/leisure to\s+consider/i);
    expect(zoom.violations).toEqual([]);
  });

  it('asks for the server address in the config, for the engine and for each fallback', () => {
    const yaml = 'meetings:\n  - id: a\n    source: { type: websocket, token: t }\n    asr: { engine: vosk-server }\n    captions: [ { stdout: {} } ]\n';
    expect(() => parseConfig(yaml, 'c.yaml', {})).toThrow(/meetings\[0\]\.asr\.url: engine vosk-server needs asr\.url/);
    const fallback = yaml.replace('asr: { engine: vosk-server }', 'asr: { engine: pocketsphinx, fallback: [ { engine: vosk-server }, { engine: whisper } ] }');
    expect(() => parseConfig(fallback, 'c.yaml', {})).toThrow(/meetings\[0\]\.asr\.fallback\[0\]\.url: engine vosk-server needs asr\.url[\s\S]*meetings\[0\]\.asr\.fallback\[1\]\.engine: unknown engine "whisper"/);
  });
});

describe('fallback between engines', () => {
  it('when the server dies mid-stream the embedded engine takes over the same stream and captions keep flowing', async () => {
    const zoom = stopAfterTest(new FakeZoom());
    const captionUrl = await zoom.start();
    const dir = await tempDirForTest('cb-fallback-');
    const logs: string[] = [];
    const config = parseConfig(
      `http: { host: 127.0.0.1, port: 0 }\nstate: { dir: ${dir} }\nmeetings:\n  - id: resilient\n    source: { type: websocket, token: t0k3n }\n    asr:\n      engine: vosk-server\n      url: "${url}"\n      fallback: [ { engine: pocketsphinx } ]\n    captions: [ { zoom: { url: "${captionUrl}" } } ]\n`,
      'fallback.yaml',
      {},
    );
    const { captureLogs } = await import('../helpers/log-capture.js');
    const captured = captureLogs('info');
    const daemon = stopAfterTest(await startDaemon(config, captured.log));
    const clips = librivoxClips();
    const speech = concatSamples([roomNoise(0.5), readWav(clips[0]!.path).samples, roomNoise(1), readWav(clips[3]!.path).samples, roomNoise(1)]);
    const connectionsBefore = server.connections;
    server.dropNextConnectionAfter(30, { stopServer: true }); // the server dies 3 s into the stream and stays down
    const outcome = await streamAudio(`ws://127.0.0.1:${daemon.port}/ingest/resilient`, speech, { token: 't0k3n', speed: 4 });
    await server.start();
    await daemon.stop();
    await zoom.stop();
    await rm(dir, { recursive: true, force: true });
    logs.push(captured.text());

    expect(outcome.code).toBe(1000); // the publisher never noticed
    expect(server.connections).toBeGreaterThan(connectionsBefore);
    const switched = logs
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { msg: string; atSeconds?: number; next?: string })
      .find((entry) => entry.msg === 'speech engine failed: switching');
    expect(switched).toMatchObject({ next: 'pocketsphinx' });
    expect(switched!.atSeconds).toBeLessThan(4);
    // The first clip's end ("in his power to do") and the whole second clip came after the switch.
    expect(zoom.text()).toMatch(/power to do/i);
    expect(zoom.text()).toMatch(/married/i);
    expect(zoom.text()).toMatch(/respectable/i);
    expect(zoom.accepted.length).toBeGreaterThanOrEqual(4);
    expect(zoom.violations).toEqual([]);
  });
});
