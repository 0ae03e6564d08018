import { EventEmitter } from 'node:events';
import type { EtcdEntry } from '../../src/control/fleet/mirror.js';
import type { FleetStore, MemberLease, StoreWatch } from '../../src/control/fleet/store.js';

/**
 * etcd as the fleet's shell uses it, in memory: one revision counter, keys with the revision of their last write,
 * leases that own keys, and watches told of every change a moment later (as over a network). A test decides when a
 * lease expires (`expire`), so a crashed process's takeover runs in milliseconds.
 */
export class MemoryEtcd {
  private revision = 0n;
  private readonly keys = new Map<string, { value: string; revision: bigint; lease?: string }>();
  private readonly watches = new Set<StoreWatch>();
  private leases = 0;

  readonly store: FleetStore = {
    readAll: async () => ({ revision: this.revision, entries: [...this.keys].map(([key, { value, revision }]) => ({ key, value, revision })) }),
    watch: async (handlers) => {
      this.watches.add(handlers);
      return { cancel: async () => void this.watches.delete(handlers) };
    },
    create: async (key, value, lease) => (this.keys.has(key) ? undefined : this.write(key, value, lease)),
    put: async (key, value) => void this.write(key, value),
    delete: async (key) => this.remove(key),
    deleteIfLease: async (key, lease) => {
      if (this.keys.get(key)?.lease === lease) this.remove(key);
    },
    deleteIfValue: async (key, value) => {
      if (this.keys.get(key)?.value === value) this.remove(key);
    },
  };

  /** A process's lease: its keys go when it is revoked, or when the test lets it expire. */
  lease(): MemberLease & { cut(): void; restore(): void } {
    const etcd = this;
    const events = new EventEmitter<{ lost: [why: string] }>();
    let id: string | undefined;
    let cut = false;
    return {
      get holds() {
        return id !== undefined;
      },
      id: async () => {
        if (id === undefined) throw new Error('no lease');
        return id;
      },
      put: async (key, value) => {
        if (id === undefined) throw new Error('no lease');
        return String(etcd.write(key, value, id));
      },
      grant: async () => {
        if (cut) throw new Error('etcd unreachable (test)');
        id = `lease-${++etcd.leases}`;
      },
      revoke: async () => {
        if (id !== undefined) etcd.expireLease(id);
        id = undefined;
      },
      drop: () => void (id = undefined),
      on: (event, listener) => events.on(event, listener),
      /** The process loses etcd: its lease runs out (every key of it goes), and it cannot get another until restore(). */
      cut: () => {
        cut = true;
        if (id === undefined) return;
        etcd.expireLease(id);
        events.emit('lost', 'the lease expired (test)');
      },
      restore: () => void (cut = false),
    };
  }

  private expireLease(lease: string): void {
    for (const [key, entry] of [...this.keys]) if (entry.lease === lease) this.remove(key);
  }

  private write(key: string, value: string, lease?: string): bigint {
    const revision = ++this.revision;
    this.keys.set(key, { value, revision, ...(lease ? { lease } : {}) });
    this.tell((watch) => watch.put({ key, value, revision } satisfies EtcdEntry));
    return revision;
  }

  private remove(key: string): void {
    if (!this.keys.delete(key)) return;
    const revision = ++this.revision;
    this.tell((watch) => watch.delete(key, revision));
  }

  private tell(event: (watch: StoreWatch) => void): void {
    for (const watch of this.watches) setImmediate(() => event(watch));
  }
}
