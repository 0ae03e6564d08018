import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startDaemon } from '../../src/daemon.js';
import { readWav } from '../../src/util/wav.js';
import { stopAfterTest, tempDirForTest } from '../helpers/cleanup.js';
import { FakeZoom } from '../helpers/fake-zoom.js';
import { captureLogs } from '../helpers/log-capture.js';
import { concatSamples, librivoxClips, roomNoise } from '../helpers/speech.js';
import { waitUntil } from '../helpers/wait.js';
import { publishRtmp } from '../helpers/rtmp-publish.js';
import { refusedUpgrade, streamAudio } from '../helpers/ws-client.js';

/** How many times the overloaded machine is looked at before the test gives up (each with meetings of its own). */
const ATTEMPTS = 3;

describe('when the machine cannot keep up, it says so', () => {
  it('a recognizer seconds behind shows in /readyz (503 overloaded), /metrics and the log; a new meeting is refused, the busy one keeps its streams; all clears when it catches up', async () => {
    const dir = await tempDirForTest('cb-capacity-');
    const logs = captureLogs('info');
    const config = parseConfig(
      `http: { host: 127.0.0.1, port: 0 }\nrtmp: { host: 127.0.0.1, port: 0 }\nstate: { dir: ${dir} }\nmeetings:\n  - id: busy\n    source: { type: websocket, token: busy-token }\n    asr: { profile: balanced }\n    captions: [ { stdout: {} } ]\n    archive: false\n  - id: fresh\n    source: { type: websocket, token: fresh-token }\n    captions: [ { stdout: {} } ]\n    archive: false\n` +
        // Meetings never started, one pair for each look at an overloaded machine (a meeting that was let in is one
        // under way, which a second look would rightly let in again).
        Array.from({ length: ATTEMPTS }, (_, i) => `  - id: new${i}\n    source: { type: websocket, token: new${i}-token }\n    captions: [ { stdout: {} } ]\n    archive: false\n  - id: stage${i}\n    source: { type: rtmp, streamKey: stage${i}-key-0123456789 }\n    captions: [ { stdout: {} } ]\n    archive: false\n`).join(''),
      'capacity.yaml',
      {},
    );
    const daemon = stopAfterTest(await startDaemon(config, logs.log));
    const base = `http://127.0.0.1:${daemon.port}`;
    // 59 s of audio sent at 20 times real time for 3 s: faster than the balanced profile decodes it (7 times real time
    // here alone, about 12 in CI's run after the other tests, where 14 times real time left the backlog only just past
    // 6 s at its peak), so the backlog stays past 5 s (its cap is 10 s; older audio is dropped) while the checks below
    // run; less audio than the 60 s a source may run ahead of the wall clock.
    const clips = librivoxClips().map((clip) => readWav(clip.path).samples);
    const flood = concatSamples([...Array.from({ length: 2 }, () => clips).flat(), roomNoise(10)]);
    const streaming = streamAudio(`${base.replace('http', 'ws')}/ingest/busy`, flood, { token: 'busy-token', speed: 20 });

    // The engine's backlog is read when each request comes, and may dip under the limit for a moment as the decoder
    // takes a batch: each look waits for /readyz to say overloaded and asks everything that must see it at once; a
    // look in which the backlog dipped is tried again with meetings not yet tried.
    const looks: string[] = [];
    let seen: { behind: number; metric: number; refused: { status: number; body: string }; publisher: { code: number | null; stderr: string } } | undefined;
    for (let i = 0; i < ATTEMPTS && !seen; i++) {
      let behind = 0;
      let most = 0;
      await waitUntil(async () => {
        const response = await fetch(`${base}/readyz`);
        const body = (await response.json()) as { status: string; behindSeconds?: Record<string, number> };
        behind = body.behindSeconds?.busy ?? 0;
        most = Math.max(most, behind);
        return response.status === 503 && body.status === 'overloaded' && behind > 6;
      }, { what: '/readyz saying overloaded, the busy meeting more than 6 s behind' }).catch((err: unknown) => {
        throw new Error(`${String(err)} (the most it was behind: ${most.toFixed(1)} s; looks so far: ${looks.join('; ') || 'none'})`);
      });
      const [metrics, refused, publisher] = await Promise.all([
        fetch(`${base}/metrics`).then((response) => response.text()),
        refusedUpgrade(`${base.replace('http', 'ws')}/ingest/new${i}`, { Authorization: `Bearer new${i}-token` }).catch((err: unknown) => ({ status: 101, body: String(err) })),
        // The same for an RTMP publisher (real ffmpeg): the publish is refused with the reason (the shortest clip: one
        // let in plays at the pace of speech).
        publishRtmp(`rtmp://127.0.0.1:${daemon.rtmpPort}/live/stage${i}-key-0123456789`, librivoxClips()[1]!.path),
      ]);
      const metric = Number(/caption_bridge_behind_seconds\{meeting="busy"\} ([\d.]+)/.exec(metrics)?.[1]);
      looks.push(`behind ${behind.toFixed(1)} s: upgrade ${refused.status}, RTMP exit ${publisher.code}, metric ${metric}`);
      if (refused.status === 503 && publisher.code !== 0 && metric > 1) seen = { behind, metric, refused, publisher };
    }
    console.log(`[capacity] looks at the overloaded machine: ${looks.join('; ')}`);
    expect(seen, looks.join('; ')).toBeDefined();
    expect(seen!.refused.body).toMatch(/^overloaded: the speech engine is \d+ s behind .*another instance/);
    expect(seen!.publisher.stderr).toMatch(/overloaded: the speech engine is \d+ s behind/);
    // Checked on a timer (every 250 ms): it may come a moment after /readyz says so.
    await waitUntil(() => logs.text().includes('this machine cannot keep up with its meetings'), { timeoutMs: 2_000, what: 'the warning' });
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

describe('one publisher cannot starve the others', () => {
  it('a flood of 1 MiB frames on one meeting leaves another meeting on the same decoder thread on time', async () => {
    const dir = await tempDirForTest('cb-flood-');
    const logs = captureLogs('info');
    const zoom = stopAfterTest(new FakeZoom());
    const captionUrl = await zoom.start();
    const config = parseConfig(
      `http: { host: 127.0.0.1, port: 0 }\nstate: { dir: ${dir} }\nmeetings:\n  - id: steady\n    source: { type: websocket, token: steady-token }\n    captions: [ { zoom: { url: "${captionUrl}" } } ]\n    archive: false\n  - id: flood\n    source: { type: websocket, token: flood-token }\n    captions: [ { stdout: {} } ]\n    archive: false\n`,
      'flood.yaml',
      {},
    );
    const daemon = stopAfterTest(await startDaemon(config, logs.log));
    const ws = `ws://127.0.0.1:${daemon.port}`;
    const steady = daemon.meetings.find((m) => m.id === 'steady')!;
    const clips = librivoxClips().map((clip) => readWav(clip.path).samples);
    const speech = concatSamples([roomNoise(0.5), clips[0]!, roomNoise(0.5), clips[3]!, roomNoise(1.5)]);

    /** The steady meeting's real-time stream: each word's latency to Zoom, and the most audio ever waiting. */
    const runSteady = async (): Promise<{ p50: number; p95: number; maxBehind: number; dropped: number }> => {
      const latencies: number[] = [];
      const onDelivered = ({ wordLatencies }: { wordLatencies: number[] }): void => void latencies.push(...wordLatencies);
      steady.on('delivered', onDelivered);
      let maxBehind = 0;
      const sampler = setInterval(() => (maxBehind = Math.max(maxBehind, steady.snapshot().behindSeconds)), 100);
      const droppedBefore = steady.snapshot().stats.droppedSeconds;
      expect((await streamAudio(`${ws}/ingest/steady`, speech, { token: 'steady-token' })).code).toBe(1000);
      clearInterval(sampler);
      steady.off('delivered', onDelivered);
      latencies.sort((a, b) => a - b);
      const at = (q: number): number => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
      return { p50: at(0.5), p95: at(0.95), maxBehind, dropped: steady.snapshot().stats.droppedSeconds - droppedBefore };
    };

    const alone = await runSteady();
    // The flood: 1 MiB frames (33 s of audio each) as fast as the socket takes them, reconnecting whenever the bridge
    // ends the stream for running too far ahead of the clock.
    const floodAudio = concatSamples(Array.from({ length: 6 }, () => clips).flat());
    let flooding = true;
    let floodStreams = 0;
    const floods = (async () => {
      while (flooding) {
        floodStreams += 1;
        await streamAudio(`${ws}/ingest/flood`, floodAudio, { token: 'flood-token', realtime: false, chunkMs: (1 << 19) / 16 }).catch(() => undefined);
      }
    })();
    await waitUntil(() => daemon.meetings.find((m) => m.id === 'flood')!.snapshot().behindSeconds > 1, { what: 'the flood decoding' });
    const flooded = await runSteady();
    flooding = false;
    await floods;
    const fmt = (r: typeof alone): string => `p50 ${r.p50.toFixed(2)} s, p95 ${r.p95.toFixed(2)} s, most waiting ${r.maxBehind.toFixed(2)} s, dropped ${r.dropped} s`;
    console.log(`flood on another meeting (${floodStreams} flood streams): steady alone ${fmt(alone)}; steady during the flood ${fmt(flooded)}`);
    // Compared with the same meeting alone in the same run, not with absolute times (a busy CI machine is slow for
    // both). Starved, the steady meeting would fall behind by whole flood frames (33 s of audio each) and drop audio;
    // fairly scheduled it stays within seconds of itself. The figures themselves are measured in bench/ (load).
    expect(flooded.dropped).toBe(0);
    expect(flooded.maxBehind).toBeLessThan(alone.maxBehind * 2 + 3);
    expect(flooded.p95).toBeLessThan(alone.p95 * 2 + 2);
    expect(logs.text()).toContain('audio arrives more than 60 s faster than real time');
    expect(zoom.violations).toEqual([]);
  });
});
