import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseCaptionUrl } from '../src/caption/caption-url.js';
import { SeqStore } from '../src/caption/seq-store.js';
import { ZoomCaptionSender } from '../src/caption/zoom-sender.js';
import { parseConfig } from '../src/config/load.js';
import { startDaemon } from '../src/daemon.js';
import { readWav } from '../src/util/wav.js';
import { FakeZoom } from './helpers/fake-zoom.js';
import { captureLogs } from './helpers/log-capture.js';
import { concatSamples, librivoxClips, roomNoise } from './helpers/speech.js';
import { streamAudio } from './helpers/ws-client.js';

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
    const daemon = await startDaemon(config, logs.log);
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
