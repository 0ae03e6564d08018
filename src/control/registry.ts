import { EventEmitter } from 'node:events';
import type { CaptionFeed } from '../caption/caption-feed.js';
import type { MeetingConfig } from '../config/schema.js';
import { BridgeError, errorMessage } from '../errors.js';
import type { RtmpTarget } from '../ingest/rtmp.js';
import type { Routes } from '../ingest/routes.js';
import type { IngestTarget } from '../ingest/websocket.js';
import type { BridgeMetrics } from '../metrics.js';
import { RunningMeeting, type RunningMeetingDeps } from './running-meeting.js';
import type { MeetingControl, MeetingView } from '../pipeline/types.js';

export interface RegistryDeps extends Omit<RunningMeetingDeps, 'endStream' | 'rtmsEnded'> {
  metrics: BridgeMetrics;
}

/**
 * What the registry's meetings ask of the listeners and the host, which are made after it: a meeting's stream is to
 * end on every listener; a meeting's RTMS stream ended on its own.
 */
export interface RegistryEvents {
  'end-stream': [meetingId: string];
  'rtms-ended': [meetingId: string];
}

/**
 * The meetings running in this process, and their single owner: meetings are added and removed here, at start,
 * on a config reload, and (next) when Zoom or another process hands one over. The listeners' routes are read from
 * the running meetings, so a removed meeting takes no new stream the moment it is removed; closing releases what
 * each meeting owns in order, once.
 */
export class MeetingRegistry extends EventEmitter<RegistryEvents> {
  private readonly running = new Map<string, RunningMeeting>();
  private closing: Promise<void> | undefined;

  readonly websocketRoutes: Routes<IngestTarget> = this.routes((meeting) => meeting.websocketRoute);
  readonly rtmpRoutes: Routes<RtmpTarget> = this.routes((meeting) => meeting.rtmpRoute);
  readonly captionFeeds: Routes<CaptionFeed> = this.routes((meeting) => meeting.captionFeed);

  private readonly meetingDeps: RunningMeetingDeps;

  constructor(private readonly deps: RegistryDeps) {
    super();
    this.meetingDeps = { ...deps, endStream: (id) => this.emit('end-stream', id), rtmsEnded: (id) => this.emit('rtms-ended', id) };
  }

  /** In the order they were added. */
  list(): RunningMeeting[] {
    return [...this.running.values()];
  }

  views(): MeetingView[] {
    return this.list().map((meeting) => meeting.pipeline);
  }

  controls(): MeetingControl[] {
    return this.list();
  }

  get(id: string): RunningMeeting | undefined {
    return this.running.get(id);
  }

  /** Adds a meeting and starts it (its engine loads, its destinations open). A meeting that fails to start stays listed as failed. */
  async add(config: MeetingConfig): Promise<RunningMeeting> {
    if (this.closing) throw new BridgeError('CLOSED', `meeting "${config.id}" not added: the bridge is shutting down`);
    if (this.running.has(config.id)) throw new BridgeError('CONFIG_INVALID', `meeting "${config.id}" is already running`);
    const meeting = new RunningMeeting(config, this.meetingDeps, this.deps.log);
    this.running.set(config.id, meeting);
    this.deps.metrics.watch(meeting.pipeline);
    await meeting.start();
    return meeting;
  }

  /** Removes a meeting: no new stream reaches it from now on; the stream under way ends after its last captions. */
  async remove(id: string, deadline?: AbortSignal): Promise<void> {
    const meeting = this.running.get(id);
    if (!meeting) return;
    this.running.delete(id);
    await meeting.close(deadline);
    // A busy account's meetings come and go: their series must not pile up in every scrape.
    await this.deps.metrics.forget(id);
  }

  /** Removes a meeting another process may own now: nothing more is posted for it, nothing waits for Zoom. */
  async fence(id: string): Promise<void> {
    const meeting = this.running.get(id);
    if (!meeting) return;
    this.running.delete(id);
    await meeting.fenceAndClose();
    await this.deps.metrics.forget(id);
  }

  /**
   * Brings the running meetings to `wanted`: meetings not wanted any more, or wanted differently, are removed (a
   * changed one is then added again); new ones are added; the others keep streaming and keep their seq.
   */
  async apply(wanted: readonly MeetingConfig[], madeAtRuntime: (id: string) => boolean = () => false): Promise<Record<'removed' | 'changed' | 'added' | 'unchanged', string[]>> {
    const desired = new Map(wanted.map((m) => [m.id, m]));
    const changes = { removed: [] as string[], changed: [] as string[], added: [] as string[], unchanged: [] as string[] };
    // Meetings made at runtime (accountMeetings) are not the config's to remove.
    for (const meeting of this.list().filter((m) => !madeAtRuntime(m.id))) {
      const next = desired.get(meeting.id);
      if (next && JSON.stringify(next) === JSON.stringify(meeting.config)) changes.unchanged.push(meeting.id);
      else {
        (next ? changes.changed : changes.removed).push(meeting.id);
        await this.remove(meeting.id);
      }
    }
    const fresh = wanted.filter((m) => !this.running.has(m.id));
    for (const m of fresh) if (!changes.changed.includes(m.id)) changes.added.push(m.id);
    await Promise.allSettled(fresh.map((m) => this.add(m)));
    return changes;
  }

  /** Closes every meeting (no longer waiting for Zoom once `deadline` is aborted). Safe twice. */
  close(deadline?: AbortSignal): Promise<void> {
    this.closing ??= (async () => {
      const closing = this.list().map((meeting) =>
        meeting.close(deadline).catch((err: unknown) => this.deps.log.error({ meeting: meeting.id, err: errorMessage(err) }, 'meeting did not close cleanly')),
      );
      await Promise.all(closing);
    })();
    return this.closing;
  }

  private routes<T>(routeOf: (meeting: RunningMeeting) => T | undefined): Routes<T> {
    const running = this.running;
    return {
      get: (id) => {
        const meeting = running.get(id);
        return meeting ? routeOf(meeting) : undefined;
      },
      *entries() {
        for (const [id, meeting] of running) {
          const route = routeOf(meeting);
          if (route) yield [id, route];
        }
      },
    };
  }
}
