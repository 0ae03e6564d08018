import type { Namespace } from 'etcd3';
import type { FeedCaption, FeedHistory } from '../../caption/caption-feed.js';
import { readFeedLines } from '../../caption/feed-history.js';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import { signatureKey } from '../../zoom-api/seen-signatures.js';
import { WEBHOOK_WINDOW_MS, type SeenSignatures } from '../../zoom-api/webhook.js';

/**
 * A lease that keys are written under to expire on their own, whoever wrote them and whether or not that process
 * lives: never kept alive, replaced by a fresh one every `rotateSeconds`, so a key lives between `ttlSeconds -
 * rotateSeconds` and `ttlSeconds`.
 */
export class ExpiringLease {
  private current: { id: Promise<string>; grantedAt: number } | undefined;

  constructor(
    private readonly etcd: Namespace,
    private readonly ttlSeconds: number,
    private readonly rotateSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  id(): Promise<string> {
    if (!this.current || this.now() - this.current.grantedAt >= this.rotateSeconds * 1000) {
      const lease = this.etcd.lease(this.ttlSeconds, { autoKeepAlive: false });
      // A lease never kept alive still has its client-side handlers: errors are the caller's through grant().
      lease.on('lost', () => undefined);
      const id = lease.grant();
      this.current = { id, grantedAt: this.now() };
      id.catch(() => {
        if (this.current?.id === id) this.current = undefined;
      });
    }
    return this.current.id;
  }
}

/** How long a caption page's history outlives its last caption in etcd. */
const HISTORY_TTL_SECONDS = 24 * 3600;
const HISTORY_ROTATE_SECONDS = 3600;
/** A caption's key sorts by seq: feeds/<meeting>/<seq, 12 digits>. */
const seqKey = (meetingId: string, seq: number): string => `feeds/${meetingId}/${String(seq).padStart(12, '0')}`;

/**
 * A caption page's history in etcd, for a fleet: a meeting that moves to another process (its owner lost, a
 * publisher elsewhere, a restart) goes on with the numbering and the scroll-back there. One small key per caption,
 * written once, expiring a day after (HISTORY_TTL_SECONDS).
 */
export class EtcdFeedHistory implements FeedHistory {
  private writing: Promise<void> = Promise.resolve();
  private failedSaid = false;

  constructor(
    private readonly etcd: Namespace,
    private readonly lease: ExpiringLease,
    private readonly meetingId: string,
    private readonly log: Logger,
  ) {}

  static leaseFor(etcd: Namespace): ExpiringLease {
    return new ExpiringLease(etcd, HISTORY_TTL_SECONDS, HISTORY_ROTATE_SECONDS);
  }

  async load(keep: number): Promise<FeedCaption[]> {
    try {
      const values = await this.etcd.getAll().prefix(`feeds/${this.meetingId}/`).sort('Key', 'Descend').limit(keep).strings();
      return readFeedLines(Object.values(values), keep);
    } catch (err) {
      this.log.warn({ meeting: this.meetingId, err: errorMessage(err) }, 'caption page history unreadable in etcd: its numbering starts again');
      return [];
    }
  }

  append(caption: FeedCaption): Promise<void> {
    this.writing = this.writing.then(async () => {
      try {
        await this.etcd.put(seqKey(this.meetingId, caption.seq)).value(JSON.stringify(caption)).lease(await this.lease.id());
        this.failedSaid = false;
      } catch (err) {
        if (!this.failedSaid) this.log.warn({ meeting: this.meetingId, err: errorMessage(err) }, 'caption page history not written to etcd: a move would lose these captions from the page');
        this.failedSaid = true;
      }
    });
    return this.writing;
  }

  close(): Promise<void> {
    return this.writing;
  }
}

/**
 * Webhook signatures seen by any process of the fleet: the first to write one (create-if-absent) accepts the
 * webhook, a replay that reaches another process is refused there too. Keys expire after the window and a margin.
 */
export class EtcdSeenSignatures implements SeenSignatures {
  private readonly lease: ExpiringLease;

  constructor(
    private readonly etcd: Namespace,
    private readonly log: Logger,
  ) {
    this.lease = new ExpiringLease(etcd, (2 * WEBHOOK_WINDOW_MS) / 1000, WEBHOOK_WINDOW_MS / 2000);
  }

  async firstTime(signature: string, sentAt: number): Promise<boolean | undefined> {
    const key = `webhooks-seen/${signatureKey(signature)}`;
    try {
      const lease = await this.lease.id();
      const { succeeded } = await this.etcd.if(key, 'Create', '==', 0).then(this.etcd.put(key).value(String(sentAt)).lease(lease)).commit();
      return succeeded;
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'etcd cannot say whether another process had this webhook: this process\'s record decides');
      return undefined;
    }
  }
}
