import { EventEmitter } from 'node:events';
import type { Lease, Namespace } from 'etcd3';
import { BridgeError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';

/**
 * This process's etcd lease: every key that says "this process owns it" is attached to it, so etcd deletes them
 * all when the process stops renewing. Renewed here (not by the client's own loop) because the renewal's send time
 * is what bounds ownership: etcd counts the lease's life from when it received the renewal, which is after we sent
 * it, so `sentAt + TTL` is never later than etcd's expiry. `holds` turns false a quarter of the TTL before that:
 * from then on the process must not post a caption, since another process may take its meetings any moment.
 */
export class FleetLease extends EventEmitter<{ lost: [why: string] }> {
  private lease: Lease | undefined;
  private validUntil = 0;
  private renewing = false;
  private renewTimer: NodeJS.Timeout | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private lostSaid = false;
  private readonly ttlMs: number;
  private readonly marginMs: number;

  constructor(
    private readonly etcd: Namespace,
    private readonly ttlSeconds: number,
    private readonly log: Logger,
  ) {
    super();
    this.ttlMs = ttlSeconds * 1000;
    this.marginMs = this.ttlMs / 4;
  }

  /** Whether this process may still act as the owner of what the lease holds. */
  get holds(): boolean {
    return this.lease !== undefined && Date.now() < this.validUntil - this.marginMs;
  }

  /** etcd's id of the lease, for keys written in a transaction. */
  async id(): Promise<string> {
    return this.current().grant();
  }

  /** Writes a key that lives as long as the lease. */
  async put(key: string, value: string): Promise<void> {
    await this.current().put(key).value(value);
  }

  /** A new lease (the old one, if any, is left to expire). Rejects when etcd cannot be reached. */
  async grant(): Promise<void> {
    this.stopTimers();
    const sentAt = Date.now();
    const lease = this.etcd.lease(this.ttlSeconds, { autoKeepAlive: false });
    // The client reports a failed grant both as a rejection and as 'lost'; the rejection is what we act on.
    lease.on('lost', () => undefined);
    await lease.grant();
    this.lease = lease;
    this.validUntil = sentAt + this.ttlMs;
    this.lostSaid = false;
    this.renewTimer = setInterval(() => void this.renew(), this.ttlMs / 4);
    this.watchTimer = setInterval(() => this.checkHeld(), Math.min(200, this.marginMs / 2));
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

  private async renew(): Promise<void> {
    if (this.renewing || !this.lease) return;
    this.renewing = true;
    const lease = this.lease;
    const sentAt = Date.now();
    try {
      const answer = await lease.keepaliveOnce({ deadline: new Date(sentAt + this.ttlMs / 2) });
      const ttl = Number(answer.TTL);
      if (lease === this.lease && ttl > 0) this.validUntil = Math.max(this.validUntil, sentAt + ttl * 1000);
    } catch (err) {
      if (lease === this.lease) this.log.warn({ err: errorMessage(err) }, 'etcd lease renewal failed');
    } finally {
      this.renewing = false;
    }
    this.checkHeld();
  }

  private checkHeld(): void {
    if (this.lease === undefined || this.holds || this.lostSaid) return;
    this.lostSaid = true;
    this.emit('lost', `the etcd lease was not renewed for ${((Date.now() - (this.validUntil - this.ttlMs)) / 1000).toFixed(1)} s`);
  }

  private stopTimers(): void {
    clearInterval(this.renewTimer);
    clearInterval(this.watchTimer);
  }
}
