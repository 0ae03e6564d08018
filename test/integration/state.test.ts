import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pruneArchive } from '../../src/caption/archive.js';
import { parseCaptionUrl } from '../../src/caption/caption-url.js';
import { SeqStore } from '../../src/caption/seq-store.js';
import { ZoomCaptionSender } from '../../src/caption/zoom-sender.js';
import { parseConfig } from '../../src/config/load.js';
import { startDaemon } from '../../src/daemon.js';
import { silentLogger } from '../../src/log.js';
import { readWav } from '../../src/util/wav.js';
import { FakeZoom } from '../helpers/fake-zoom.js';
import { captureLogs } from '../helpers/log-capture.js';
import { concatSamples, librivoxClips, roomNoise } from '../helpers/speech.js';
import { streamAudio } from '../helpers/ws-client.js';
import { stopAfterTest } from '../helpers/cleanup.js';

let zoom: FakeZoom;
let dir: string;
beforeEach(async () => {
  zoom = new FakeZoom();
  dir = await mkdtemp(join(tmpdir(), 'cb-state-'));
});
afterEach(async () => {
  await zoom.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('state that is damaged or cannot be written never stops captioning', () => {
  it('a torn or empty seq file counts as missing: Zoom GET seq decides, with a warning', async () => {
    const url = parseCaptionUrl(await zoom.start());
    zoom.setLastSeq(41);
    const logs = captureLogs();
    const store = new SeqStore(dir, logs.log);
    for (const damaged of ['', '{"lastSeq": 4', 'null', '{"lastSeq": -3}']) {
      await writeFile(join(dir, `seq-${url.stateKey}.json`), damaged);
      expect(await store.read(url.stateKey)).toBeUndefined();
    }
    expect(logs.text()).toContain('Zoom GET seq decides where to resume');
    const sender = new ZoomCaptionSender({ url, lang: 'en-US', seqStore: store, log: logs.log });
    expect(await sender.send('after a crash')).toMatchObject({ status: 'accepted', seq: 42 });
    expect(await store.read(url.stateKey)).toBe(42);
    await sender.close();
  });

  it('a state dir that cannot be written: the daemon starts and Zoom gets the captions', async () => {
    const captionUrl = await zoom.start();
    const blocker = join(dir, 'not-a-dir');
    await writeFile(blocker, 'a file where the state dir should be');
    const logs = captureLogs('info');
    const config = parseConfig(
      `http: { host: 127.0.0.1, port: 0 }\nstate: { dir: ${join(blocker, 'state')} }\nmeetings:\n  - id: m\n    source: { type: websocket, token: state-token-0123456789 }\n    captions: [ { zoom: { url: "${captionUrl}" } } ]\n`,
      'state.yaml',
      {},
    );
    const daemon = stopAfterTest(await startDaemon(config, logs.log));
    try {
      const speech = concatSamples([roomNoise(0.5), readWav(librivoxClips()[0]!.path).samples, roomNoise(1)]);
      const outcome = await streamAudio(`ws://127.0.0.1:${daemon.port}/ingest/m`, speech, { token: 'state-token-0123456789', realtime: false });
      expect(outcome.code).toBe(1000);
    } finally {
      await daemon.stop();
    }
    expect(zoom.text()).toMatch(/dashwood/i);
    expect(zoom.violations).toEqual([]);
    expect(logs.text()).toContain('transcript file unavailable: captions go on without it');
    expect(logs.text()).toContain('could not persist seq; posting anyway');
  });
});

describe('the transcript archive does not grow without bound', () => {
  it('removes runs older than keepDays, then the oldest until the folder fits maxMegabytes', async () => {
    const archive = join(dir, 'transcripts', 'm');
    await mkdir(archive, { recursive: true });
    const now = Date.now();
    const day = 86_400_000;
    // Five runs, 40 days apart ... newest today; each pair 0.3 MiB.
    for (let run = 0; run < 5; run++) {
      const when = new Date(now - (4 - run) * 40 * day);
      for (const ext of ['vtt', 'srt']) {
        const path = join(archive, `run${run}.${ext}`);
        await writeFile(path, Buffer.alloc(150 * 1024));
        await utimes(path, when, when);
      }
    }
    // 100 days: runs 0 and 1 (160 and 120 days old) go; 0.6 MiB: run 2 goes too (0.9 MiB left over the limit).
    const removed = await pruneArchive(archive, { keepDays: 100, maxMegabytes: 0.6 }, silentLogger, now);
    expect(removed.sort()).toEqual(['run0.srt', 'run0.vtt', 'run1.srt', 'run1.vtt', 'run2.srt', 'run2.vtt']);
    expect((await readdir(archive)).sort()).toEqual(['run3.srt', 'run3.vtt', 'run4.srt', 'run4.vtt']);
    // A folder that is not there yet (a meeting's first run) is fine.
    expect(await pruneArchive(join(dir, 'transcripts', 'new'), { keepDays: 1, maxMegabytes: 1 }, silentLogger)).toEqual([]);
  });

  it('the daemon trims a meeting\'s archive at start, before that run\'s files are written', async () => {
    const url = await zoom.start();
    const archive = join(dir, 'transcripts', 'trimmed');
    await mkdir(archive, { recursive: true });
    const old = new Date(Date.now() - 10 * 86_400_000);
    await writeFile(join(archive, 'old.vtt'), 'WEBVTT\n\n');
    await utimes(join(archive, 'old.vtt'), old, old);
    const config = parseConfig(
      `http: { host: 127.0.0.1, port: 0 }\nstate: { dir: ${dir} }\nmeetings:\n  - id: trimmed\n    source: { type: websocket, token: trimmed-token }\n    archive: { keepDays: 7 }\n    captions: [ { zoom: { url: "${url}" } } ]\n`,
      'trim.yaml',
      {},
    );
    const daemon = stopAfterTest(await startDaemon(config, silentLogger));
    await daemon.stop();
    const left = await readdir(archive);
    expect(left).not.toContain('old.vtt');
    // This run's WebVTT file (its header is written at start; the SRT file waits for a first caption).
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(/^\d{4}-.*\.vtt$/);
  });
});
