import { EventEmitter } from 'node:events';
import type { Lease, Namespace } from 'etcd3';
import { BridgeError, errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import { systemClock, type Clock } from '../../util/clock.js';

/** A renewal not answered in this long is given up (another is under way by then). */
const MAX_RENEWAL_WAIT_MS = 1_000;
/** While renewals fail (etcd electing a leader, a member gone), one more is sent this often. */
const RENEWAL_RETRY_MS = 250;
const MAX_RENEWALS_IN_FLIGHT = 4;
/** How often ownership is checked and a renewal considered. */
const TICK_MS = 100;

/**
 * This process's etcd lease: every key that says "this process owns it" is attached to it, so etcd deletes them
 * all when the process stops renewing. Renewed here (not by the client's own loop) because the renewal's send time
 * is what bounds ownership: etcd counts the lease's life from when it received the renewal, which is after we sent
 * it, so `sentAt + TTL` is never later than etcd's expiry. `holds` turns false a margin before that (a quarter of
 * the TTL, at most half a second: checked every 100 ms, it leaves the fence 400 ms to spare): from then on the
 * process must not post a caption, since another process may take its meetings any moment.
 *
 * Renewals go every half second (a quarter TTL when shorter), and while they fail one more goes every 250 ms
 * without waiting for the last: when etcd loses its leader, the renewal that reaches the new one is a fresh one,
 * sent the moment it could be answered. So a leader election (one to two seconds) does not cost the lease.
 */
export class FleetLease extends EventEmitter<{ lost: [why: string] }> {
  private lease: Lease | undefined;
  private validUntil = 0;
  private ticking: { stop(): void } | undefined;
  private lastAttemptAt = 0;
  private inFlight = 0;
  private lostSaid = false;
  private readonly ttlMs: number;
  private readonly marginMs: number;
  private readonly renewEveryMs: number;

  constructor(
    private readonly etcd: Pick<Namespace, 'lease'>,
    private readonly ttlSeconds: number,
    private readonly log: Logger,
    private readonly clock: Clock = systemClock,
  ) {
    super();
    this.ttlMs = ttlSeconds * 1000;
    this.marginMs = Math.min(this.ttlMs / 4, 500);
    this.renewEveryMs = Math.min(this.ttlMs / 4, 500);
  }

  /** Whether this process may still act as the owner of what the lease holds. */
  get holds(): boolean {
    return this.lease !== undefined && this.clock.now() < this.validUntil - this.marginMs;
  }

  /** etcd's id of the lease, for keys written in a transaction. */
  async id(): Promise<string> {
    return this.current().grant();
  }

  /** Writes a key that lives as long as the lease; etcd's revision of the write. */
  async put(key: string, value: string): Promise<string> {
    const { header } = await this.current().put(key).value(value);
    return header.revision;
  }

  /** A new lease (the old one, if any, is left to expire). Rejects when etcd cannot be reached. */
  async grant(): Promise<void> {
    this.stopTimers();
    const sentAt = this.clock.now();
    const lease = this.etcd.lease(this.ttlSeconds, { autoKeepAlive: false });
    // The client reports a failed grant both as a rejection and as 'lost'; the rejection is what we act on.
    lease.on('lost', () => undefined);
    await lease.grant();
    this.lease = lease;
    this.validUntil = sentAt + this.ttlMs;
    this.lastAttemptAt = sentAt;
    this.lostSaid = false;
    this.ticking = this.clock.every(TICK_MS, () => this.tick());
  }

  /** Lets go at once: etcd deletes every key the lease holds, and other processes see it now, not at expiry. */
  async revoke(): Promise<void> {
    this.stopTimers();
    const lease = this.lease;
    this.lease = undefined;
    this.validUntil = 0;
    await lease?.revoke({ deadline: new Date(Date.now() + 2_000) });
  }

  /** Stops renewing without telling etcd (the lease expires by itself): for a process that cannot reach etcd. */
  drop(): void {
    this.stopTimers();
    this.lease?.release();
    this.lease = undefined;
    this.validUntil = 0;
  }

  private current(): Lease {
    if (!this.lease) throw new BridgeError('FLEET_NOT_MEMBER', 'this process holds no etcd lease now');
    return this.lease;
  }

  private tick(): void {
    this.checkHeld();
    const now = this.clock.now();
    const lastRenewedAt = this.validUntil - this.ttlMs;
    const due = now - lastRenewedAt >= this.renewEveryMs && now - this.lastAttemptAt >= Math.min(RENEWAL_RETRY_MS, this.renewEveryMs);
    if (due && this.inFlight < MAX_RENEWALS_IN_FLIGHT) void this.renew();
  }

  private async renew(): Promise<void> {
    const lease = this.lease;
    if (!lease) return;
    const sentAt = this.clock.now();
    this.lastAttemptAt = sentAt;
    this.inFlight += 1;
    try {
      const answer = await lease.keepaliveOnce({ deadline: new Date(Date.now() + MAX_RENEWAL_WAIT_MS) });
      const ttl = Number(answer.TTL);
      if (lease === this.lease && ttl > 0) this.validUntil = Math.max(this.validUntil, sentAt + ttl * 1000);
    } catch (err) {
      if (lease === this.lease) this.log.warn({ err: errorMessage(err) }, 'etcd lease renewal failed');
    } finally {
      this.inFlight -= 1;
    }
  }

  private checkHeld(): void {
    if (this.lease === undefined || this.holds || this.lostSaid) return;
    this.lostSaid = true;
    this.emit('lost', `the etcd lease was not renewed for ${((this.clock.now() - (this.validUntil - this.ttlMs)) / 1000).toFixed(1)} s`);
  }

  private stopTimers(): void {
    this.ticking?.stop();
    this.ticking = undefined;
  }
}
