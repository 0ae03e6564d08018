import { EventEmitter } from 'node:events';
import type { Etcd3 } from 'etcd3';
import { runtimeMeetingId, type MeetingConfig } from '../../config/schema.js';
import { BridgeError, errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { BridgeMetrics } from '../../metrics.js';
import type { AccountMeetings } from '../account-meetings.js';
import { capacityOf, type ProcessLoad } from '../capacity.js';
import type { MeetingHost, RtmsSignal } from '../meeting-host.js';
import type { MeetingRegistry } from '../registry.js';
import type { RunningMeeting } from '../running-meeting.js';
import type { StreamTarget } from '../../ingest/target.js';
import { Backoff, pause } from '../../util/backoff.js';
import type { ZoomTarget } from '../../zoom-api/target.js';
import { FleetLease } from './lease.js';
import { FleetMirror, type MirrorChange } from './mirror.js';
import type { FleetOptions } from './options.js';
import { claimsUnderway, planFleet, type Duty, type FleetAction, type OwnedMeeting } from './planner.js';
import { KEYS, type MemberRecord, type OwnerRecord, type RuntimeRecord, type WantRecord } from './records.js';
import { etcdFleetStore, type FleetStore, type MemberLease } from './store.js';
import { WaitingPublishers } from './waiting-publishers.js';

export interface FleetDeps {
  options: FleetOptions;
  /** Where the fleet's records are read and written (etcdFleetStore), and this process's lease in it. */
  store: FleetStore;
  lease: MemberLease;
  registry: MeetingRegistry;
  /** How loaded this process is: a process short of CPU claims no more meetings. */
  load: ProcessLoad;
  /** The meetings the config lists (every process of the fleet has the same config). */
  configured: () => readonly MeetingConfig[];
  /** The account template, when the config has one: it makes and admits runtime meetings. */
  account: AccountMeetings | undefined;
  metrics: BridgeMetrics;
  log: Logger;
  now?: () => number;
}

/**
 * A meeting's caption page served by another process of the fleet: where that process is reached, and the page's
 * viewer token (undefined: public), from the config every process shares.
 */
export interface PageElsewhere {
  ownerUrl: string;
  token: string | undefined;
}

/** What /meetings says of the fleet: its processes, and every meeting with its owner. */
export interface FleetView {
  process: string;
  member: boolean;
  members: { name: string; url?: string; accepting: boolean; meetings: string[] }[];
  meetings: { id: string; owner?: string; runtime: boolean }[];
}

/** How often the fleet's state is read whole, besides the watch (a watch that missed something is corrected). */
const RESYNC_MS = 10_000;
const PLAN_EVERY_MS = 1_000;
/** A publisher waits for its meeting this long past a lease (its owner may have died and must expire first). */
const TAKE_SPARE_MS = 15_000;

/** A fleet on the process's etcd client, under the configured prefix. */
export function fleetOnEtcd(client: Etcd3, deps: Omit<FleetDeps, 'store' | 'lease'>): Fleet {
  const namespace = client.namespace(deps.options.etcd.prefix);
  const lease = new FleetLease(namespace, deps.options.leaseSeconds, deps.log);
  return new Fleet({ ...deps, store: etcdFleetStore(namespace), lease });
}

export interface FleetEvents {
  /** A newer publisher reached another process: this one's publisher of the meeting is told so and disconnected. */
  'replace-publisher': [meetingId: string, reason: string];
}

/**
 * This process as one member of a fleet sharing etcd. Every meeting (listed in the config, or made at runtime from
 * the account template) has one owner at a time: the process whose lease holds owners/<meeting>. Three parts:
 * FleetMirror records what etcd says, planFleet decides (claim, release, lose, let go, hand off, apply a stream),
 * and this shell carries the actions out against the store and the registry, and tells the planner what is under
 * way. Whichever process a webhook reaches writes it to etcd (this class as a MeetingHost); the owner carries it out.
 *
 * Never two writers to one Caption URL: a process whose lease it could not renew stops posting (FleetLease.holds)
 * before etcd can expire the lease and hand the meeting to another; the taker resumes at Zoom's GET seq.
 */
export class Fleet extends EventEmitter<FleetEvents> implements MeetingHost {
  private readonly mirror = new FleetMirror();
  private readonly name: string;
  private readonly now: () => number;
  private readonly owned = new Map<string, { claimRevision: bigint; appliedStreamAt: number }>();
  private readonly underway = new Map<string, Duty>();
  private readonly arriving = new WaitingPublishers();
  private watch: { cancel(): Promise<void> } | undefined;
  private joined = false;
  private announced: boolean | undefined;
  private announcing = false;
  private stopping: Promise<void> | undefined;
  private planTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private joining: Promise<void> | undefined;
  /** Aborted by stop(): a join waiting for etcd gives up. */
  private readonly leaving = new AbortController();

  constructor(private readonly deps: FleetDeps) {
    super();
    this.name = deps.options.name;
    this.now = deps.now ?? Date.now;
    deps.lease.on('lost', (why) => void this.leaseLost(why));
  }

  /** Joins the fleet in the background (etcd may not be up yet); /readyz says not ready until it has. */
  start(): void {
    this.joinInBackground();
    this.planTimer = setInterval(() => this.act(), PLAN_EVERY_MS);
    this.resyncTimer = setInterval(() => void this.resync().catch(() => undefined), RESYNC_MS);
  }

  /** Why this process takes no meetings now (for /readyz), or undefined. */
  problem(): string | undefined {
    if (this.stopping) return 'leaving the fleet';
    if (!this.member) return 'not a fleet member: etcd cannot be reached';
    return undefined;
  }

  view(): FleetView {
    const { members, owners, runtime } = this.mirror;
    const byOwner = new Map<string, string[]>();
    for (const [id, { owner }] of owners) byOwner.set(owner, [...(byOwner.get(owner) ?? []), id]);
    const ids = new Set([...this.desired().keys(), ...owners.keys()]);
    return {
      process: this.name,
      member: this.member,
      members: [...members.values()].map((m) => ({ name: m.name, url: m.url, accepting: m.accepting, meetings: byOwner.get(m.name) ?? [] })),
      meetings: [...ids].sort().map((id) => ({ id, owner: owners.get(id)?.owner, runtime: runtime.has(id) })),
    };
  }

  /**
   * A meeting another member runs and whose captions include a page: where that member is reached and the page's
   * viewer token. Undefined when it runs here, nobody runs it, or its owner advertises no address.
   */
  pageElsewhere(id: string): PageElsewhere | undefined {
    const owner = this.mirror.owners.get(id)?.owner;
    const ownerUrl = owner === undefined || owner === this.name ? undefined : this.mirror.members.get(owner)?.url;
    const page = ownerUrl === undefined ? undefined : this.desired().get(id)?.captions.find((c) => c.page)?.page;
    return page && ownerUrl ? { ownerUrl, token: page.token } : undefined;
  }

  get process(): string {
    return this.name;
  }

  // MeetingHost: a webhook reached this process; what it says is written to etcd for the meeting's owner.

  meetings(): MeetingConfig[] {
    return [...this.desired().values()];
  }

  async take(target: ZoomTarget): Promise<string | undefined> {
    const id = runtimeMeetingId(target);
    if (this.desired().has(id)) return id;
    const account = this.deps.account;
    if (!account) return undefined;
    const refusal = await account.refusal(target, this.mirror.runtime.size);
    if (refusal) return void this.deps.log.info({ meeting: id }, `Zoom streams ${id} to the app, not captioned: ${refusal}`);
    const record: RuntimeRecord = { kind: target.kind, id: target.id, at: this.now() };
    const value = JSON.stringify(record);
    const revision = await this.deps.store.create(KEYS.meetings + id, value);
    if (revision !== undefined) this.known({ key: KEYS.meetings + id, value, revision });
    this.deps.log.info({ meeting: id }, 'account meeting added to the fleet: Zoom streams it to the app');
    return id;
  }

  async rtms(meetingId: string, signal: RtmsSignal): Promise<void> {
    if (signal.what === 'stopped' && !signal.restarts && this.mirror.runtime.has(meetingId)) return this.endRuntime(meetingId, signal.why);
    await this.deps.store.put(KEYS.streams + meetingId, JSON.stringify({ ...signal, at: this.now() }));
  }

  async zoomMeeting(meetingId: string, what: 'started' | 'ended'): Promise<void> {
    await this.deps.store.put(KEYS.notices + meetingId, JSON.stringify({ what, at: this.now() }));
    if (what === 'ended' && this.mirror.runtime.has(meetingId)) await this.endRuntime(meetingId, 'the Zoom meeting ended');
  }

  streamEnded(meetingId: string): void {
    if (this.mirror.runtime.has(meetingId)) void this.endRuntime(meetingId, 'its RTMS stream ended').catch((err: unknown) => this.deps.log.error({ meeting: meetingId, err: errorMessage(err) }, 'could not end the account meeting in etcd'));
  }

  /** Why a publisher that reached this process for a meeting not running here is refused now, or undefined. */
  publisherRefusal(meetingId: string): string | undefined {
    const problem = this.problem();
    if (problem) return problem;
    if (!this.owned.has(meetingId) && !this.hasCapacity()) return 'this process is full (fleet.maxMeetings, or its speech engine is behind): connect again to reach another';
    return undefined;
  }

  /**
   * A publisher of pushed audio reached this process: the meeting comes here, wherever it runs now, as the newest
   * publisher wins in one process. This process asks for it in etcd (wants/, on its lease); the owner flushes and
   * lets go, or its lease expires if it died; then this process claims it before anyone else. Resolves with the
   * meeting once it runs here.
   */
  async takeStream(meetingId: string): Promise<StreamTarget> {
    const here = this.runningHere(meetingId);
    if (here) return here;
    const refusal = this.publisherRefusal(meetingId);
    if (refusal) throw new BridgeError('FLEET_NOT_MEMBER', refusal);
    const waitMs = this.deps.options.leaseSeconds * 1000 + TAKE_SPARE_MS;
    const { arrived, asked } = this.arriving.add(meetingId, waitMs);
    const key = KEYS.wants + meetingId;
    const value = JSON.stringify({ process: this.name, at: this.now() } satisfies WantRecord);
    try {
      const revision = BigInt(await this.deps.lease.put(key, value));
      asked(revision);
      // Known at once, as the watch would tell it (unless it already has).
      this.known({ key, value, revision });
      this.deps.log.info({ meeting: meetingId, owner: this.mirror.owners.get(meetingId)?.owner }, 'a publisher reached this process: the meeting comes here');
    } catch (err) {
      this.arriving.settle(meetingId, new BridgeError('FLEET_NOT_MEMBER', `cannot ask etcd for meeting "${meetingId}": ${errorMessage(err)}`));
    }
    this.act();
    return arrived;
  }

  /** The config changed: listed meetings this process owns are restarted or let go; new ones are claimed. */
  async reconfigure(): Promise<void> {
    const desired = this.desired();
    const wanted = [...this.owned.keys()].map((id) => desired.get(id)).filter((m): m is MeetingConfig => m !== undefined);
    await this.deps.registry.apply(wanted, (id) => this.mirror.runtime.has(id));
    this.act();
  }

  /**
   * Leaves the fleet (SIGTERM): each meeting flushes its captions and is let go the moment it has, so another
   * process takes it at once; then the lease goes. Safe twice.
   */
  stop(deadline?: AbortSignal): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.planTimer);
      clearInterval(this.resyncTimer);
      this.leaving.abort();
      this.arriving.refuseAll(new BridgeError('FLEET_NOT_MEMBER', 'this process is leaving the fleet: connect again'));
      await Promise.all([...this.owned.keys()].map((id) => this.letGo(id, deadline)));
      await this.deps.lease.revoke().catch((err: unknown) => this.deps.log.warn({ err: errorMessage(err) }, 'could not revoke the etcd lease: it expires by itself'));
      await this.watch?.cancel().catch(() => undefined);
      this.deps.log.info('left the fleet');
    })();
    return this.stopping;
  }

  private get member(): boolean {
    return this.joined && this.deps.lease.holds;
  }

  // Membership

  private async join(): Promise<void> {
    const waits = new Backoff({ initialMs: 500, maxMs: 5_000 });
    while (!this.stopping) {
      try {
        await this.deps.lease.grant();
        this.announced = undefined;
        await this.announce(this.hasCapacity());
        this.watch ??= await this.deps.store.watch({
          put: (entry) => this.changed(this.mirror.put(entry)),
          delete: (key, revision) => this.changed(this.mirror.delete(key, revision, this.now())),
          reconnected: () => void this.resync().catch(() => undefined),
          error: (err) => this.deps.log.warn({ err: errorMessage(err) }, 'etcd watch failed; it reconnects'),
        });
        await this.resync();
        this.joined = true;
        this.deps.log.info({ process: this.name, members: [...this.mirror.members.keys()] }, 'joined the fleet');
        this.act();
        return;
      } catch (err) {
        this.deps.lease.drop();
        const waitMs = waits.next()!;
        this.deps.log.warn({ err: errorMessage(err), retryInMs: waitMs }, 'cannot join the fleet: etcd unreachable');
        await pause(waitMs, this.leaving.signal);
      }
    }
  }

  /** Publishes whether this process takes meetings. */
  private async announce(accepting: boolean): Promise<void> {
    const record: MemberRecord = { name: this.name, url: this.deps.options.advertiseUrl, accepting, since: this.now() };
    await this.deps.lease.put(KEYS.members + this.name, JSON.stringify(record));
    this.announced = accepting;
  }

  private hasCapacity(): boolean {
    return this.owned.size + claimsUnderway(this.underway) < this.deps.options.maxMeetings && !capacityOf(this.deps.registry.views(), this.deps.load).overloaded;
  }

  /**
   * The lease could not be renewed in time: another process may take these meetings once etcd expires it, so they
   * stop here now, without a last POST. Then the process joins again with a new lease.
   */
  private async leaseLost(why: string): Promise<void> {
    if (this.stopping) return;
    this.joined = false;
    const ids = [...this.owned.keys()];
    this.deps.log.error({ why, meetings: ids }, 'fleet lease lost: this process stops captioning its meetings (another takes them) and rejoins when etcd answers');
    this.deps.lease.drop();
    this.owned.clear();
    this.arriving.refuseAll(new BridgeError('FLEET_NOT_MEMBER', 'this process lost touch with etcd: connect again'));
    await Promise.all(ids.map((id) => this.deps.registry.fence(id)));
    this.joinInBackground();
  }

  private joinInBackground(): void {
    this.joining ??= this.join().finally(() => (this.joining = undefined));
  }

  // What etcd says

  /** Reads the whole fleet state again (at join, after a reconnect, and now and then). */
  private async resync(): Promise<void> {
    const { revision, entries } = await this.deps.store.readAll();
    for (const change of this.mirror.read(entries, revision, this.now())) this.said(change);
    this.act();
  }

  /** A change the watch reported: acted on at once (a lost claim stops its meeting before anything else runs). */
  private changed(change: MirrorChange | undefined): void {
    if (!change) return;
    this.said(change);
    if ('notice' in change) this.applyNotice(change.name, change.notice.what);
    this.act();
  }

  /** This process's own write, known at once as the watch would tell it (unless it already has). */
  private known(entry: { key: string; value: string; revision: bigint }): void {
    const change = this.mirror.put(entry);
    if (change) this.said(change);
  }

  private said(change: MirrorChange): void {
    if ('problem' in change) this.deps.log.warn({ key: KEYS[change.kind] + change.name, problem: change.problem }, 'etcd record under the bridge prefix does not parse: skipped');
  }

  // Acting on it

  /** Plans from what etcd says and what runs here, and carries the plan out. */
  private act(): void {
    const actions = planFleet({
      self: this.name,
      mirror: this.mirror,
      desired: new Set(this.desired().keys()),
      owned: this.ownedMeetings(),
      underway: this.underway,
      waiting: this.arriving.revisions(),
      hasCapacity: this.hasCapacity(),
      announced: this.announced,
      member: this.member,
      stopping: this.stopping !== undefined,
    });
    for (const action of actions) this.carryOut(action);
  }

  private ownedMeetings(): Map<string, OwnedMeeting> {
    return new Map([...this.owned].map(([id, owned]) => [id, { ...owned, idle: this.deps.registry.get(id)?.pipeline.state === 'ready' }]));
  }

  private carryOut(action: FleetAction): void {
    const failed = (what: string) => (err: unknown) => this.deps.log.warn({ meeting: 'id' in action ? action.id : undefined, err: errorMessage(err) }, what);
    switch (action.do) {
      case 'announce':
        if (this.announcing) return;
        this.announcing = true;
        void this.announce(action.accepting)
          .catch(failed('could not tell the fleet whether this process takes meetings'))
          .finally(() => (this.announcing = false));
        return;
      case 'lose':
        return this.lose(action.id, action.why);
      case 'release':
        return void this.duty(action.id, 'releasing', () => this.release(action.id)).catch(failed('could not delete a claim in this process\'s name: it goes with the lease'));
      case 'claim':
        return void this.duty(action.id, 'claiming', () => this.claim(action.id)).catch(failed('could not claim the meeting'));
      case 'let-go':
        this.deps.log.info({ meeting: action.id, owned: this.owned.size }, `letting the meeting go: ${action.why}`);
        return void this.letGo(action.id);
      case 'hand-off':
        this.deps.log.info({ meeting: action.id, to: action.to }, 'a newer publisher reached another process: this one flushes the meeting and lets go');
        this.emit('replace-publisher', action.id, `replaced by a newer publisher (on ${action.to})`);
        return void this.letGo(action.id);
      case 'apply-stream':
        return this.applyStream(action.id, action.record);
      case 'refuse-waiters':
        return this.arriving.settle(action.id, new BridgeError('STREAM_REPLACED', `replaced by a newer publisher (on ${action.to})`), action.before);
    }
  }

  /** Runs an etcd operation on a meeting, known to the planner as under way until it ends; then plans again. */
  private async duty(id: string, duty: Duty, run: () => Promise<void>): Promise<void> {
    this.underway.set(id, duty);
    try {
      await run();
    } finally {
      this.underway.delete(id);
      setImmediate(() => this.act());
    }
  }

  private async claim(id: string): Promise<void> {
    const key = KEYS.owners + id;
    const value = JSON.stringify({ owner: this.name, since: this.now() } satisfies OwnerRecord);
    const goneAt = this.mirror.ownerGoneAt.get(id);
    const revision = await this.deps.store.create(key, value, await this.deps.lease.id());
    if (revision === undefined) return;
    this.owned.set(id, { claimRevision: revision, appliedStreamAt: 0 });
    this.known({ key, value, revision });
    this.deps.metrics.fleetClaim(goneAt === undefined ? 'new' : 'takeover');
    this.deps.log.info({ meeting: id, takeover: goneAt !== undefined }, 'meeting claimed: this process runs it');
    void this.run(id, goneAt);
  }

  /** Starts a meeting this process now owns and catches it up with what Zoom said of it. */
  private async run(id: string, ownerGoneAt: number | undefined): Promise<void> {
    const config = this.desired().get(id);
    if (!config) return void (await this.release(id));
    const starting = this.deps.registry.add(config);
    // Zoom's audio is dialled while the engine loads (the stream waits for it): a takeover resumes that much sooner.
    this.act();
    try {
      await starting;
    } catch (err) {
      // Listed as failed; the claim stays, so the fleet does not hand a meeting that cannot start from one process to the next.
      return void this.deps.log.error({ meeting: id, err: errorMessage(err) }, 'claimed meeting could not start');
    }
    if (!this.owned.has(id)) return void (await this.deps.registry.fence(id));
    if (ownerGoneAt !== undefined) this.deps.metrics.fleetTakeoverSeconds((this.now() - ownerGoneAt) / 1000);
    this.arrived(id);
    this.act();
  }

  /** The meeting runs here now: publishers waiting for it stream into it, and the request for it is withdrawn. */
  private arrived(id: string): void {
    const here = this.runningHere(id);
    if (!here || !this.arriving.has(id)) return;
    this.arriving.settle(id, here);
    const want = this.mirror.wants.get(id)?.record;
    if (want?.process !== this.name) return;
    void this.deps.store.deleteIfValue(KEYS.wants + id, JSON.stringify(want)).catch(() => undefined);
  }

  private runningHere(id: string): StreamTarget | undefined {
    return this.startedHere(id)?.pipeline;
  }

  /** The meeting, when this process owns it and it has started (a meeting still starting is caught up in run()). */
  private startedHere(id: string): RunningMeeting | undefined {
    const meeting = this.owned.has(id) ? this.deps.registry.get(id) : undefined;
    const state = meeting?.pipeline.state;
    return state === 'ready' || state === 'streaming' ? meeting : undefined;
  }

  /** Lets a meeting go on purpose: only this process's own claim is deleted. */
  private async release(id: string): Promise<void> {
    this.owned.delete(id);
    const leaseId = await this.deps.lease.id().catch(() => undefined);
    if (leaseId !== undefined) await this.deps.store.deleteIfLease(KEYS.owners + id, leaseId);
  }

  /** The meeting is not this process's any more (its claim is gone from etcd): it stops at once, posting nothing. */
  private lose(id: string, why: string): void {
    if (!this.owned.delete(id)) return;
    this.deps.log.error({ meeting: id, why }, 'meeting ownership lost: stopped here without a last POST');
    void this.deps.registry.fence(id);
  }

  /** A meeting this process no longer runs: its last captions go out (until `deadline`), then its claim. */
  private letGo(id: string, deadline?: AbortSignal): Promise<void> {
    return this.duty(id, 'leaving', async () => {
      await this.deps.registry.remove(id, deadline);
      await this.release(id).catch((err: unknown) => this.deps.log.warn({ meeting: id, err: errorMessage(err) }, 'could not delete the claim: it goes with the lease'));
    });
  }

  /** A runtime meeting is over: gone from etcd; its owner flushes it and lets it go. */
  private async endRuntime(id: string, why: string): Promise<void> {
    this.deps.log.info({ meeting: id, why }, 'account meeting ended: removed from the fleet');
    await this.deps.store.delete(KEYS.meetings + id);
    await this.deps.store.delete(KEYS.streams + id);
  }

  /** The meetings the fleet runs: the config's, and those made at runtime from the account template. */
  private desired(): Map<string, MeetingConfig> {
    const desired = new Map(this.deps.configured().map((m) => [m.id, m]));
    const account = this.deps.account;
    if (account) for (const [id, record] of this.mirror.runtime) if (!desired.has(id)) desired.set(id, account.settingsFor(record));
    return desired;
  }

  /** Carries out what Zoom last said of an owned meeting's RTMS stream, once per record (once the meeting is listed). */
  private applyStream(id: string, record: RtmsSignal & { at: number }): void {
    const owned = this.owned.get(id);
    const meeting = owned && this.deps.registry.get(id);
    if (!owned || !meeting) return;
    owned.appliedStreamAt = record.at;
    void meeting.rtmsSignal(record).catch((err: unknown) => this.deps.log.error({ meeting: id, err: errorMessage(err) }, `handling rtms_${record.what} failed`));
  }

  /** A notice is acted on when it arrives, by the meeting's owner; it is not kept. */
  private applyNotice(id: string, what: 'started' | 'ended'): void {
    const meeting = this.owned.has(id) ? this.deps.registry.get(id) : undefined;
    void meeting?.zoomMeeting(what).catch((err: unknown) => this.deps.log.error({ meeting: id, err: errorMessage(err) }, `handling meeting ${what} failed`));
  }
}
