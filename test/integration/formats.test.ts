import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeepgramRecognizer } from '../../src/asr/deepgram/recognizer.js';
import type { SpeechEvent } from '../../src/asr/types.js';
import { parseConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { createDecoder } from '../../src/ingest/decoders.js';
import { PcmConverter } from '../../src/ingest/pcm-converter.js';
import type { AudioItem } from '../../src/audio.js';
import { readWav } from '../../src/util/wav.js';
import { silentLogger } from '../../src/log.js';
import { wordErrorRate } from '../../src/util/wer.js';
import { FakeZoom } from '../helpers/fake-zoom.js';
import { librivoxClips, roomNoise } from '../helpers/speech.js';
import { refusedUpgrade } from '../helpers/ws-client.js';

const clip = librivoxClips()[3]!;
let dir: string;
let daemon: Daemon;
let zoom: FakeZoom;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cb-formats-'));
  zoom = new FakeZoom();
  const url = await zoom.start();
  daemon = await startDaemon(
    parseConfig(`http: { host: 127.0.0.1, port: 0 }\nstate: { dir: ${dir} }\nmeetings:\n  - id: formats\n    source: { type: websocket, token: formats-token }\n    captions: [ { zoom: { url: "${url}" } } ]\n`, 'f.yaml', {}),
    silentLogger,
  );
});
afterAll(async () => {
  await daemon.stop();
  await zoom.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The clip converted by sox (a real tool) to another rate and channel count, as raw interleaved s16le. */
function soxConvert(rate: number, channels: number): Buffer {
  return execFileSync('sox', ['-D', clip.path, '-t', 'raw', '-e', 'signed', '-b', '16', '-r', String(rate), '-c', String(channels), '-'], { maxBuffer: 64 << 20 });
}

/** Streams raw bytes as a client would (fast, in 100 ms frames), ends the stream, returns the new captions' text. */
async function captionsFor(url: string, bytes: Buffer, headers: Record<string, string>, bytesPer100ms: number, pcm = true): Promise<string> {
  const before = zoom.accepted.length;
  const ws = new WebSocket(url, { headers });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  for (let i = 0; i < bytes.length; i += bytesPer100ms) ws.send(bytes.subarray(i, i + bytesPer100ms));
  // Half a second of silence after raw PCM speech, at the stream's own rate, then close as Deepgram clients do.
  if (pcm) ws.send(Buffer.alloc(bytesPer100ms * 5));
  ws.send(JSON.stringify({ type: 'CloseStream' }));
  const code = await new Promise((resolve) => ws.on('close', resolve));
  expect(code).toBe(1000);
  return zoom.accepted.slice(before).map((c) => c.body).join(' ');
}

describe('audio formats on the WebSocket ingest', () => {
  it('an Opus decoder can be ended twice (CloseStream, then the socket closing) and both calls resolve', async () => {
    const ogg = execFileSync('ffmpeg', ['-loglevel', 'error', '-i', clip.path, '-c:a', 'libopus', '-f', 'ogg', '-'], { maxBuffer: 64 << 20 });
    let samples = 0;
    const decoder = createDecoder({ encoding: 'ogg-opus', sampleRate: 48_000, channels: 1 }, (s) => (samples += s.length), (reason) => {
      throw new Error(reason);
    });
    decoder.write(ogg);
    await decoder.end();
    await decoder.end();
    expect(Math.abs(samples - readWav(clip.path).samples.length)).toBeLessThan(1600);
  });

  it('converts 48 kHz stereo to 16 kHz mono, statefully across arbitrary frame splits', () => {
    const seconds = 0.5;
    const stereo = Buffer.alloc(48_000 * seconds * 4);
    for (let i = 0; i < 48_000 * seconds; i++) {
      const value = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 48_000));
      stereo.writeInt16LE(value, i * 4);
      stereo.writeInt16LE(value, i * 4 + 2);
    }
    const whole = new PcmConverter(48_000, 2).convert(stereo);
    const split = new PcmConverter(48_000, 2);
    const parts: Int16Array[] = [];
    for (let i = 0; i < stereo.length; i += 777) parts.push(split.convert(stereo.subarray(i, i + 777)));
    const joined = Int16Array.from(parts.flatMap((p) => [...p]));
    expect(Math.abs(whole.length - 16_000 * seconds)).toBeLessThan(100);
    expect(joined.length).toBe(whole.length);
    expect(Math.max(...joined.map((v, i) => Math.abs(v - whole[i]!)))).toBeLessThanOrEqual(1);
    // Still a 440 Hz tone: count rising zero crossings in the last 0.25 s (about 110).
    const tail = whole.subarray(whole.length - 4000);
    let crossings = 0;
    for (let i = 1; i < tail.length; i++) if (tail[i - 1]! < 0 && tail[i]! >= 0) crossings++;
    expect(crossings).toBeGreaterThanOrEqual(108);
    expect(crossings).toBeLessThanOrEqual(112);
  });

  it('captions speech sent at 44.1 kHz stereo and at 8 kHz mono about as well as 16 kHz mono', async () => {
    const base = `ws://127.0.0.1:${daemon.port}/ingest/formats`;
    const auth = { Authorization: 'Bearer formats-token' };
    // A decoder's first utterance is worse (its cepstral mean has not adapted): warm it so formats compare fairly.
    await captionsFor(base, soxConvert(16_000, 1), auth, 3200);
    const reference = await captionsFor(base, soxConvert(16_000, 1), auth, 3200);
    const cd = await captionsFor(`${base}?sample_rate=44100&channels=2`, soxConvert(44_100, 2), auth, 17_640);
    const phone = await captionsFor(`${base}?sample_rate=8000`, soxConvert(8_000, 1), auth, 1600);
    const wer = (text: string): number => wordErrorRate(clip.transcript, text).wer;
    // Measured here (deterministic): 16 kHz mono 0.21, 44.1 kHz stereo 0.21, 8 kHz 0.53. The 8 kHz loss is the
    // engine's: its 16 kHz model expects the band above 4 kHz that telephone audio lacks. A broken conversion
    // scores near 1.
    expect(wer(reference)).toBeLessThan(0.3);
    expect(wer(cd)).toBeLessThanOrEqual(wer(reference) + 0.1);
    expect(wer(phone)).toBeLessThan(0.6);
    expect(zoom.violations).toEqual([]);
  });

  it('takes Deepgram live clients unchanged on /v1/listen: Token auth, Deepgram query names, meeting by token or ?meeting=', async () => {
    const listen = `ws://127.0.0.1:${daemon.port}/v1/listen?model=nova-2&encoding=linear16&sample_rate=16000&channels=1&interim_results=true`;
    const text = await captionsFor(listen, soxConvert(16_000, 1), { Authorization: 'Token formats-token' }, 3200);
    expect(text).toMatch(/married/i);
    const named = await captionsFor(`${listen}&meeting=formats`, soxConvert(16_000, 1), { Authorization: 'Bearer formats-token' }, 3200);
    expect(named).toMatch(/married/i);
    expect((await refusedUpgrade(listen, { Authorization: 'Token nobody' })).status).toBe(401);
    expect((await refusedUpgrade(listen)).status).toBe(400);
    expect((await refusedUpgrade(`${listen}&meeting=elsewhere`, { Authorization: 'Token formats-token' })).status).toBe(404);
  });

  it('answers Deepgram clients with Deepgram messages: our own Deepgram adapter, pointed at the bridge, transcribes through it', async () => {
    // The bridge's Deepgram adapter is a Deepgram live client (Results, UtteranceEnd, KeepAlive, CloseStream,
    // Metadata); aimed at /v1/listen it must get back what Deepgram would send.
    const client = new DeepgramRecognizer(
      { apiKey: 'formats-token', url: `ws://127.0.0.1:${daemon.port}/v1/listen`, model: 'nova-3', language: 'en-US', endpointSilenceMs: 500, phrases: [] },
      silentLogger,
    );
    const samples = readWav(clip.path).samples;
    const audio = async function* (): AsyncIterable<AudioItem> {
      for (let i = 0; i < samples.length + 16_000; i += 1_600) {
        await new Promise((r) => setTimeout(r, 20));
        yield i < samples.length ? samples.slice(i, i + 1_600) : roomNoise(0.1, i);
      }
    };
    const events: SpeechEvent[] = [];
    for await (const event of client.transcribe(audio())) events.push(event);
    expect(events.some((e) => e.type === 'interim')).toBe(true);
    const finals = events.filter((e) => e.type === 'final');
    expect(finals.map((e) => e.text).join(' ')).toMatch(/married/);
    expect(finals[0]!.type === 'final' && finals[0]!.words.length).toBeGreaterThan(3);
    await client.close();
  });

  it('captions Opus speech: Ogg and WebM containers (as MediaRecorder makes) and raw packets, one per frame', async () => {
    const encode = (container: string): Buffer =>
      execFileSync('ffmpeg', ['-loglevel', 'error', '-i', clip.path, '-af', 'apad=pad_dur=0.5', '-c:a', 'libopus', '-b:a', '32k', '-f', container, '-'], { maxBuffer: 64 << 20 });
    const ogg = encode('ogg');
    const webm = encode('webm');
    const base = `ws://127.0.0.1:${daemon.port}/ingest/formats`;
    const auth = { Authorization: 'Bearer formats-token' };
    const wer = (text: string): number => wordErrorRate(clip.transcript, text).wer;
    // Warm the decoder (its first utterance is worse) so the result does not depend on which test ran before.
    await captionsFor(base, soxConvert(16_000, 1), auth, 3200);
    // Measured here: 0.21 for each of the three, the same as 16 kHz PCM of the same clip.
    const oggText = await captionsFor(`${base}?encoding=ogg-opus`, ogg, auth, 4000, false);
    expect(wer(oggText)).toBeLessThan(0.35);
    expect(wer(await captionsFor(`${base}?encoding=webm-opus`, webm, auth, 4000, false))).toBeLessThan(0.35);

    // Raw Opus: the Ogg file's packets, taken out by a demuxer, sent one per WebSocket message.
    const { createRequire } = await import('node:module');
    const prism = createRequire(import.meta.url)('prism-media') as { opus: { OggDemuxer: new () => import('node:stream').Transform } };
    const packets: Buffer[] = [];
    const demuxer = new prism.opus.OggDemuxer();
    demuxer.on('data', (packet: Buffer) => packets.push(packet));
    await new Promise<void>((resolve) => demuxer.end(ogg, () => resolve()));
    await new Promise((resolve) => setImmediate(resolve));
    expect(packets.length).toBeGreaterThan(200);
    const before = zoom.accepted.length;
    const ws = new WebSocket(`${base}?encoding=opus&sample_rate=48000`, { headers: auth });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    for (const packet of packets) ws.send(packet);
    ws.send(JSON.stringify({ type: 'CloseStream' }));
    expect(await new Promise((resolve) => ws.on('close', resolve))).toBe(1000);
    expect(wer(zoom.accepted.slice(before).map((c) => c.body).join(' '))).toBeLessThan(0.35);
    expect(zoom.violations).toEqual([]);
  });

  it('closes a stream of corrupt Opus or a broken container with a reason, and the meeting goes on', async () => {
    const base = `ws://127.0.0.1:${daemon.port}/ingest/formats`;
    const closeOf = async (query: string, frames: Buffer[]): Promise<{ code: number; reason: string }> => {
      const ws = new WebSocket(`${base}?${query}`, { headers: { Authorization: 'Bearer formats-token' } });
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      for (const frame of frames) ws.send(frame);
      ws.send(JSON.stringify({ type: 'CloseStream' }));
      return new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
    };
    const garbage = Buffer.from(Array.from({ length: 4000 }, (_, i) => (i * 7919) % 256));
    const notOgg = await closeOf('encoding=ogg-opus', [garbage]);
    expect(notOgg.code).toBe(1007);
    expect(notOgg.reason).toMatch(/ogg-opus/);
    const webm = execFileSync('ffmpeg', ['-loglevel', 'error', '-i', clip.path, '-c:a', 'libopus', '-f', 'webm', '-'], { maxBuffer: 64 << 20 });
    const truncated = await closeOf('encoding=webm-opus', [webm.subarray(0, 40), garbage]);
    expect(truncated.code).toBe(1007);
    // A decode bomb: 10 minutes of Opus silence is ~40 KB (a few bytes a packet); sent at once it would be minutes
    // of decoding on the main thread. It is cut off once the audio runs 60 s ahead of the clock (the lead every
    // source is held to: 1008, policy).
    const bomb = execFileSync('ffmpeg', ['-loglevel', 'error', '-f', 'lavfi', '-i', 'anullsrc=r=48000:cl=mono', '-t', '600', '-c:a', 'libopus', '-b:a', '6k', '-f', 'ogg', '-'], { maxBuffer: 64 << 20 });
    const sentAt = Date.now();
    const bombed = await closeOf('encoding=ogg-opus', [bomb]);
    console.log(`decode bomb: ${bomb.length} bytes of Ogg Opus (600 s) closed ${bombed.code} after ${Date.now() - sentAt} ms: ${bombed.reason}`);
    expect(bombed.code).toBe(1008);
    expect(bombed.reason).toMatch(/faster than real time/);
    // Still captioning afterwards.
    const text = await captionsFor(base, soxConvert(16_000, 1), { Authorization: 'Bearer formats-token' }, 3200);
    expect(text).toMatch(/married/i);
  });
});
