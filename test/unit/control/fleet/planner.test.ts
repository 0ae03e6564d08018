import { describe, expect, it } from 'vitest';
import { FleetMirror } from '../../../../src/control/fleet/mirror.js';
import { planFleet, type Duty, type FleetSituation, type OwnedMeeting } from '../../../../src/control/fleet/planner.js';

/**
 * The races a fleet exists to win, each as the planner sees it: what etcd says (a mirror fed the entries a watch or
 * a full read would give) and what this process runs. No etcd, no clock: each case runs in a millisecond.
 */
let revision = 100n;
const at = (): bigint => ++revision;

function fleet(self = 'a') {
  const mirror = new FleetMirror();
  const put = (key: string, record: unknown, rev: bigint = at()): bigint => {
    mirror.put({ key, value: JSON.stringify(record), revision: rev });
    return rev;
  };
  const member = (name: string, accepting = true) => put(`members/${name}`, { name, accepting, since: 0 });
  const owner = (id: string, name: string) => put(`owners/${id}`, { owner: name, since: 0 });
  const want = (id: string, process: string) => put(`wants/${id}`, { process, at: 0 });
  const stream = (id: string, when: number) => put(`streams/${id}`, { what: 'interrupted', streamId: 's1', at: when });
  const owned = new Map<string, OwnedMeeting>();
  const run = (id: string, claimRevision: bigint, idle = false) => {
    owner(id, self);
    owned.set(id, { claimRevision, appliedStreamAt: 0, idle });
  };
  const situation = (over: Partial<FleetSituation> = {}): FleetSituation => ({
    self,
    mirror,
    desired: new Set(['m1', 'm2', 'm3', 'm4']),
    owned,
    underway: new Map<string, Duty>(),
    waiting: new Map(),
    hasCapacity: true,
    announced: true,
    member: true,
    stopping: false,
    ...over,
  });
  member(self);
  return { mirror, put, member, owner, want, stream, owned, run, plan: (over?: Partial<FleetSituation>) => planFleet(situation(over)) };
}

const claims = (actions: ReturnType<typeof planFleet>): string[] => actions.flatMap((a) => (a.do === 'claim' ? [a.id] : []));

describe('the fleet planner: who runs which meeting', () => {
  it('members that claim at the same moment start from different meetings, one meeting per pass', () => {
    const a = fleet('a');
    const b = fleet('b');
    a.member('b');
    b.member('a');
    const [fromA] = claims(a.plan());
    const [fromB] = claims(b.plan());
    expect(claims(a.plan())).toHaveLength(1);
    expect(fromA).toBeDefined();
    expect(fromB).toBeDefined();
    expect(fromA).not.toBe(fromB);
  });

  it('spreads: a process owning more than another accepting member claims nothing; a member not accepting does not count', () => {
    const a = fleet('a');
    a.member('b');
    a.run('m1', at());
    expect(claims(a.plan())).toEqual([]);
    a.member('b', false);
    expect(claims(a.plan())).toHaveLength(1);
  });

  it('a process without capacity claims nothing and tells the fleet so', () => {
    const a = fleet('a');
    const actions = a.plan({ hasCapacity: false });
    expect(claims(actions)).toEqual([]);
    expect(actions).toContainEqual({ do: 'announce', accepting: false });
  });

  it('a claim under way is not planned twice, and counts as this process\'s own', () => {
    const a = fleet('a');
    a.member('b');
    const underway = new Map<string, Duty>([['m1', 'claiming']]);
    // b owns nothing, a is claiming one: a waits for the spread.
    expect(claims(a.plan({ underway }))).toEqual([]);
    a.member('b', false);
    expect(claims(a.plan({ underway }))).not.toContain('m1');
  });

  it('takeover: the owner\'s lease expired (its key deleted), the meeting is claimed, timed from the deletion', () => {
    const a = fleet('a');
    a.member('b');
    a.owner('m1', 'b');
    for (const id of ['m2', 'm3', 'm4']) a.owner(id, 'c');
    expect(claims(a.plan())).toEqual([]);
    a.mirror.delete('owners/m1', at(), 5_000);
    expect(claims(a.plan())).toEqual(['m1']);
    expect(a.mirror.ownerGoneAt.get('m1')).toBe(5_000);
  });

  it('a deletion a reconnected watch replays after this process claimed the meeting again does not stop it', () => {
    const a = fleet('a');
    const expiredAt = at();
    a.mirror.read([], at(), 0);
    const claimedAt = at();
    a.run('m1', claimedAt);
    // The watch replays the old owner's expiry and this process's own claim.
    expect(a.mirror.delete('owners/m1', expiredAt, 0)).toBeUndefined();
    expect(a.mirror.put({ key: 'owners/m1', value: JSON.stringify({ owner: 'a', since: 0 }), revision: claimedAt })).toBeUndefined();
    expect(a.plan().filter((x) => x.do === 'lose')).toEqual([]);
  });

  it('etcd names another process, or the claim is deleted: the meeting stops here at once, posting nothing', () => {
    const a = fleet('a');
    a.run('m1', at());
    a.run('m2', at());
    a.owner('m1', 'b');
    a.mirror.delete('owners/m2', at(), 0);
    const lost = a.plan().filter((x) => x.do === 'lose');
    expect(lost).toEqual([
      { do: 'lose', id: 'm1', why: 'etcd names b as its owner' },
      { do: 'lose', id: 'm2', why: 'its claim was deleted from etcd' },
    ]);
  });

  it('a full read that misses a claim this process wrote after it does not stop the meeting', () => {
    const a = fleet('a');
    const readAt = at();
    a.run('m1', at());
    const changes = a.mirror.read([{ key: 'members/a', value: JSON.stringify({ name: 'a', accepting: true, since: 0 }), revision: 1n }], readAt, 0);
    expect(changes.filter((c) => c.kind === 'owners')).toEqual([]);
    expect(a.plan().filter((x) => x.do === 'lose')).toEqual([]);
  });

  it('newest publisher: a request written elsewhere after this process claimed hands the meeting off; one older than the claim is old news', () => {
    const a = fleet('a');
    a.member('b');
    const olderWant = at();
    a.run('m1', at());
    a.put('wants/m1', { process: 'b', at: 0 }, olderWant);
    expect(a.plan().filter((x) => x.do === 'hand-off')).toEqual([]);
    a.want('m1', 'b');
    expect(a.plan()).toContainEqual({ do: 'hand-off', id: 'm1', to: 'b' });
    // While it is being let go, nothing more is planned for it; a stopping process does not hand off.
    expect(a.plan({ underway: new Map([['m1', 'leaving']]) }).filter((x) => 'id' in x && x.id === 'm1')).toEqual([]);
    expect(a.plan({ stopping: true }).filter((x) => x.do === 'hand-off')).toEqual([]);
  });

  it('publishers waiting here give up when a newer one asked elsewhere; one that asked after it stays', () => {
    const a = fleet('a');
    const mine = at();
    const theirs = a.want('m1', 'b');
    const later = at();
    expect(a.plan({ waiting: new Map([['m1', [mine, later]]]) })).toContainEqual({ do: 'refuse-waiters', id: 'm1', before: theirs, to: 'b' });
    expect(a.plan({ waiting: new Map([['m1', [later]]]) }).filter((x) => x.do === 'refuse-waiters')).toEqual([]);
  });

  it('a meeting a publisher here waits for is claimed the moment it is free, whatever the spread', () => {
    const a = fleet('a');
    a.member('b');
    a.run('m2', at());
    a.run('m3', at());
    const waiting = new Map([['m1', [a.want('m1', 'a')]]]);
    a.owner('m1', 'b');
    expect(claims(a.plan({ waiting }))).toEqual([]);
    a.mirror.delete('owners/m1', at(), 0);
    expect(claims(a.plan({ waiting }))).toEqual(['m1']);
  });

  it('a meeting a live member asked for is left to it; a request from a member that is gone is not', () => {
    const a = fleet('a');
    a.member('b', false);
    for (const id of ['m2', 'm3', 'm4']) a.owner(id, 'c');
    a.want('m1', 'b');
    expect(claims(a.plan())).toEqual([]);
    a.mirror.delete('members/b', at(), 0);
    expect(claims(a.plan())).toEqual(['m1']);
  });

  it('a claim in this process\'s name that it does not run is released, so the meeting is not left owned and silent', () => {
    const a = fleet('a');
    a.owner('m1', 'a');
    expect(a.plan()).toContainEqual({ do: 'release', id: 'm1' });
    expect(a.plan({ underway: new Map([['m1', 'claiming']]) })).not.toContainEqual({ do: 'release', id: 'm1' });
  });

  it('what Zoom said of a stream is applied once per record, newest only', () => {
    const a = fleet('a');
    a.run('m1', at());
    a.stream('m1', 2_000);
    const applied = a.plan().filter((x) => x.do === 'apply-stream');
    expect(applied).toHaveLength(1);
    a.owned.set('m1', { ...a.owned.get('m1')!, appliedStreamAt: 2_000 });
    expect(a.plan().filter((x) => x.do === 'apply-stream')).toEqual([]);
  });

  it('a meeting the fleet no longer runs (config changed, account meeting ended) is let go', () => {
    const a = fleet('a');
    a.run('m9', at());
    expect(a.plan()).toContainEqual({ do: 'let-go', id: 'm9', why: 'the fleet no longer runs it' });
  });

  it('evens out: owning two more than the lightest member, one idle meeting is handed to the fleet; a captioned one stays', () => {
    const a = fleet('a');
    a.member('b');
    a.run('m1', at(), false);
    a.run('m2', at(), true);
    a.run('m3', at(), true);
    a.run('m4', at(), false);
    const handed = a.plan().filter((x) => x.do === 'let-go');
    expect(handed).toHaveLength(1);
    expect(['m2', 'm3']).toContain((handed[0] as { id: string }).id);
    expect(a.plan({ underway: new Map([['m2', 'leaving']]) }).filter((x) => x.do === 'let-go')).toEqual([]);
    // b owns three: four is not two more.
    for (const id of ['b1', 'b2', 'b3']) a.owner(id, 'b');
    expect(a.plan().filter((x) => x.do === 'let-go')).toEqual([]);
  });

  it('never hands over the meeting a publisher here came for, though it is ready and not yet streaming', () => {
    const a = fleet('a');
    a.member('b');
    for (const id of ['m1', 'm2', 'm3']) a.run(id, at(), false);
    a.run('m4', at(), true);
    // m4 is idle: the one handed to b, which owns nothing...
    expect(a.plan().filter((x) => x.do === 'let-go')).toEqual([{ do: 'let-go', id: 'm4', why: 'handing an idle meeting to a process that owns fewer' }]);
    // ...unless a publisher here waits for it, or this process's request for it is still in etcd.
    expect(a.plan({ waiting: new Map([['m4', [at()]]]) }).filter((x) => x.do === 'let-go')).toEqual([]);
    a.want('m4', 'a');
    expect(a.plan().filter((x) => x.do === 'let-go')).toEqual([]);
  });

  it('a process that is not a member (lease not held) or is leaving claims and announces nothing, but still stops what it lost', () => {
    const a = fleet('a');
    a.run('m1', at());
    a.owner('m1', 'b');
    for (const over of [{ member: false }, { stopping: true }]) {
      const actions = a.plan({ ...over, announced: undefined });
      expect(actions.map((x) => x.do)).toEqual(['lose']);
    }
  });
});

describe('the fleet mirror: what etcd says, as of which revision', () => {
  it('a record that does not parse is said once, and the one it replaced is not trusted', () => {
    const mirror = new FleetMirror();
    mirror.put({ key: 'owners/m1', value: JSON.stringify({ owner: 'a', since: 0 }), revision: 1n });
    expect(mirror.put({ key: 'owners/m1', value: '{"owner":', revision: 2n })).toEqual({ kind: 'owners', name: 'm1', problem: 'not JSON' });
    expect(mirror.owners.has('m1')).toBe(false);
    mirror.read([{ key: 'owners/m1', value: '{"owner":', revision: 2n }], 3n, 0);
    expect(mirror.put({ key: 'owners/m1', value: '{"owner":', revision: 2n })).toBeUndefined();
  });

  it('a full read removes what it does not return, unless written after the read, and reports notices only as news', () => {
    const mirror = new FleetMirror();
    mirror.put({ key: 'members/a', value: JSON.stringify({ name: 'a', accepting: true, since: 0 }), revision: 1n });
    mirror.put({ key: 'members/b', value: JSON.stringify({ name: 'b', accepting: true, since: 0 }), revision: 12n });
    const changes = mirror.read([{ key: 'notices/m1', value: JSON.stringify({ what: 'ended', at: 0 }), revision: 5n }], 10n, 0);
    expect(changes).toEqual([{ kind: 'members', name: 'a', gone: true }]);
    expect([...mirror.members.keys()]).toEqual(['b']);
    expect(mirror.put({ key: 'notices/m1', value: JSON.stringify({ what: 'started', at: 0 }), revision: 13n })).toEqual({ kind: 'notices', name: 'm1', notice: { what: 'started', at: 0 } });
  });

  it('a member record whose url is not a bare origin is not trusted (it would steer readers\' tokens)', () => {
    const mirror = new FleetMirror();
    const change = mirror.put({ key: 'members/x', value: JSON.stringify({ name: 'x', url: 'http://evil.example/steal?', accepting: true, since: 0 }), revision: 1n });
    expect(change).toMatchObject({ kind: 'members', name: 'x' });
    expect(change && 'problem' in change).toBe(true);
    expect(mirror.members.has('x')).toBe(false);
  });
});
