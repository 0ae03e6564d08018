import { z } from 'zod';
import { milliseconds } from '../util/schema.js';

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

/** Where a meeting's audio comes from. */
export const sourceOptions = z.discriminatedUnion('type', [websocketSource, rtmpSource, rtmpPullSource]);
export type SourceConfig = z.output<typeof sourceOptions>;
