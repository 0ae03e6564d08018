import type { Namespace } from 'etcd3';
import type { EtcdEntry } from './mirror.js';

/** What the fleet is told as etcd changes under its prefix. */
export interface StoreWatch {
  put(entry: EtcdEntry): void;
  delete(key: string, revision: bigint): void;
  /** The watch reconnected after etcd was away: events in between may be compacted away. */
  reconnected(): void;
  error(err: unknown): void;
}

/**
 * The few etcd operations the fleet's shell carries its actions out with, under its prefix. An interface so that the
 * shell's wiring can be read apart from etcd3's builders; `etcdFleetStore` is the one implementation.
 */
export interface FleetStore {
  readAll(): Promise<{ revision: bigint; entries: EtcdEntry[] }>;
  watch(handlers: StoreWatch): Promise<{ cancel(): Promise<void> }>;
  /** Writes `key` only if it does not exist, attached to `lease` when given; etcd's revision when it did. */
  create(key: string, value: string, lease?: string): Promise<bigint | undefined>;
  put(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** Deletes `key` only while it is still attached to `lease` (this process's own claim, not a later owner's). */
  deleteIfLease(key: string, lease: string): Promise<void>;
  /** Deletes `key` only while it still holds `value` (this process's request, not a newer one). */
  deleteIfValue(key: string, value: string): Promise<void>;
}

/**
 * This process's lease as the fleet uses it (FleetLease on etcd): keys written with it live as long as the process
 * keeps renewing it; `holds` turns false before etcd could let it expire, and 'lost' says so once.
 */
export interface MemberLease {
  readonly holds: boolean;
  id(): Promise<string>;
  /** Writes a key that lives as long as the lease; etcd's revision of the write. */
  put(key: string, value: string): Promise<string>;
  grant(): Promise<void>;
  revoke(): Promise<void>;
  drop(): void;
  on(event: 'lost', listener: (why: string) => void): unknown;
}

export function etcdFleetStore(etcd: Namespace): FleetStore {
  return {
    async readAll() {
      const { header, kvs } = await etcd.getAll().prefix('').exec();
      return { revision: BigInt(header.revision), entries: kvs.map((kv) => ({ key: kv.key.toString(), value: kv.value.toString(), revision: BigInt(kv.mod_revision) })) };
    },
    async watch(handlers) {
      const watcher = await etcd.watch().prefix('').create();
      watcher.on('put', (kv) => handlers.put({ key: kv.key.toString(), value: kv.value.toString(), revision: BigInt(kv.mod_revision) }));
      watcher.on('delete', (kv) => handlers.delete(kv.key.toString(), BigInt(kv.mod_revision)));
      watcher.on('connected', () => handlers.reconnected());
      watcher.on('error', (err) => handlers.error(err));
      return { cancel: () => watcher.cancel() };
    },
    async create(key, value, lease) {
      const put = etcd.put(key).value(value);
      const { succeeded, header } = await etcd.if(key, 'Create', '==', 0).then(lease === undefined ? put : put.lease(lease)).commit();
      return succeeded ? BigInt(header.revision) : undefined;
    },
    async put(key, value) {
      await etcd.put(key).value(value);
    },
    async delete(key) {
      await etcd.delete().key(key);
    },
    async deleteIfLease(key, lease) {
      await etcd.if(key, 'Lease', '==', lease).then(etcd.delete().key(key)).commit();
    },
    async deleteIfValue(key, value) {
      await etcd.if(key, 'Value', '==', value).then(etcd.delete().key(key)).commit();
    },
  };
}
