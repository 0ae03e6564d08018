import { BridgeError } from '../../errors.js';
import type { StreamTarget } from '../../ingest/target.js';

interface Waiter {
  /** etcd's revision of this publisher's request, once written. */
  wantRevision?: bigint;
  settle(outcome: StreamTarget | Error): void;
}

/**
 * Publishers of pushed audio waiting in this process for their meeting to run here (Fleet.takeStream): each is
 * settled with the meeting once it does, with an error when a newer publisher asked elsewhere or this process
 * leaves, or by its own deadline.
 */
export class WaitingPublishers {
  private readonly byMeeting = new Map<string, Waiter[]>();

  /** One more publisher waits for `meetingId`, at most `waitMs`; `asked` is told the revision of its request. */
  add(meetingId: string, waitMs: number): { arrived: Promise<StreamTarget>; asked(revision: bigint): void } {
    const waiter: Waiter = { settle: () => undefined };
    const arrived = new Promise<StreamTarget>((resolve, reject) => {
      const timer = setTimeout(() => waiter.settle(new BridgeError('FLEET_TAKE_FAILED', `meeting "${meetingId}" did not come to this process within ${waitMs / 1000} s`)), waitMs);
      waiter.settle = (outcome) => {
        clearTimeout(timer);
        const left = (this.byMeeting.get(meetingId) ?? []).filter((w) => w !== waiter);
        if (left.length > 0) this.byMeeting.set(meetingId, left);
        else this.byMeeting.delete(meetingId);
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
    });
    this.byMeeting.set(meetingId, [...(this.byMeeting.get(meetingId) ?? []), waiter]);
    return { arrived, asked: (revision) => (waiter.wantRevision = revision) };
  }

  has(meetingId: string): boolean {
    return this.byMeeting.has(meetingId);
  }

  /** For the planner: each meeting waited for, and the revisions of its publishers' requests. */
  revisions(): Map<string, (bigint | undefined)[]> {
    return new Map([...this.byMeeting].map(([id, waiters]) => [id, waiters.map((w) => w.wantRevision)]));
  }

  /** Settles the publishers waiting for a meeting (only those that asked before `revision`, when given). */
  settle(meetingId: string, outcome: StreamTarget | Error, revision?: bigint): void {
    for (const waiter of [...(this.byMeeting.get(meetingId) ?? [])]) {
      if (revision === undefined || (waiter.wantRevision !== undefined && waiter.wantRevision < revision)) waiter.settle(outcome);
    }
  }

  /** Every waiting publisher gets `err` (this process leaves the fleet, or lost touch with etcd). */
  refuseAll(err: Error): void {
    for (const meetingId of [...this.byMeeting.keys()]) this.settle(meetingId, err);
  }
}
