import { createHash } from 'node:crypto';
import type { Etcd3, IKeyValue, Namespace, Watcher } from 'etcd3';
import { runtimeMeetingId, type MeetingConfig } from '../config/schema.js';
import { BridgeError, errorMessage } from '../errors.js';
import type { PageElsewhere } from '../http/page-relay.js';
import type { Logger } from '../log.js';
import type { BridgeMetrics } from '../metrics.js';
import type { AccountMeetings } from '../pipeline/account-meetings.js';
import { capacityOf, type ProcessLoad } from '../pipeline/capacity.js';
import type { MeetingHost, RtmsSignal } from '../pipeline/meeting-host.js';
import type { MeetingRegistry } from '../pipeline/registry.js';
import type { RunningMeeting } from '../pipeline/running-meeting.js';
import type { StreamTarget } from '../pipeline/types.js';
import { Backoff, pause } from '../util/backoff.js';
import type { ZoomTarget } from '../zoom-api/target.js';
import { FleetLease } from './lease.js';
import type { FleetOptions } from './options.js';
import { KnownRevisions } from './revisions.js';
import { KEYS, keyOf, readRecord, type KeyKind, type MemberRecord, type OwnerRecord, type RuntimeRecord, type StreamRecord, type WantRecord } from './records.js';

export interface FleetDeps {
  options: FleetOptions;
  /** The process's etcd client (connectEtcd): the daemon owns and closes it. */
  client: Etcd3;
  registry: MeetingRegistry;
  /** How loaded this process is: a process short of CPU claims no more meetings. */
  load: ProcessLoad;
  /** The meetings the config lists (every process of the fleet has the same config). */
  configured: () => readonly MeetingConfig[];
  /** The account template, when the config has one: it makes and admits runtime meetings. */
  account: AccountMeetings | undefined;
  metrics: BridgeMetrics;
  log: Logger;
  /** A newer publisher reached another process: this one's publisher of the meeting is told so and disconnected. */
  replacePublisher(meetingId: string, reason: string): void;
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
const RECONCILE_MS = 1_000;
/** A publisher waits for its meeting this long past a lease (its owner may have died and must expire first). */
const TAKE_SPARE_MS = 15_000;

/**
 * This process as one member of a fleet sharing etcd. Every meeting (listed in the config, or made at runtime from
 * the account template) has one owner at a time: the process whose lease holds owners/<meeting>. A process claims
 * unowned meetings while it has capacity and owns no more than the others (so meetings spread); it runs what it
 * owns in its registry, and acts on what the webhooks wrote for them (streams/, notices/). Whichever process a
 * webhook reaches writes it to etcd (this class as a MeetingHost); the owner carries it out.
 *
 * Never two writers to one Caption URL: a process whose lease it could not renew stops posting (FleetLease.holds)
 * before etcd can expire the lease and hand the meeting to another; the taker resumes at Zoom's GET seq.
 */
export class Fleet implements MeetingHost {
  private readonly etcd: Namespace;
  private readonly lease: FleetLease;
  private readonly name: string;
  private readonly members = new Map<string, MemberRecord>();
  private readonly owners = new Map<string, OwnerRecord>();
  private readonly runtime = new Map<string, RuntimeRecord>();
  private readonly streams = new Map<string, StreamRecord>();
  private readonly wants = new Map<string, WantRecord>();
  /** Meetings running here as their owner: the revision of the claim, and when the stream record applied to each was written. */
  private readonly owned = new Map<string, { claimRevision: bigint; appliedStreamAt: number }>();
  private readonly claiming = new Set<string>();
  /** Publishers of pushed audio waiting here for their meeting to run here (takeStream). */
  private readonly arriving = new Map<string, { wantRevision?: bigint; settle: (outcome: StreamTarget | Error) => void }[]>();
  /** The etcd revision of each meeting's request (wants/): which publisher is newer is etcd's order, not a clock. */
  private readonly wantRevisions = new Map<string, bigint>();
  /** Meetings this process is letting go because a publisher reached another process. */
  private readonly handingOff = new Set<string>();
  /** When an owner key went away: a takeover's time is measured from it. */
  private readonly ownerGoneAt = new Map<string, number>();
  /** Records that did not parse, said once each (key and revision). */
  private readonly badRecords = new Set<string>();
  private readonly known = new KnownRevisions();
  private watcher: Watcher | undefined;
  private joined = false;
  private accepting: boolean | undefined;
  private stopping: Promise<void> | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private reconcileQueued = false;
  private joining: Promise<void> | undefined;
  private handingOver = false;
  /** Aborted by stop(): a join waiting for etcd gives up. */
  private readonly leaving = new AbortController();
  /** Where each kind of record is kept (notices are acted on, not kept). */
  private readonly records: Record<Exclude<KeyKind, 'notices'>, Map<string, unknown>> = { members: this.members, owners: this.owners, meetings: this.runtime, streams: this.streams, wants: this.wants };

  constructor(private readonly deps: FleetDeps) {
    const { etcd, name, leaseSeconds } = deps.options;
    this.name = name;
    this.etcd = deps.client.namespace(etcd.prefix);
    this.lease = new FleetLease(this.etcd, leaseSeconds, deps.log);
    this.lease.on('lost', (why) => void this.leaseLost(why));
  }

  /** Joins the fleet in the background (etcd may not be up yet); /readyz says not ready until it has. */
  start(): void {
    this.joinInBackground();
    this.reconcileTimer = setInterval(() => this.reconcileSoon(), RECONCILE_MS);
    this.resyncTimer = setInterval(() => void this.resync().catch(() => undefined), RESYNC_MS);
  }

  /** Why this process takes no meetings now (for /readyz), or undefined. */
  problem(): string | undefined {
    if (this.stopping) return 'leaving the fleet';
    if (!this.joined || !this.lease.holds) return 'not a fleet member: etcd cannot be reached';
    return undefined;
  }

  view(): FleetView {
    const byOwner = new Map<string, string[]>();
    for (const [id, { owner }] of this.owners) byOwner.set(owner, [...(byOwner.get(owner) ?? []), id]);
    const ids = new Set([...this.desired().keys(), ...this.owners.keys()]);
    return {
      process: this.name,
      member: this.joined && this.lease.holds,
      members: [...this.members.values()].map((m) => ({ name: m.name, url: m.url, accepting: m.accepting, meetings: byOwner.get(m.name) ?? [] })),
      meetings: [...ids].sort().map((id) => ({ id, owner: this.owners.get(id)?.owner, runtime: this.runtime.has(id) })),
    };
  }

  /**
   * A meeting another member runs and whose captions include a page: where that member is reached and the page's
   * viewer token. Undefined when it runs here, nobody runs it, or its owner advertises no address.
   */
  pageElsewhere(id: string): PageElsewhere | undefined {
    const owner = this.owners.get(id)?.owner;
    const ownerUrl = owner === undefined || owner === this.name ? undefined : this.members.get(owner)?.url;
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
    const refusal = await account.refusal(target, this.runtime.size);
    if (refusal) return void this.deps.log.info({ meeting: id }, `Zoom streams ${id} to the app, not captioned: ${refusal}`);
    const record: RuntimeRecord = { kind: target.kind, id: target.id, at: Date.now() };
    await this.etcd.if(KEYS.meetings + id, 'Create', '==', 0).then(this.etcd.put(KEYS.meetings + id).value(JSON.stringify(record))).commit();
    this.runtime.set(id, record);
    this.deps.log.info({ meeting: id }, 'account meeting added to the fleet: Zoom streams it to the app');
    return id;
  }

  async rtms(meetingId: string, signal: RtmsSignal): Promise<void> {
    if (signal.what === 'stopped' && !signal.restarts && this.runtime.has(meetingId)) return this.endRuntime(meetingId, signal.why);
    await this.etcd.put(KEYS.streams + meetingId).value(JSON.stringify({ ...signal, at: Date.now() }));
  }

  async zoomMeeting(meetingId: string, what: 'started' | 'ended'): Promise<void> {
    await this.etcd.put(KEYS.notices + meetingId).value(JSON.stringify({ what, at: Date.now() }));
    if (what === 'ended' && this.runtime.has(meetingId)) await this.endRuntime(meetingId, 'the Zoom meeting ended');
  }

  streamEnded(meetingId: string): void {
    if (this.runtime.has(meetingId)) void this.endRuntime(meetingId, 'its RTMS stream ended').catch((err: unknown) => this.deps.log.error({ meeting: meetingId, err: errorMessage(err) }, 'could not end the account meeting in etcd'));
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
    const waiter: { wantRevision?: bigint; settle: (outcome: StreamTarget | Error) => void } = { settle: () => undefined };
    const arrived = new Promise<StreamTarget>((resolve, reject) => {
      const waiters = this.arriving.get(meetingId) ?? [];
      this.arriving.set(meetingId, waiters);
      const timer = setTimeout(() => settle(new BridgeError('FLEET_TAKE_FAILED', `meeting "${meetingId}" did not come to this process within ${waitMs / 1000} s`)), waitMs);
      const settle = (outcome: StreamTarget | Error): void => {
        clearTimeout(timer);
        const left = (this.arriving.get(meetingId) ?? []).filter((w) => w !== waiter);
        if (left.length > 0) this.arriving.set(meetingId, left);
        else this.arriving.delete(meetingId);
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      waiter.settle = settle;
      waiters.push(waiter);
    });
    const key = KEYS.wants + meetingId;
    const want = JSON.stringify({ process: this.name, at: Date.now() } satisfies WantRecord);
    try {
      const revision = await this.lease.put(key, want);
      waiter.wantRevision = BigInt(revision);
      // Known at once, as the watch would tell it (unless it already has).
      if (this.known.isNews(key, revision)) this.store(key, want, revision);
      this.deps.log.info({ meeting: meetingId, owner: this.owners.get(meetingId)?.owner }, 'a publisher reached this process: the meeting comes here');
    } catch (err) {
      this.settleArriving(meetingId, new BridgeError('FLEET_NOT_MEMBER', `cannot ask etcd for meeting "${meetingId}": ${errorMessage(err)}`));
    }
    this.reconcileSoon();
    return arrived;
  }

  /** The config changed: listed meetings this process owns are restarted or let go; new ones are claimed. */
  async reconfigure(): Promise<void> {
    const desired = this.desired();
    const wanted = [...this.owned.keys()].map((id) => desired.get(id)).filter((m): m is MeetingConfig => m !== undefined);
    await this.deps.registry.apply(wanted, (id) => this.runtime.has(id));
    for (const id of [...this.owned.keys()]) if (!desired.has(id)) await this.release(id);
    this.reconcileSoon();
  }

  /**
   * Leaves the fleet (SIGTERM): each meeting flushes its captions and is let go the moment it has, so another
   * process takes it at once; then the lease goes. Safe twice.
   */
  stop(deadline?: AbortSignal): Promise<void> {
    this.stopping ??= (async () => {
      clearInterval(this.reconcileTimer);
      clearInterval(this.resyncTimer);
      this.leaving.abort();
      for (const id of [...this.arriving.keys()]) this.settleArriving(id, new BridgeError('FLEET_NOT_MEMBER', 'this process is leaving the fleet: connect again'));
      await Promise.all([...this.owned.keys()].map((id) => this.letGo(id, deadline)));
      await this.lease.revoke().catch((err: unknown) => this.deps.log.warn({ err: errorMessage(err) }, 'could not revoke the etcd lease: it expires by itself'));
      await this.watcher?.cancel().catch(() => undefined);
      this.deps.log.info('left the fleet');
    })();
    return this.stopping;
  }

  // Membership

  private async join(): Promise<void> {
    const waits = new Backoff({ initialMs: 500, maxMs: 5_000 });
    while (!this.stopping) {
      try {
        await this.lease.grant();
        this.accepting = undefined;
        await this.announce();
        this.watcher ??= await this.watch();
        await this.resync();
        this.joined = true;
        this.deps.log.info({ process: this.name, members: [...this.members.keys()] }, 'joined the fleet');
        this.reconcileSoon();
        return;
      } catch (err) {
        this.lease.drop();
        const waitMs = waits.next()!;
        this.deps.log.warn({ err: errorMessage(err), retryInMs: waitMs }, 'cannot join the fleet: etcd unreachable');
        await pause(waitMs, this.leaving.signal);
      }
    }
  }

  /** Publishes whether this process takes meetings, when that changed. */
  private async announce(): Promise<void> {
    const accepting = this.hasCapacity();
    if (accepting === this.accepting) return;
    const record: MemberRecord = { name: this.name, url: this.deps.options.advertiseUrl, accepting, since: Date.now() };
    await this.lease.put(KEYS.members + this.name, JSON.stringify(record));
    this.accepting = accepting;
  }

  private hasCapacity(): boolean {
    return this.owned.size + this.claiming.size < this.deps.options.maxMeetings && !capacityOf(this.deps.registry.views(), this.deps.load).overloaded;
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
    this.lease.drop();
    this.owned.clear();
    for (const id of [...this.arriving.keys()]) this.settleArriving(id, new BridgeError('FLEET_NOT_MEMBER', 'this process lost touch with etcd: connect again'));
    await Promise.all(ids.map((id) => this.deps.registry.fence(id)));
    this.joinInBackground();
  }

  private joinInBackground(): void {
    this.joining ??= this.join().finally(() => (this.joining = undefined));
  }

  // Ownership

  /** The meetings the fleet runs: the config's, and those made at runtime from the account template. */
  private desired(): Map<string, MeetingConfig> {
    const desired = new Map(this.deps.configured().map((m) => [m.id, m]));
    const account = this.deps.account;
    if (account) for (const [id, record] of this.runtime) if (!desired.has(id)) desired.set(id, account.settingsFor(record));
    return desired;
  }

  private reconcileSoon(): void {
    if (this.reconcileQueued) return;
    this.reconcileQueued = true;
    setImmediate(() => {
      this.reconcileQueued = false;
      void this.reconcile().catch((err: unknown) => this.deps.log.warn({ err: errorMessage(err) }, 'fleet reconcile failed'));
    });
  }

  /** Claims one unowned meeting if this process should: it has capacity and owns no more than any other member. */
  private async reconcile(): Promise<void> {
    if (this.stopping || !this.joined || !this.lease.holds) return;
    await this.announce();
    // etcd names this process for a meeting it does not run (it stopped it on news that turned out old): the claim
    // goes, so the meeting is not left owned and silent. A claim of an earlier lease is left to expire.
    for (const [id, { owner }] of this.owners) {
      if (owner === this.name && !this.owned.has(id) && !this.claiming.has(id)) await this.release(id);
    }
    // A publisher waits here for these: each is claimed the moment it is free, whatever the spread.
    for (const id of this.arriving.keys()) {
      if (!this.owners.has(id) && !this.claiming.has(id) && this.wants.get(id)?.process === this.name) await this.claim(id);
    }
    const mine = this.owned.size + this.claiming.size;
    const loads = new Map<string, number>();
    for (const { owner } of this.owners.values()) loads.set(owner, (loads.get(owner) ?? 0) + 1);
    const others = [...this.members.values()].filter((m) => m.name !== this.name && m.accepting).map((m) => loads.get(m.name) ?? 0);
    const unowned = [...this.desired().keys()].filter((id) => !this.owners.has(id) && !this.claiming.has(id) && !this.wantedElsewhere(id));
    if (unowned.length === 0 || !this.hasCapacity()) return this.evenOut(mine, others);
    if (others.some((load) => load < mine)) return;
    // Members that claim at the same moment start from different meetings.
    const rank = (id: string): string => createHash('sha1').update(`${this.name}/${id}`).digest('hex');
    const [next] = unowned.sort((a, b) => (rank(a) < rank(b) ? -1 : 1));
    await this.claim(next!);
    this.reconcileSoon();
  }

  /**
   * A process that started first (or stayed when others restarted) owns more than its share: it hands a meeting
   * that has no stream under way to the fleet, where the lightest process takes it. A meeting being captioned
   * stays where it is: moving it would cost its readers a gap.
   */
  private async evenOut(mine: number, others: number[]): Promise<void> {
    if (this.handingOver || others.length === 0 || mine < Math.min(...others) + 2) return;
    const idle = [...this.owned.keys()].find((id) => this.deps.registry.get(id)?.pipeline.state === 'ready');
    if (!idle) return;
    this.handingOver = true;
    this.deps.log.info({ meeting: idle, owned: mine, othersOwn: others }, 'handing an idle meeting to a process that owns fewer');
    try {
      await this.letGo(idle);
    } finally {
      this.handingOver = false;
    }
  }

  private async claim(id: string): Promise<void> {
    this.claiming.add(id);
    try {
      const key = KEYS.owners + id;
      const record: OwnerRecord = { owner: this.name, since: Date.now() };
      const leaseId = await this.lease.id();
      const { succeeded, header } = await this.etcd.if(key, 'Create', '==', 0).then(this.etcd.put(key).value(JSON.stringify(record)).lease(leaseId)).commit();
      if (!succeeded) return;
      this.known.isNews(key, header.revision);
      this.owners.set(id, record);
      this.owned.set(id, { claimRevision: BigInt(header.revision), appliedStreamAt: 0 });
    } finally {
      this.claiming.delete(id);
    }
    const goneAt = this.ownerGoneAt.get(id);
    this.ownerGoneAt.delete(id);
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
    this.applyStream(id);
    try {
      await starting;
    } catch (err) {
      // Listed as failed; the claim stays, so the fleet does not hand a meeting that cannot start from one process to the next.
      return void this.deps.log.error({ meeting: id, err: errorMessage(err) }, 'claimed meeting could not start');
    }
    if (!this.owned.has(id)) return void (await this.deps.registry.fence(id));
    if (ownerGoneAt !== undefined) this.deps.metrics.fleetTakeoverSeconds((Date.now() - ownerGoneAt) / 1000);
    this.applyStream(id);
    this.arrived(id);
  }

  /** The meeting runs here now: publishers waiting for it stream into it, and the request for it is withdrawn. */
  private arrived(id: string): void {
    const here = this.runningHere(id);
    if (!here || !this.arriving.has(id)) return;
    this.settleArriving(id, here);
    const want = this.wants.get(id);
    if (want?.process !== this.name) return;
    const key = KEYS.wants + id;
    void this.etcd.if(key, 'Value', '==', JSON.stringify(want)).then(this.etcd.delete().key(key)).commit().catch(() => undefined);
  }

  /** Settles the publishers waiting for a meeting (only those that asked before `revision`, when given). */
  private settleArriving(id: string, outcome: StreamTarget | Error, revision?: bigint): void {
    for (const waiter of [...(this.arriving.get(id) ?? [])]) {
      if (revision === undefined || (waiter.wantRevision !== undefined && waiter.wantRevision < revision)) waiter.settle(outcome);
    }
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

  /** A live process asked for the meeting (a publisher reached it): the others leave it to that one. */
  private wantedElsewhere(id: string): boolean {
    const want = this.wants.get(id);
    return want !== undefined && want.process !== this.name && this.members.has(want.process);
  }

  /**
   * Someone asked for a meeting (wants/). A newer publisher reached another process: publishers waiting here give
   * up, and if this process runs the meeting it tells its publisher, flushes, and lets go, so the newest publisher
   * wins across the fleet as in one process. A request older than this process's claim is old news.
   */
  private onWanted(id: string): void {
    const want = this.wants.get(id);
    const revision = this.wantRevisions.get(id);
    if (!want || revision === undefined || want.process === this.name) return;
    this.settleArriving(id, new BridgeError('STREAM_REPLACED', `replaced by a newer publisher (on ${want.process})`), revision);
    const owned = this.owned.get(id);
    if (!owned || revision < owned.claimRevision || this.stopping || this.handingOff.has(id)) return;
    this.handingOff.add(id);
    this.deps.log.info({ meeting: id, to: want.process }, 'a newer publisher reached another process: this one flushes the meeting and lets go');
    this.deps.replacePublisher(id, `replaced by a newer publisher (on ${want.process})`);
    void this.letGo(id).finally(() => this.handingOff.delete(id));
  }

  /** Lets a meeting go on purpose: only this process's own claim is deleted. */
  private async release(id: string): Promise<void> {
    this.owned.delete(id);
    const key = KEYS.owners + id;
    const leaseId = await this.lease.id().catch(() => undefined);
    if (leaseId === undefined) return;
    await this.etcd.if(key, 'Lease', '==', leaseId).then(this.etcd.delete().key(key)).commit();
  }

  /** The meeting is not this process's any more (its claim is gone from etcd): it stops at once, posting nothing. */
  private lose(id: string, why: string): void {
    if (!this.owned.delete(id)) return;
    this.deps.log.error({ meeting: id, why }, 'meeting ownership lost: stopped here without a last POST');
    void this.deps.registry.fence(id);
  }

  /** A runtime meeting is over: gone from etcd; its owner flushes it and lets it go. */
  private async endRuntime(id: string, why: string): Promise<void> {
    this.deps.log.info({ meeting: id, why }, 'account meeting ended: removed from the fleet');
    await this.etcd.delete().key(KEYS.meetings + id);
    await this.etcd.delete().key(KEYS.streams + id);
  }

  // What etcd says

  private async watch(): Promise<Watcher> {
    const watcher = await this.etcd.watch().prefix('').create();
    watcher.on('put', (kv) => this.onKey(kv, 'put'));
    watcher.on('delete', (kv) => this.onKey(kv, 'delete'));
    // Reconnected after etcd was away: events in between may be compacted away; read everything again.
    watcher.on('connected', () => void this.resync().catch(() => undefined));
    watcher.on('error', (err) => this.deps.log.warn({ err: errorMessage(err) }, 'etcd watch failed; it reconnects'));
    return watcher;
  }

  /** Reads the whole fleet state again (at join, after a reconnect, and now and then). */
  private async resync(): Promise<void> {
    const { header, kvs } = await this.etcd.getAll().prefix('').exec();
    const readAt = BigInt(header.revision);
    const present = new Set<string>();
    for (const kv of kvs) {
      const key = kv.key.toString();
      present.add(key);
      if (this.known.isNews(key, kv.mod_revision)) this.store(key, kv.value.toString(), kv.mod_revision);
    }
    // Gone as of the read, unless it came back since.
    for (const [kind, kept] of Object.entries(this.records) as [KeyKind, Map<string, unknown>][]) {
      for (const name of [...kept.keys()]) {
        const key = KEYS[kind] + name;
        if (!present.has(key) && this.known.goneAsOf(key, readAt)) this.forget(kind, name);
      }
    }
    this.known.read(readAt);
    for (const id of [...this.owned.keys()]) if (this.owners.get(id)?.owner !== this.name) this.lose(id, 'etcd no longer names this process as its owner');
    for (const id of [...this.owned.keys()]) {
      this.applyStream(id);
      this.onWanted(id);
    }
    const desired = this.desired();
    for (const id of [...this.owned.keys()]) if (!desired.has(id)) void this.letGo(id);
    this.reconcileSoon();
  }

  private onKey(kv: IKeyValue, type: 'put' | 'delete'): void {
    const key = kv.key.toString();
    const parsed = keyOf(key);
    if (!parsed) return;
    const { kind, name } = parsed;
    if (!this.known.isNews(key, kv.mod_revision)) return;
    if (type === 'delete') {
      this.forget(kind, name);
    } else {
      const stored = this.store(key, kv.value.toString(), kv.mod_revision);
      if (!stored) return;
      if (kind === 'owners' && this.owners.get(name)?.owner !== this.name) this.lose(name, `etcd names ${this.owners.get(name)?.owner} as its owner`);
      if (kind === 'streams') this.applyStream(name);
      if (kind === 'notices') this.applyNotice(name, kv.value.toString());
      if (kind === 'wants') this.onWanted(name);
    }
    this.reconcileSoon();
  }

  /** Keeps a record in memory; a record that does not parse is said once and skipped. */
  private store(key: string, value: string, revision: string): boolean {
    const parsed = keyOf(key);
    if (!parsed || parsed.kind === 'notices') return parsed !== undefined;
    const read = readRecord(parsed.kind, value);
    if ('problem' in read) {
      const said = `${key}@${revision}`;
      if (!this.badRecords.has(said)) this.deps.log.warn({ key, problem: read.problem }, 'etcd record under the bridge prefix does not parse: skipped');
      this.badRecords.add(said);
      this.records[parsed.kind].delete(parsed.name);
      return false;
    }
    this.records[parsed.kind].set(parsed.name, read.record);
    if (parsed.kind === 'wants') this.wantRevisions.set(parsed.name, BigInt(revision));
    return true;
  }

  private forget(kind: KeyKind, name: string): void {
    if (kind === 'members') this.members.delete(name);
    if (kind === 'streams') this.streams.delete(name);
    if (kind === 'wants') {
      this.wants.delete(name);
      this.wantRevisions.delete(name);
    }
    if (kind === 'owners') {
      this.owners.delete(name);
      if (this.owned.has(name)) this.lose(name, 'its claim was deleted from etcd');
      else this.ownerGoneAt.set(name, Date.now());
    }
    if (kind === 'meetings') {
      this.runtime.delete(name);
      if (this.owned.has(name) && !this.desired().has(name)) void this.letGo(name);
    }
  }

  /** A meeting this process no longer runs: its last captions go out (until `deadline`), then its claim. */
  private async letGo(id: string, deadline?: AbortSignal): Promise<void> {
    await this.deps.registry.remove(id, deadline);
    await this.release(id).catch((err: unknown) => this.deps.log.warn({ meeting: id, err: errorMessage(err) }, 'could not delete the claim: it goes with the lease'));
  }

  /** Carries out what Zoom last said of an owned meeting's RTMS stream, once per record. */
  private applyStream(id: string): void {
    const owned = this.owned.get(id);
    const record = this.streams.get(id);
    const meeting = owned && this.deps.registry.get(id);
    if (!owned || !record || !meeting || record.at <= owned.appliedStreamAt) return;
    owned.appliedStreamAt = record.at;
    void meeting.rtmsSignal(record).catch((err: unknown) => this.deps.log.error({ meeting: id, err: errorMessage(err) }, `handling rtms_${record.what} failed`));
  }

  private applyNotice(id: string, value: string): void {
    const meeting = this.owned.has(id) ? this.deps.registry.get(id) : undefined;
    if (!meeting) return;
    const read = readRecord('notices', value);
    if ('problem' in read) return void this.deps.log.warn({ key: KEYS.notices + id, problem: read.problem }, 'etcd record under the bridge prefix does not parse: skipped');
    void meeting.zoomMeeting(read.record.what).catch((err: unknown) => this.deps.log.error({ meeting: id, err: errorMessage(err) }, `handling meeting ${read.record.what} failed`));
  }
}
