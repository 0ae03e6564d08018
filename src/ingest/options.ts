import { z } from 'zod';
import { milliseconds } from '../util/schema.js';
import { namesOneTarget, zoomTargetFields } from '../zoom-api/target.js';

const websocketSource = z.strictObject({
  type: z.literal('websocket'),
  token: z.string().min(1, 'an ingest token is required (clients send it as a bearer token)'),
  /** A publisher that sends nothing (no audio, no KeepAlive) this long is closed; a muted mixer still sends silence. */
  idleTimeoutMs: milliseconds(1_000, 600_000).default(30_000),
});
/** Published to rtmp://HOST:PORT/live/<streamKey> (the top-level rtmp listener); the key is the publisher's secret. */
const rtmpSource = z.strictObject({
  type: z.literal('rtmp'),
  streamKey: z.string().regex(/^[A-Za-z0-9_-]{8,128}$/, 'a stream key is 8-128 letters, digits, - or _ (it is the publisher\'s password: make it long and random)'),
});
/** Played from another server, reconnecting with backoff. */
const rtmpPullSource = z.strictObject({ type: z.literal('rtmp-pull'), url: z.string().regex(/^rtmps?:\/\/\S+$/, 'expected an rtmp:// or rtmps:// URL') });

/**
 * Zoom Realtime Media Streams: when Zoom announces the meeting's stream (webhook meeting.rtms_started), the bridge
 * connects to it and takes the room's mixed audio. Needs the zoomApi section (its webhook secret and the app's
 * client id and secret, which sign the RTMS handshake).
 */
const zoomRtmsSource = z
  .strictObject({
    type: z.literal('zoom-rtms'),
    ...zoomTargetFields,
  })
  .refine(namesOneTarget, { message: 'zoom-rtms needs exactly one of meetingId, webinarId' });

/**
 * Zoom's custom live streaming pointed at this bridge's RTMP listener (for accounts without RTMS): when the meeting
 * starts, Zoom is given `rtmpUrl` and a fresh key, and pushes the meeting there.
 */
const zoomLivestreamSource = z
  .strictObject({
    type: z.literal('zoom-livestream'),
    ...zoomTargetFields,
    /** The RTMP listener as Zoom's cloud reaches it, without a key: rtmp://captions.example.org:1935/live */
    rtmpUrl: z.string().regex(/^rtmps?:\/\/[^/\s]+\/live$/, 'expected the address Zoom can reach, ending in /live: rtmp://captions.example.org:1935/live'),
    /** Zoom requires a page URL for a custom live stream; nobody watches it here. */
    pageUrl: z.string().url().optional(),
  })
  .refine(namesOneTarget, { message: 'zoom-livestream needs exactly one of meetingId, webinarId' });

/**
 * A Zoom Video SDK session over RTMS: the session named here (by the name the app gives it, or its session key)
 * is captioned when Zoom streams it to the Video SDK app (session.rtms_started on /zoom/videosdk/webhook). With
 * startRtms, the bridge starts the RTMS app itself when the session starts (Video SDK API). Needs the videoSdk
 * section. Sessions have no Caption URL: caption them to a page, a file or the archive.
 */
const zoomVideoSdkSource = z
  .strictObject({
    type: z.literal('zoom-videosdk'),
    /** The session name the app joins with (the Video SDK JWT's tpc). */
    sessionName: z.string().min(1).max(200).optional(),
    /** Or the app's own session key (the JWT's session_key), which Zoom repeats in every session event. */
    sessionKey: z.string().min(1).max(200).optional(),
    startRtms: z.boolean().default(false),
  })
  .refine((s) => (s.sessionName === undefined) !== (s.sessionKey === undefined), { message: 'zoom-videosdk needs exactly one of sessionName, sessionKey' });

/** Where a meeting's audio comes from. */
export const sourceOptions = z.discriminatedUnion('type', [websocketSource, rtmpSource, rtmpPullSource, zoomRtmsSource, zoomLivestreamSource, zoomVideoSdkSource]);
export type SourceConfig = z.output<typeof sourceOptions>;
