import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startDaemon } from '../../src/daemon.js';
import { readWav } from '../../src/util/wav.js';
import { stopAfterTest, tempDirForTest } from '../helpers/cleanup.js';
import { captureLogs } from '../helpers/log-capture.js';
import { concatSamples, librivoxClips, roomNoise } from '../helpers/speech.js';
import { waitUntil } from '../helpers/wait.js';
import { publishRtmp } from '../helpers/rtmp-publish.js';
import { refusedUpgrade, streamAudio } from '../helpers/ws-client.js';

describe('when the machine cannot keep up, it says so', () => {
  it('a recognizer seconds behind shows in /readyz (503 overloaded), /metrics and the log; a new meeting is refused, the busy one keeps its streams; all clears when it catches up', async () => {
    const dir = await tempDirForTest('cb-capacity-');
    const logs = captureLogs('info');
    const config = parseConfig(
      `http: { host: 127.0.0.1, port: 0 }\nrtmp: { host: 127.0.0.1, port: 0 }\nstate: { dir: ${dir} }\nmeetings:\n  - id: busy\n    source: { type: websocket, token: busy-token }\n    captions: [ { stdout: {} } ]\n    archive: false\n  - id: fresh\n    source: { type: websocket, token: fresh-token }\n    captions: [ { stdout: {} } ]\n    archive: false\n  - id: stage\n    source: { type: rtmp, streamKey: stage-key-0123456789 }\n    captions: [ { stdout: {} } ]\n    archive: false\n`,
      'capacity.yaml',
      {},
    );
    const daemon = stopAfterTest(await startDaemon(config, logs.log));
    const base = `http://127.0.0.1:${daemon.port}`;
    // 220 s of speech sent at 40 times real time for 5.5 s: far faster than any engine here decodes it, for long
    // enough that the backlog stays past 5 s (its cap is 10 s; older audio is dropped) while the checks below run.
    const clips = librivoxClips().map((clip) => readWav(clip.path).samples);
    const flood = concatSamples([...Array.from({ length: 8 }, () => clips).flat(), roomNoise(1)]);
    const streaming = streamAudio(`${base.replace('http', 'ws')}/ingest/busy`, flood, { token: 'busy-token', speed: 40 });

    let overloaded: { status: number; body: { status: string; behindSeconds?: Record<string, number> } } | undefined;
    await waitUntil(async () => {
      const response = await fetch(`${base}/readyz`);
      overloaded = { status: response.status, body: (await response.json()) as { status: string; behindSeconds?: Record<string, number> } };
      return response.status === 503;
    }, { what: '/readyz saying overloaded' });
    expect(overloaded!.body.status).toBe('overloaded');
    expect(overloaded!.body.behindSeconds!.busy).toBeGreaterThan(5);
    const metric = /caption_bridge_behind_seconds\{meeting="busy"\} ([\d.]+)/.exec(await (await fetch(`${base}/metrics`)).text());
    expect(Number(metric?.[1])).toBeGreaterThan(1);
    expect(logs.text()).toContain('this machine cannot keep up with its meetings');

    // A meeting not under way is not started here while the engine is behind: every meeting's captions would lag more.
    const refused = await refusedUpgrade(`${base.replace('http', 'ws')}/ingest/fresh`, { Authorization: 'Bearer fresh-token' });
    expect(refused.status).toBe(503);
    expect(refused.body).toMatch(/^overloaded: the speech engine is \d+ s behind .*another instance/);
    // The same for an RTMP publisher (real ffmpeg): the publish is refused with the reason.
    const publisher = await publishRtmp(`rtmp://127.0.0.1:${daemon.rtmpPort}/live/stage-key-0123456789`, librivoxClips()[0]!.path);
    expect(publisher.code).not.toBe(0);
    expect(publisher.stderr).toMatch(/overloaded: the speech engine is \d+ s behind/);
    // The busy meeting's publisher reconnecting is taken (it replaces the connection it left behind).
    const reconnect = streamAudio(`${base.replace('http', 'ws')}/ingest/busy`, roomNoise(0.5), { token: 'busy-token', realtime: false });
    expect((await reconnect).code).toBe(1000);
    expect((await streaming).code).toBe(4009);
    // Caught up: the new meeting is taken.
    expect((await streamAudio(`${base.replace('http', 'ws')}/ingest/fresh`, roomNoise(0.5), { token: 'fresh-token', realtime: false })).code).toBe(1000);
    const after = await fetch(`${base}/readyz`);
    expect(after.status).toBe(200);
    expect(((await after.json()) as { behindSeconds?: unknown }).behindSeconds).toBeUndefined();
    expect(logs.text()).toContain('the speech engine has caught up with the audio');
  });
});
