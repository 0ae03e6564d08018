import { z } from 'zod';
import { httpOrigin } from '../../util/origin.js';

/**
 * What the fleet keeps in etcd, under the configured prefix. Every value is JSON, checked on the way in: a record
 * another version or a person wrote that does not parse is logged and skipped, never trusted.
 *
 *   members/<process>   this process is alive and whether it takes meetings        (its lease)
 *   owners/<meeting>    which process runs the meeting                             (the owner's lease)
 *   meetings/<meeting>  a meeting made at runtime from the account template         (until it ends)
 *   streams/<meeting>   what Zoom last said of the meeting's RTMS stream            (until it ends)
 *   notices/<meeting>   the Zoom meeting started or ended (webhook), for its owner  (until replaced)
 *   wants/<meeting>     a publisher of pushed audio reached this process: its owner lets go   (the wanter's lease)
 */
export const KEYS = { members: 'members/', owners: 'owners/', meetings: 'meetings/', streams: 'streams/', notices: 'notices/', wants: 'wants/' } as const;
export type KeyKind = keyof typeof KEYS;

/** A member's url is where readers' requests are relayed with their viewer token: only a bare http(s) origin is one. */
export const memberRecord = z.object({
  name: z.string(),
  url: z.string().refine((url) => httpOrigin(url) !== undefined, 'not an http(s) origin').optional(),
  accepting: z.boolean(),
  since: z.number(),
});
export const ownerRecord = z.object({ owner: z.string(), since: z.number() });
export const runtimeRecord = z.object({ kind: z.enum(['meeting', 'webinar']), id: z.string().regex(/^\d{9,12}$/), at: z.number() });
export const streamRecord = z.discriminatedUnion('what', [
  z.object({ what: z.literal('started'), start: z.object({ instanceUuid: z.string(), streamId: z.string(), serverUrls: z.string(), session: z.literal(true).optional() }), at: z.number() }),
  z.object({ what: z.literal('interrupted'), streamId: z.string(), at: z.number() }),
  z.object({ what: z.literal('stopped'), streamId: z.string(), why: z.string(), restarts: z.boolean(), at: z.number() }),
]);
export const noticeRecord = z.object({ what: z.enum(['started', 'ended']), at: z.number() });
export const wantRecord = z.object({ process: z.string(), at: z.number() });

export type MemberRecord = z.infer<typeof memberRecord>;
export type OwnerRecord = z.infer<typeof ownerRecord>;
export type RuntimeRecord = z.infer<typeof runtimeRecord>;
export type StreamRecord = z.infer<typeof streamRecord>;
export type NoticeRecord = z.infer<typeof noticeRecord>;
export type WantRecord = z.infer<typeof wantRecord>;

const schemas = { members: memberRecord, owners: ownerRecord, meetings: runtimeRecord, streams: streamRecord, notices: noticeRecord, wants: wantRecord };

/** A key under the prefix, split into its kind and name; undefined for a key this version does not know. */
export function keyOf(key: string): { kind: KeyKind; name: string } | undefined {
  for (const [kind, prefix] of Object.entries(KEYS) as [KeyKind, string][]) {
    if (key.startsWith(prefix) && key.length > prefix.length) return { kind, name: key.slice(prefix.length) };
  }
  return undefined;
}

/** The record a value holds, or the reason it is not one. */
export function readRecord<K extends KeyKind>(kind: K, value: string): { record: z.infer<(typeof schemas)[K]> } | { problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    return { problem: 'not JSON' };
  }
  const parsed = schemas[kind].safeParse(json);
  if (!parsed.success) return { problem: parsed.error.issues.map((i) => `${i.path.join('.') || '(value)'}: ${i.message}`).join('; ') };
  return { record: parsed.data as z.infer<(typeof schemas)[K]> };
}
