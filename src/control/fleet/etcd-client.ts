import { readFileSync } from 'node:fs';
import { noop } from 'cockatiel';
import { Etcd3 } from 'etcd3';
import type { FleetOptions } from './options.js';

/**
 * The one etcd client of a process: the fleet's membership and ownership, and the data that outlives an owner
 * (caption page history, webhooks seen) share it. Made by the daemon, closed by it after everything using it.
 */
export function connectEtcd(etcd: FleetOptions['etcd']): Etcd3 {
  const tls = etcd.tls;
  return new Etcd3({
    hosts: etcd.endpoints,
    ...(etcd.username ? { auth: { username: etcd.username, password: etcd.password ?? '' } } : {}),
    ...(tls
      ? {
          credentials: {
            rootCertificate: readFileSync(tls.caFile),
            ...(tls.certFile ? { certChain: readFileSync(tls.certFile) } : {}),
            ...(tls.keyFile ? { privateKey: readFileSync(tls.keyFile) } : {}),
          },
        }
      : {}),
    dialTimeout: 2_000,
    // No circuit breaker per member: the client's default shuts a member out for 5 s after three failed calls,
    // and while etcd elects a leader every member fails calls, so a breaker would leave only the dead one to try.
    faultHandling: { host: () => noop },
  });
}

/**
 * Where data that must outlive its owner is kept: beside the fleet's prefix (`/caption-bridge/` ->
 * `/caption-bridge-data/`), not under it, so the fleet's watch and resyncs never read it. An etcd role for the
 * bridge needs both prefixes.
 */
export function dataPrefix(prefix: string): string {
  return `${prefix.replace(/\/+$/, '')}-data/`;
}
