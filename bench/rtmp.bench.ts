import { spawn } from 'node:child_process';
import { it } from 'vitest';
import { FailureThrottle } from '../src/security/throttle.js';
import { locateFfmpeg } from '../src/ingest/ffmpeg.js';
import type { AudioItem } from '../src/audio.js';
import { RtmpIngest } from '../src/ingest/rtmp.js';
import { silentLogger } from '../src/log.js';
import type { StreamTarget } from '../src/ingest/target.js';
import { roomNoise } from '../test/helpers/speech.js';
import { percentile, report } from './report.js';

/**
 * Added latency of RTMP ingest: a publisher (ffmpeg, reading raw audio we write at real-time pace) sends room
 * noise with a loud 100 ms tone every 2 s; the bridge's RTMP listener hands the decoded 16 kHz PCM to where the
 * recognizer would read it. Latency = when the tone's first samples reach that point - when we wrote them to the
 * publisher. With pcm_s16le in FLV nothing is encoded: that row is the bridge's own path (RTMP parsing, FLV into
 * ffmpeg, decoding). The AAC and MP3 rows add those codecs' encoder and decoder delay, as a real publisher has.
 */
const KEY = 'bench-key-0123456789';
const CHUNK = 1_600;
const TONES = Number(process.env.BENCH_TONES ?? 15);

function tone(samples: number): Int16Array {
  const out = new Int16Array(samples);
  for (let i = 0; i < samples; i++) out[i] = Math.round(Math.sin((2 * Math.PI * 1000 * i) / 16_000) * 12_000);
  return out;
}

/** Stands in for a meeting: takes the stream and notes when each tone's onset arrives. */
function listeningMeeting(onsets: number[]): StreamTarget {
  let quietSamples = 0;
  const consume = async (audio: AsyncIterable<AudioItem>): Promise<{ captions: number; words: number; audioSeconds: number }> => {
    for await (const item of audio) {
      if (!(item instanceof Int16Array)) continue;
      for (const sample of item) {
        if (Math.abs(sample) > 4_000) {
          if (quietSamples > 16_000) onsets.push(Date.now());
          quietSamples = 0;
        } else quietSamples += 1;
      }
    }
    return { captions: 0, words: 0, audioSeconds: 0 };
  };
  return { id: 'bench', state: 'ready', runStream: consume, audioDropped: () => undefined, sourceProblem: () => undefined };
}

async function measure(codec: string, port: number, onsets: number[]): Promise<number[]> {
  onsets.length = 0;
  const publisher = spawn(locateFfmpeg(), [
    '-hide_banner', '-loglevel', 'error', '-fflags', 'nobuffer', '-f', 's16le', '-ar', '16000', '-ac', '1', '-i', 'pipe:0',
    // FLV carries PCM, MP3 and AAC at 44.1 kHz (among few rates); the bridge resamples.
    '-ar', '44100', '-c:a', codec, ...(codec === 'pcm_s16le' ? [] : ['-b:a', '64k']), '-flush_packets', '1', '-f', 'flv', `rtmp://127.0.0.1:${port}/live/${KEY}`,
  ], { stdio: ['pipe', 'ignore', 'inherit'] });
  const written: number[] = [];
  const noise = roomNoise(2, 5);
  const beep = tone(CHUNK);
  const started = Date.now();
  const seconds = 2 * TONES + 2;
  for (let i = 0; i < seconds * 10; i++) {
    await new Promise((r) => setTimeout(r, Math.max(0, started + i * 100 - Date.now())));
    const isTone = i % 20 === 15;
    const chunk = isTone ? beep : noise.subarray((i % 20) * CHUNK, (i % 20) * CHUNK + CHUNK);
    publisher.stdin.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if (isTone) written.push(Date.now());
  }
  publisher.stdin.end();
  await new Promise((r) => publisher.on('close', r));
  await new Promise((r) => setTimeout(r, 500));
  // The first tone can be lost to the publisher's start-up; pair each arrival with the latest write before it.
  return onsets.map((arrival) => arrival - Math.max(...written.filter((w) => w <= arrival)));
}

it('rtmp: added latency from the publisher to PCM at the recognizer', async () => {
  const onsets: number[] = [];
  const ingest = new RtmpIngest(new Map([['bench', { pipeline: listeningMeeting(onsets), streamKey: KEY }]]), silentLogger, new FailureThrottle(), () => undefined);
  const { port } = await ingest.listen(0, '127.0.0.1');
  const rows: Record<string, string | number>[] = [];
  for (const [codec, label] of [['pcm_s16le', 'pcm_s16le in FLV (the bridge alone)'], ['aac', 'AAC 64 kbit/s (+ codec delay)'], ['libmp3lame', 'MP3 64 kbit/s (+ codec delay)']] as const) {
    const latencies = await measure(codec, port, onsets);
    rows.push({
      audio: label,
      tones: latencies.length,
      'latency p50': `${Math.round(percentile(latencies, 50))} ms`,
      'latency p95': `${Math.round(percentile(latencies, 95))} ms`,
      'latency max': `${Math.round(Math.max(...latencies))} ms`,
    });
  }
  await ingest.close();
  report('rtmp-latency', rows, { ffmpeg: locateFfmpeg(), note: 'written to the publisher -> PCM handed to the recognizer; includes the publisher ffmpeg' });
});
