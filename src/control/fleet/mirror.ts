import { KnownRevisions } from './revisions.js';
import { KEYS, keyOf, readRecord, type KeyKind, type MemberRecord, type NoticeRecord, type OwnerRecord, type RuntimeRecord, type StreamRecord, type WantRecord } from './records.js';

/** One key as etcd reports it: a watch event, an entry of a full read, or this process's own write. */
export interface EtcdEntry {
  key: string;
  value: string;
  /** etcd's mod_revision of the key (for a deletion, the revision that deleted it). */
  revision: bigint;
}

/** What a change to the mirror means: a record kept or gone, a notice to act on, or a value that does not parse. */
export type MirrorChange =
  | { kind: Exclude<KeyKind, 'notices'>; name: string; gone: boolean }
  | { kind: 'notices'; name: string; notice: NoticeRecord }
  | { kind: KeyKind; name: string; problem: string };

/** A request for a meeting (wants/) with etcd's revision of it: which publisher is newer is etcd's order, not a clock. */
export interface Want {
  record: WantRecord;
  revision: bigint;
}

/**
 * What etcd says of the fleet, as of which revision: members, owners, runtime meetings, RTMS streams and publishers'
 * requests, kept from a watch and from full reads. It only records: it takes no action and reads no clock (`now` is
 * given), so every race between a watch, a replay and a full read is a unit test.
 *
 * A change at or below what is known for its key is old news and changes nothing (KnownRevisions): a watch that
 * reconnects replays what a full read may already have shown, and a replayed deletion must not remove a record
 * written since.
 */
export class FleetMirror {
  readonly members = new Map<string, MemberRecord>();
  readonly owners = new Map<string, OwnerRecord>();
  readonly runtime = new Map<string, RuntimeRecord>();
  readonly streams = new Map<string, StreamRecord>();
  readonly wants = new Map<string, Want>();
  /** When an owner key went away: a takeover's time is measured from it. */
  readonly ownerGoneAt = new Map<string, number>();
  /** Where each kind of record is kept (notices are acted on, not kept). */
  private readonly kept: Record<Exclude<KeyKind, 'notices'>, Map<string, unknown>> = { members: this.members, owners: this.owners, meetings: this.runtime, streams: this.streams, wants: this.wants };
  private readonly known = new KnownRevisions();
  /** Values that did not parse, reported once each (key and revision). */
  private readonly badValues = new Set<string>();

  /** A key was written (by anyone, this process included). Undefined when it is old news or not the fleet's key. */
  put(entry: EtcdEntry): MirrorChange | undefined {
    const parsed = keyOf(entry.key);
    if (!parsed || !this.known.isNews(entry.key, entry.revision)) return undefined;
    return this.keep(parsed.kind, parsed.name, entry);
  }

  /** A key was deleted at `revision` (or expired with its lease). */
  delete(key: string, revision: bigint, now: number): MirrorChange | undefined {
    const parsed = keyOf(key);
    if (!parsed || !this.known.isNews(key, revision)) return undefined;
    if (parsed.kind === 'notices') return undefined;
    this.forget(parsed.kind, parsed.name, now);
    return { kind: parsed.kind, name: parsed.name, gone: true };
  }

  /**
   * A full read of the prefix at `readAt`: what it returns is known as of it, and a record it does not return is gone,
   * unless it was written after the read. Notices in a full read are history, not news: they are not returned.
   */
  read(entries: readonly EtcdEntry[], readAt: bigint, now: number): MirrorChange[] {
    const changes: MirrorChange[] = [];
    const present = new Set<string>();
    for (const entry of entries) {
      present.add(entry.key);
      const change = this.put(entry);
      if (change && !('notice' in change)) changes.push(change);
    }
    for (const [kind, records] of Object.entries(this.kept) as [Exclude<KeyKind, 'notices'>, Map<string, unknown>][]) {
      for (const name of [...records.keys()]) {
        const key = KEYS[kind] + name;
        if (present.has(key) || !this.known.goneAsOf(key, readAt)) continue;
        this.forget(kind, name, now);
        changes.push({ kind, name, gone: true });
      }
    }
    this.known.read(readAt);
    return changes;
  }

  private keep(kind: KeyKind, name: string, entry: EtcdEntry): MirrorChange | undefined {
    const read = readRecord(kind, entry.value);
    if ('problem' in read) {
      const said = `${entry.key}@${entry.revision}`;
      const first = !this.badValues.has(said);
      this.badValues.add(said);
      // A record that does not parse is not trusted: the one it replaced is gone too.
      if (kind !== 'notices') this.kept[kind].delete(name);
      return first ? { kind, name, problem: read.problem } : undefined;
    }
    switch (kind) {
      case 'notices':
        return { kind, name, notice: read.record as NoticeRecord };
      case 'wants':
        this.wants.set(name, { record: read.record as WantRecord, revision: entry.revision });
        break;
      case 'owners':
        // Someone owns it again: a takeover by this process is timed from the claim's own goneAt, read before.
        this.ownerGoneAt.delete(name);
        this.owners.set(name, read.record as OwnerRecord);
        break;
      default:
        this.kept[kind].set(name, read.record);
    }
    return { kind, name, gone: false };
  }

  private forget(kind: Exclude<KeyKind, 'notices'>, name: string, now: number): void {
    if (kind === 'owners' && this.owners.has(name)) this.ownerGoneAt.set(name, now);
    this.kept[kind].delete(name);
  }
}
