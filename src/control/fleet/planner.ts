import { createHash } from 'node:crypto';
import type { FleetMirror } from './mirror.js';
import type { StreamRecord } from './records.js';

/** A meeting this process runs as its owner. */
export interface OwnedMeeting {
  /** etcd's revision of this process's claim: a request for the meeting older than it is old news. */
  claimRevision: bigint;
  /** When the stream record last applied to it was written (records carry their writer's `at`). */
  appliedStreamAt: number;
  /** Running with no stream under way: it can move to another process without a gap for readers. */
  idle: boolean;
}

/** An etcd operation of this process on a meeting, under way: the planner does not start another on it. */
export type Duty = 'claiming' | 'releasing' | 'leaving';

/** Claims under way: meetings this process is about to own, counted as its own (capacity, the spread). */
export function claimsUnderway(underway: ReadonlyMap<string, Duty>): number {
  return [...underway.values()].filter((duty) => duty === 'claiming').length;
}

/** Everything the planner decides from: what etcd says, and what this process runs and is doing. */
export interface FleetSituation {
  self: string;
  mirror: Pick<FleetMirror, 'members' | 'owners' | 'streams' | 'wants'>;
  /** The meetings the fleet runs: the config's and the account's runtime meetings. */
  desired: ReadonlySet<string>;
  owned: ReadonlyMap<string, OwnedMeeting>;
  underway: ReadonlyMap<string, Duty>;
  /** Publishers waiting here for their meeting: the etcd revision of each one's request (undefined until written). */
  waiting: ReadonlyMap<string, readonly (bigint | undefined)[]>;
  /** Below fleet.maxMeetings and not short of CPU. */
  hasCapacity: boolean;
  /** What this process last told the fleet about taking meetings (undefined: nothing yet under this lease). */
  announced: boolean | undefined;
  /** Joined, and the lease still holds: it may claim. */
  member: boolean;
  stopping: boolean;
}

export type FleetAction =
  /** Tell the fleet whether this process takes meetings. */
  | { do: 'announce'; accepting: boolean }
  /** etcd no longer names this process: stop the meeting at once, posting nothing (another may own it now). */
  | { do: 'lose'; id: string; why: string }
  /** etcd names this process for a meeting it does not run: delete that claim so the meeting is not left silent. */
  | { do: 'release'; id: string }
  | { do: 'claim'; id: string; for: 'publisher' | 'spread' }
  /** Flush the meeting's last captions, then delete the claim. */
  | { do: 'let-go'; id: string; why: string }
  /** A newer publisher reached another process: tell this one's publisher, then let go. */
  | { do: 'hand-off'; id: string; to: string }
  /** Carry out what Zoom last said of the meeting's RTMS stream. */
  | { do: 'apply-stream'; id: string; record: StreamRecord }
  /** Publishers waiting here that asked before `before`: a newer one reached `to`; they give up. */
  | { do: 'refuse-waiters'; id: string; before: bigint; to: string };

/**
 * What this process should do now, given what etcd says and what it runs. Synchronous and pure: the shell (Fleet)
 * calls it after every change and every second, and carries the actions out in order. Level-triggered, as a
 * controller is: the same situation gives the same actions, so a missed or replayed event costs nothing once the
 * mirror is right, and an action under way (`underway`) is not planned twice.
 *
 * Rules, in order:
 * 1. A meeting run here that etcd no longer names this process for is lost (stopped without a last POST).
 * 2. A meeting run here that the fleet no longer runs is let go; one a newer publisher reached elsewhere for is handed off.
 * 3. A stream record newer than the one applied is applied.
 * 4. Publishers waiting here give up when a newer one asked elsewhere.
 * Then, only as a member: announce; release claims in this process's name it does not run; claim the meetings
 * publishers here wait for; claim one unowned meeting when this process has capacity and owns no more than any
 * accepting member (members that claim at once start from different meetings); or, owning two more than the
 * lightest, hand an idle meeting to the fleet.
 */
export function planFleet(s: FleetSituation): FleetAction[] {
  const { self, mirror } = s;
  const actions: FleetAction[] = [];
  for (const [id, meeting] of s.owned) {
    const owner = mirror.owners.get(id)?.owner;
    if (owner !== self) {
      actions.push({ do: 'lose', id, why: owner === undefined ? 'its claim was deleted from etcd' : `etcd names ${owner} as its owner` });
      continue;
    }
    if (s.underway.has(id)) continue;
    const want = mirror.wants.get(id);
    if (!s.desired.has(id)) actions.push({ do: 'let-go', id, why: 'the fleet no longer runs it' });
    else if (want && want.record.process !== self && want.revision >= meeting.claimRevision && !s.stopping) actions.push({ do: 'hand-off', id, to: want.record.process });
    else {
      const stream = mirror.streams.get(id);
      if (stream && stream.at > meeting.appliedStreamAt) actions.push({ do: 'apply-stream', id, record: stream });
    }
  }
  for (const [id, revisions] of s.waiting) {
    const want = mirror.wants.get(id);
    if (want && want.record.process !== self && revisions.some((r) => r !== undefined && r < want.revision)) actions.push({ do: 'refuse-waiters', id, before: want.revision, to: want.record.process });
  }
  if (!s.member || s.stopping) return actions;

  if (s.announced !== s.hasCapacity) actions.push({ do: 'announce', accepting: s.hasCapacity });
  for (const [id, { owner }] of mirror.owners) if (owner === self && !s.owned.has(id) && !s.underway.has(id)) actions.push({ do: 'release', id });

  const forPublishers = [...s.waiting.keys()].filter((id) => !mirror.owners.has(id) && !s.underway.has(id) && mirror.wants.get(id)?.record.process === self);
  // Each is claimed the moment it is free, whatever the spread; the spread is planned again once they are.
  if (forPublishers.length > 0) return [...actions, ...forPublishers.map((id): FleetAction => ({ do: 'claim', id, for: 'publisher' }))];

  const mine = s.owned.size + claimsUnderway(s.underway);
  const loads = new Map<string, number>();
  for (const { owner } of mirror.owners.values()) loads.set(owner, (loads.get(owner) ?? 0) + 1);
  const others = [...mirror.members.values()].filter((m) => m.name !== self && m.accepting).map((m) => loads.get(m.name) ?? 0);
  const wantedElsewhere = (id: string): boolean => {
    const want = mirror.wants.get(id)?.record.process;
    return want !== undefined && want !== self && mirror.members.has(want);
  };
  const unowned = [...s.desired].filter((id) => !mirror.owners.has(id) && !s.underway.has(id) && !wantedElsewhere(id));
  if (unowned.length === 0 || !s.hasCapacity) return [...actions, ...evenOut(s, mine, others)];
  if (others.some((load) => load < mine)) return actions;
  const rank = (id: string): string => createHash('sha1').update(`${self}/${id}`).digest('hex');
  const [next] = unowned.sort((a, b) => (rank(a) < rank(b) ? -1 : 1));
  return [...actions, { do: 'claim', id: next!, for: 'spread' }];
}

/**
 * A process that started first (or stayed when others restarted) owns more than its share: it hands a meeting that
 * has no stream under way to the fleet, where the lightest process takes it, one at a time. A meeting being
 * captioned stays where it is: moving it would cost its readers a gap; so does one a publisher here came for (its
 * stream starts a moment after the meeting is ready here).
 */
function evenOut(s: FleetSituation, mine: number, others: number[]): FleetAction[] {
  if (others.length === 0 || mine < Math.min(...others) + 2 || [...s.underway.values()].includes('leaving')) return [];
  // A meeting a publisher here waits for, or asked for, is about to stream: it is not idle, whatever its state says.
  const askedHere = (id: string): boolean => s.waiting.has(id) || s.mirror.wants.get(id)?.record.process === s.self;
  const idle = [...s.owned].find(([id, meeting]) => meeting.idle && !s.underway.has(id) && !askedHere(id));
  return idle ? [{ do: 'let-go', id: idle[0], why: 'handing an idle meeting to a process that owns fewer' }] : [];
}
