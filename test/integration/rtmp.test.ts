import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { locateFfmpeg } from '../../src/ingest/ffmpeg.js';
import { silentLogger } from '../../src/log.js';
import { readWav } from '../../src/util/wav.js';
import { wordErrorRate } from '../../src/util/wer.js';
import { DEFAULT_MODEL_DIR, PocketsphinxDecoder } from '../../src/asr/pocketsphinx/binding.js';
import { configProblems } from '../helpers/config-problems.js';
import { freePort } from '../helpers/daemon-process.js';
import { redactStreamUrl, streamUrlSecrets } from '../../src/redact.js';
import { FakeZoom } from '../helpers/fake-zoom.js';
import { librivoxClips } from '../helpers/speech.js';
import { waitUntil } from '../helpers/wait.js';
import { stopAfterTest, tempDirForTest } from '../helpers/cleanup.js';
import { publishRtmp } from '../helpers/rtmp-publish.js';

const clips = librivoxClips();
const ffmpeg = locateFfmpeg();

describe('RTMP push ingest', () => {
  let daemon: Daemon;
  let dir: string;
  const zooms = [new FakeZoom(), new FakeZoom()];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cb-rtmp-'));
    const urls = await Promise.all(zooms.map((z) => z.start()));
    const rtmpPort = await freePort();
    const config = parseConfig(
      `http: { host: 127.0.0.1, port: 0 }\nrtmp: { host: 127.0.0.1, port: ${rtmpPort} }\nstate: { dir: ${dir} }\nmeetings:\n` +
        `  - id: stage\n    source: { type: rtmp, streamKey: stage-key-0123456789 }\n    captions: [ { zoom: { url: "${urls[0]}" } } ]\n` +
        `  - id: breakout\n    source: { type: rtmp, streamKey: breakout-key-0123456789 }\n    captions: [ { zoom: { url: "${urls[1]}" } } ]\n`,
      'rtmp.yaml',
      {},
    );
    daemon = await startDaemon(config, silentLogger);
  });
  afterAll(async () => {
    await daemon.stop();
    await Promise.all(zooms.map((z) => z.stop()));
    await rm(dir, { recursive: true, force: true });
  });
  const url = (key: string): string => `rtmp://127.0.0.1:${daemon.rtmpPort}/live/${key}`;

  it('captions two meetings published at once (AAC and MP3 in FLV), refusing a wrong key and garbage meanwhile', async () => {
    const stage = publishRtmp(url('stage-key-0123456789'), clips[3]!.path, 'aac');
    const breakout = publishRtmp(url('breakout-key-0123456789'), clips[0]!.path, 'libmp3lame');
    await waitUntil(() => daemon.meetings.every((m) => m.state === 'streaming'), { what: 'both meetings streaming' });
    const intruder = await publishRtmp(url('guessed-key-000000'), clips[1]!.path, 'aac');
    const player = await new Promise<number | null>((resolve) => execFile(ffmpeg, ['-loglevel', 'error', '-i', url('stage-key-0123456789'), '-t', '1', '-f', 'null', '-'], (err) => resolve(err ? (err as { code?: number }).code ?? 1 : 0)));
    // Bytes that are not RTMP: that connection is closed (parse error, or no publish within 10 s); nobody else notices.
    const garbage = connect(daemon.rtmpPort!, '127.0.0.1', () => garbage.write(Buffer.alloc(4_000, 0xff)));
    garbage.on('error', () => undefined);
    expect(intruder.code).not.toBe(0);
    expect(intruder.stderr).toMatch(/wrong stream key/);
    expect(player).not.toBe(0);
    expect((await stage).code).toBe(0);
    expect((await breakout).code).toBe(0);
    await Promise.all([zooms[0]!.waitForCaptions(3), zooms[1]!.waitForCaptions(3)]);
    // A stream is over once its last captions were delivered.
    await waitUntil(() => daemon.meetings.every((m) => m.state === 'ready'), { what: 'both streams delivered' });
    expect(zooms[0]!.text()).toMatch(/married|respectable/i);
    expect(zooms[1]!.text()).toMatch(/power to do/i);
    expect(zooms.flatMap((z) => z.violations)).toEqual([]);
    expect(zooms[0]!.text()).not.toMatch(/power to do/i);
    garbage.destroy();
  });

  it('a publisher that disconnects and comes back keeps captioning, with the seq going on', async () => {
    const before = zooms[0]!.accepted.length;
    const first = zooms[0]!.lastAcceptedSeq;
    expect((await publishRtmp(url('stage-key-0123456789'), clips[2]!.path, 'aac')).code).toBe(0);
    expect((await publishRtmp(url('stage-key-0123456789'), clips[4]!.path, 'aac')).code).toBe(0);
    await waitUntil(() => daemon.meetings.every((m) => m.state === 'ready'), { what: 'the stream delivered' });
    expect(zooms[0]!.accepted.length).toBeGreaterThan(before + 3);
    // The same speech as 16 kHz PCM straight into the engine: RTMP (AAC at 44.1 kHz stereo, decoded by ffmpeg) must
    // caption it about as well. Measured here: captions over RTMP 0.27, the engine on the PCM directly 0.32.
    const reference = `${clips[2]!.transcript} ${clips[4]!.transcript}`;
    const captioned = zooms[0]!.accepted.slice(before).map((c) => c.body).join(' ');
    const decoder = new PocketsphinxDecoder({ modelDir: DEFAULT_MODEL_DIR, endpointSilenceMs: 500, partialIntervalMs: 100, maxUtteranceMs: 20_000 });
    const direct = [2, 4].flatMap((i) => {
      decoder.resetStream();
      const pcm = readWav(clips[i]!.path).samples;
      const events = [];
      for (let at = 0; at < pcm.length; at += 1_600) events.push(...decoder.process(pcm.subarray(at, at + 1_600)));
      events.push(...decoder.finish());
      return events.flatMap((e) => (e.type === 'final' ? [e.text] : []));
    });
    decoder.free();
    expect(wordErrorRate(reference, captioned).wer).toBeLessThanOrEqual(wordErrorRate(reference, direct.join(' ')).wer + 0.1);
    expect(zooms[0]!.lastAcceptedSeq).toBeGreaterThan(first + 3);
    expect(zooms[0]!.violations).toEqual([]);
  });
});

describe('RTMP pull ingest', () => {
  it('pulls a stream, and when the source drops or is not there yet, reconnects with backoff', async () => {
    const dir = await tempDirForTest('cb-pull-');
    const zoom = stopAfterTest(new FakeZoom());
    const captionUrl = await zoom.start();
    const sourcePort = await freePort();
    const key = 'pull-key-0123456789abcdef';
    const source = `rtmp://127.0.0.1:${sourcePort}/live/${key}`;
    const config = parseConfig(
      `http: { host: 127.0.0.1, port: 0 }\nstate: { dir: ${dir} }\nmeetings:\n  - id: pulled\n    source: { type: rtmp-pull, url: "${source}" }\n    captions: [ { zoom: { url: "${captionUrl}" } } ]\n`,
      'pull.yaml',
      {},
    );
    // The source is not up yet when the meeting starts: the pull retries.
    const daemon = stopAfterTest(await startDaemon(config, silentLogger));
    const serve = (clip: string): Promise<unknown> =>
      new Promise((resolve) => execFile(ffmpeg, ['-loglevel', 'error', '-re', '-i', clip, '-c:a', 'aac', '-f', 'flv', '-listen', '1', source], resolve));
    await new Promise((r) => setTimeout(r, 500));
    const served = serve(clips[3]!.path);
    // While the pull runs, no process but the test's own source (ffmpeg -listen) shows the key in its argv.
    const keyInArgv = new Set<string>();
    while (zoom.accepted.length < 1) {
      for (const line of await commandLinesContaining(key)) if (!line.includes('-listen')) keyInArgv.add(line);
      await new Promise((r) => setTimeout(r, 100));
    }
    await served;
    await zoom.waitForCaptions(2);
    // The source goes away and comes back (a mixer restarted): the bridge finds it again.
    await serve(clips[0]!.path);
    await waitUntil(() => /power/i.test(zoom.text()), { what: 'captions from the source that came back' });
    await daemon.stop();
    await zoom.stop();
    await rm(dir, { recursive: true, force: true });
    expect(zoom.text()).toMatch(/married|respectable/i);
    expect(zoom.text()).toMatch(/power/i);
    expect(zoom.violations).toEqual([]);
    expect([...keyInArgv]).toEqual([]);
    expect((await readdir(tmpdir())).filter((name) => name.startsWith('caption-bridge-input-'))).toEqual([]);
  });
});

/** Every running process's command line that contains `text` (what `ps` would show any local user). */
async function commandLinesContaining(text: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(text)) found.push(cmdline.replaceAll('\0', ' '));
  }
  return found;
}

describe('RTMP stream keys stay out of the logs', () => {
  it('prints a pull URL without its key or password, and names the secrets to scrub from ffmpeg\'s messages', () => {
    expect(redactStreamUrl('rtmp://user:hunter2-secret@mixer.local:1935/live/k3y-0123456789abcdef')).toBe('rtmp://user:REDACTED@mixer.local:1935/live/REDACTED');
    expect(redactStreamUrl('rtmps://mixer.local/app')).toBe('rtmps://mixer.local/app');
    expect(streamUrlSecrets('rtmp://user:hunter2-secret@mixer.local/live/k3y-0123456789abcdef')).toEqual(['k3y-0123456789abcdef', 'hunter2-secret']);
  });
});

describe('RTMP configuration', () => {
  const meeting = (id: string, source: string): string => `  - id: ${id}\n    source: ${source}\n    captions: [ { stdout: {} } ]\n`;

  it('needs the listener, a long key per meeting, and an rtmp:// URL to pull', () => {
    expect(configProblems(`meetings:\n${meeting('a', '{ type: rtmp, streamKey: k-0123456789 }')}`)).toEqual([
      '3:21 meetings[0].source.type: rtmp sources need the RTMP listener: add rtmp: { port: 1935 } at the top level',
    ]);
    expect(configProblems(`rtmp: { host: 127.0.0.1 }\nmeetings:\n${meeting('a', '{ type: rtmp, streamKey: k-0123456789 }')}${meeting('b', '{ type: rtmp, streamKey: k-0123456789 }')}`)).toEqual([
      '7:38 meetings[1].source.streamKey: the same stream key as meetings[0]: each meeting needs its own',
    ]);
    expect(configProblems(`rtmp: {}\nmeetings:\n${meeting('a', '{ type: rtmp, streamKey: short }')}`)[0]).toMatch(/streamKey: a stream key is 8-128 letters/);
    expect(configProblems(`meetings:\n${meeting('a', '{ type: rtmp-pull, url: "http://mixer/live" }')}`)).toEqual(['3:37 meetings[0].source.url: expected an rtmp:// or rtmps:// URL']);
  });
});
