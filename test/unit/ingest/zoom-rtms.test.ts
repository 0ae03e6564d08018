import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { isSamples, type AudioStream } from '../../../src/audio.js';
import type { MeetingState, StreamSummary, StreamTarget } from '../../../src/ingest/target.js';
import { RtmsConnection, shownName } from '../../../src/ingest/zoom-rtms.js';
import { rtmsSignature } from '../../../src/zoom-api/rtms-protocol.js';
import { FakeRtms } from '../../helpers/fake-rtms.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { waitUntil } from '../../helpers/wait.js';

const logs = captureLogs();
const credentials = { clientId: 'rtms-client', clientSecret: 'rtms-secret' };
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A meeting as RtmsConnection sees it: it takes the stream's audio and counts it. */
function meeting(): StreamTarget & { samples: number } {
  const target = {
    id: 'room',
    state: 'ready' as MeetingState,
    samples: 0,
    async runStream(audio: AudioStream): Promise<StreamSummary> {
      for await (const item of audio) if (isSamples(item)) target.samples += item.length;
      return { captions: 0, words: 0, audioSeconds: target.samples / 16_000 };
    },
    audioDropped: () => undefined,
    sourceProblem: () => undefined,
  };
  return target;
}

/** An RTMS stand-in whose stream another client already holds (Zoom answers such a handshake with status 8). */
async function heldStream(): Promise<{ rtms: FakeRtms; url: string }> {
  const rtms = new FakeRtms(credentials, new Int16Array(16_000 * 30), { keepAliveMs: 60_000 });
  const url = await rtms.start();
  cleanups.push(() => rtms.stop());
  const holder = new WebSocket(url);
  cleanups.push(() => holder.terminate());
  await new Promise((resolve) => holder.once('open', resolve));
  const signature = rtmsSignature(credentials, rtms.meetingUuid, rtms.streamId);
  holder.send(JSON.stringify({ msg_type: 1, protocol_version: 1, sequence: 1, meeting_uuid: rtms.meetingUuid, rtms_stream_id: rtms.streamId, signature }));
  await waitUntil(() => rtms.handshakes.length === 1, { what: 'the holder in' });
  return { rtms, url };
}

describe('RtmsConnection, on a clock the test moves', () => {
  it('status 8 (another connection holds the stream) is tried three more times, 1.5 s doubling, then given up', async () => {
    const { rtms, url } = await heldStream();
    const clock = new ManualClock();
    const connection = new RtmsConnection(meeting(), { instanceUuid: rtms.meetingUuid, streamId: rtms.streamId, serverUrls: url }, credentials, logs.log, { allowedHosts: ['127.0.0.1'], clock });
    cleanups.push(() => connection.stop('test over'));
    connection.connect();
    const refusals = (): number => rtms.handshakes.slice(1).filter((h) => h.status === 8).length;
    await waitUntil(() => refusals() === 1, { what: 'the first refusal' });
    for (const [waitMs, expected] of [
      [1_500, 2],
      [3_000, 3],
      [6_000, 4],
    ] as const) {
      // Not a millisecond early...
      await clock.advance(waitMs - 1);
      expect(refusals()).toBe(expected - 1);
      // ...and at its time.
      await clock.advance(1);
      await waitUntil(() => refusals() === expected, { what: `refusal ${expected}` });
    }
    await waitUntil(() => logs.text().includes('giving up'), { what: 'giving up' });
    await clock.advance(60_000);
    expect(rtms.handshakes).toHaveLength(5);
    expect(connection.isStopped).toBe(true);
  });

  it('a signaling socket that stays silent past the watchdog is redialled; after 90 s of nothing the stream ends', async () => {
    // No speech and no keep-alives: once connected, the server says nothing at all.
    const rtms = new FakeRtms(credentials, new Int16Array(0), { keepAliveMs: 600_000 });
    const url = await rtms.start();
    cleanups.push(() => rtms.stop());
    const clock = new ManualClock();
    const target = meeting();
    const connection = new RtmsConnection(target, { instanceUuid: rtms.meetingUuid, streamId: rtms.streamId, serverUrls: url }, credentials, logs.log, {
      allowedHosts: ['127.0.0.1'],
      keepAliveWatchdogMs: 20_000,
      reconnect: { initialMs: 1_000, attempts: 100 },
      clock,
    });
    cleanups.push(() => connection.stop('test over'));
    connection.connect();
    // Both sockets up and every message of the handshakes in (each one counts as heard): from here the server is silent.
    await waitUntil(() => rtms.counts.readyAcks >= 1 && logs.text().includes('rtms audio connected'), { what: 'connected' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await clock.advance(19_000);
    expect(logs.text()).not.toContain('nothing from the RTMS server (no audio, no keep-alive)');
    await clock.advance(1_100);
    expect(logs.text()).toContain('nothing from the RTMS server (no audio, no keep-alive); reconnecting');
    await clock.advance(1_000);
    await waitUntil(() => rtms.counts.signaling === 2, { what: 'signaling redialled' });
    expect(connection.isStopped).toBe(false);
    await rtms.stop();
    await clock.advance(95_000);
    expect(connection.isStopped).toBe(true);
    expect(logs.text()).toContain('nothing from the RTMS server for 90 s');
  });
});

describe('a display name as a caption may show it', () => {
  it('is one line of printable text, at most 24 characters; nothing left is no name', () => {
    expect(shownName('  Ana  María ')).toBe('Ana María');
    expect(shownName('Ana\nMallory\u202Eevil')).toBe('Ana Mallory evil');
    expect(shownName('Bartholomew Fitzwilliam-Montgomery III')).toBe('Bartholomew Fitzwilliam…');
    expect([...shownName('Bartholomew Fitzwilliam-Montgomery III')!]).toHaveLength(24);
    expect(shownName('\u0000\t ')).toBeUndefined();
    expect(shownName(42)).toBeUndefined();
  });
});
