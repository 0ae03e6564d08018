import type { Namespace } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { FleetLease } from '../../../../src/control/fleet/lease.js';
import { captureLogs } from '../../../helpers/log-capture.js';
import { ManualClock } from '../../../helpers/manual-clock.js';

const logs = captureLogs();

/**
 * An etcd lease as FleetLease uses it, with a clock: etcd expires the lease TTL after it *received* the last renewal
 * it answered. `answering` decides whether a renewal is answered; `delayMs` how long after sending it arrives.
 */
function fakeEtcd(clock: ManualClock, ttlSeconds: number) {
  const state = { answering: true, expiresAt: 0, renewalsSent: 0 };
  // Unanswered renewals fail at their one-second deadline, as gRPC fails them.
  let unanswered: { sentAt: number; fail: (err: Error) => void }[] = [];
  clock.every(50, () => {
    for (const renewal of unanswered.filter((r) => clock.now() - r.sentAt >= 1_000)) renewal.fail(new Error('deadline exceeded'));
    unanswered = unanswered.filter((r) => clock.now() - r.sentAt < 1_000);
  });
  const lease = {
    on: () => undefined,
    grant: async () => {
      state.expiresAt = clock.now() + ttlSeconds * 1000;
      return 'lease-1';
    },
    keepaliveOnce: () => {
      state.renewalsSent += 1;
      if (!state.answering) return new Promise((_, fail) => unanswered.push({ sentAt: clock.now(), fail }));
      state.expiresAt = clock.now() + ttlSeconds * 1000;
      return Promise.resolve({ TTL: String(ttlSeconds) });
    },
    revoke: async () => undefined,
    release: () => undefined,
  };
  const etcd = { lease: () => lease } as unknown as Pick<Namespace, 'lease'>;
  return { etcd, state };
}

/** A four-second lease granted on a fake etcd with a hand-moved clock, and the 'lost' events it emits. */
async function grantedLease() {
  const clock = new ManualClock();
  const { etcd, state } = fakeEtcd(clock, 4);
  const lease = new FleetLease(etcd, 4, logs.log, clock);
  const lost: string[] = [];
  lease.on('lost', (why) => lost.push(why));
  await lease.grant();
  return { clock, state, lease, lost };
}

describe('the fleet lease and its fence', () => {
  it('holds while renewals are answered', async () => {
    const { clock, state, lease } = await grantedLease();
    await clock.advance(30_000);
    expect(lease.holds).toBe(true);
    // Every half second (a quarter TTL when shorter).
    expect(state.renewalsSent).toBeGreaterThanOrEqual(59);
    expect(state.renewalsSent).toBeLessThanOrEqual(61);
    await lease.revoke();
  });

  it('stops holding before etcd can expire the lease, and says so once, when renewals go unanswered', async () => {
    const { clock, state, lease, lost } = await grantedLease();
    await clock.advance(2_000);
    state.answering = false;
    const etcdExpiresAt = state.expiresAt;
    let fencedAt: number | undefined;
    while (clock.now() < etcdExpiresAt + 1_000) {
      await clock.advance(10);
      if (fencedAt === undefined && !lease.holds) fencedAt = clock.now();
    }
    expect(fencedAt).toBeDefined();
    // The fence closes at least the margin (half a second, less the 100 ms check) before etcd could hand the meetings on.
    expect(etcdExpiresAt - fencedAt!).toBeGreaterThanOrEqual(400);
    expect(lost).toHaveLength(1);
    // Meanwhile a fresh renewal went out every 250 ms, without waiting for the unanswered ones (at most four in flight).
    expect(state.renewalsSent).toBeGreaterThan(4);
    lease.drop();
  });

  it('survives a leader election: renewals that fail for a second and a half, then are answered, keep the lease', async () => {
    const { clock, state, lease, lost } = await grantedLease();
    await clock.advance(1_000);
    state.answering = false;
    await clock.advance(1_500);
    expect(lease.holds).toBe(true);
    state.answering = true;
    await clock.advance(5_000);
    expect(lease.holds).toBe(true);
    expect(lost).toEqual([]);
    lease.drop();
  });
});
