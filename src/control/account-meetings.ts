import { runtimeMeeting, runtimeMeetingId, type AccountMeetingsConfig, type MeetingConfig } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { ZoomApiClient } from '../zoom-api/client.js';
import { describeTarget, type ZoomTarget } from '../zoom-api/target.js';
import type { MeetingRegistry } from './registry.js';
import type { RunningMeeting } from './running-meeting.js';

/**
 * The account's meetings that nobody listed: when Zoom streams one to the app and it matches the template (ids,
 * hosts, topic), it is made at runtime and added to the registry like a listed one; when it ends it is removed.
 * Decides and creates; the registry owns what runs.
 */
export class AccountMeetings {
  /** Runtime meetings made here, by registry id. */
  private readonly made = new Set<string>();
  /** Meetings being made now: a repeated webhook joins the first. */
  private readonly making = new Map<string, Promise<RunningMeeting | undefined>>();

  constructor(
    private readonly template: AccountMeetingsConfig,
    private readonly registry: MeetingRegistry,
    private readonly api: ZoomApiClient,
    private readonly log: Logger,
  ) {}

  /** What makes a meeting here: its RTMS stream starting (zoom-rtms), or the meeting starting (zoom-livestream). */
  get source(): 'zoom-rtms' | 'zoom-livestream' {
    return this.template.source.type;
  }

  /** The template's meeting for this Zoom meeting or webinar. */
  settingsFor(target: ZoomTarget): MeetingConfig {
    return runtimeMeeting(this.template, target);
  }

  /** Whether `meetingId` (a registry id) was made here at runtime. */
  isRuntime(meetingId: string): boolean {
    return this.made.has(meetingId);
  }

  /** The running meeting for a Zoom meeting whose stream started: made now when it matches, else undefined. */
  take(target: ZoomTarget): Promise<RunningMeeting | undefined> {
    const id = runtimeMeetingId(target);
    const running = this.registry.get(id);
    if (running) return Promise.resolve(running);
    let making = this.making.get(id);
    if (!making) {
      making = this.make(target).finally(() => this.making.delete(id));
      this.making.set(id, making);
    }
    return making;
  }

  /** A runtime meeting's RTMS stream ended on its own (no webhook will say so): it goes too. */
  streamEnded(meetingId: string): void {
    const meeting = this.registry.get(meetingId);
    if (meeting) void this.end(meeting, 'its RTMS stream ended').catch((err: unknown) => this.log.error({ meeting: meetingId, err: errorMessage(err) }, 'account meeting did not close cleanly'));
  }

  /** The meeting's stream is over (rtms_stopped for good, meeting.ended): its last captions go out, then it goes. */
  async end(meeting: RunningMeeting, why: string): Promise<void> {
    if (!this.made.has(meeting.id)) return;
    this.made.delete(meeting.id);
    this.log.info({ meeting: meeting.id, why }, 'account meeting ended: removed');
    await this.registry.remove(meeting.id);
  }

  private async make(target: ZoomTarget): Promise<RunningMeeting | undefined> {
    const what = describeTarget(target);
    const refusal = await this.refusal(target, this.made.size);
    if (refusal) {
      this.log.info({ zoom: what }, `Zoom streams ${what} to the app, not captioned: ${refusal}`);
      return undefined;
    }
    const settings = this.settingsFor(target);
    this.made.add(settings.id);
    const starting = this.registry.add(settings);
    const added = (): void => this.log.info({ meeting: settings.id, zoom: what }, 'account meeting added: Zoom streams it to the app');
    const meeting = this.registry.get(settings.id);
    if (meeting && this.source === 'zoom-rtms') {
      // Returned while its engine loads, so Zoom's audio is dialled now (its stream waits for the start): Zoom drops
      // what is said before the bridge connects (buffer_data false), and a cloud engine's start can take seconds.
      // (A live stream is asked of Zoom by the meeting once it runs: nothing is said before that is lost.)
      void starting.then(added, (err: unknown) => this.failed(settings.id, err));
      return meeting;
    }
    try {
      await starting;
    } catch (err) {
      return this.failed(settings.id, err);
    }
    added();
    return meeting;
  }

  private async failed(id: string, err: unknown): Promise<undefined> {
    this.made.delete(id);
    this.log.error({ meeting: id, err: errorMessage(err) }, 'account meeting could not start');
    await this.registry.remove(id);
    return undefined;
  }

  /** Why the template does not take this meeting while `running` of its meetings run, or undefined when it does. */
  async refusal(target: ZoomTarget, running: number): Promise<string | undefined> {
    const { ids, hosts, topic, maxMeetings } = this.template;
    if (ids && !ids.includes(target.id)) return 'not in accountMeetings.ids';
    if (running >= maxMeetings) return `accountMeetings.maxMeetings (${maxMeetings}) are running`;
    if (!hosts && topic === undefined) return undefined;
    let details: Awaited<ReturnType<ZoomApiClient['details']>>;
    try {
      details = await this.api.details(target);
    } catch (err) {
      // Without its details a filter cannot be applied; a meeting the filter might exclude is not captioned.
      return `its host and topic could not be read to apply accountMeetings.hosts/topic (${errorMessage(err)})`;
    }
    if (hosts && !hosts.some((host) => host === details.hostId || host.toLowerCase() === details.hostEmail?.toLowerCase())) return 'its host is not in accountMeetings.hosts';
    if (topic !== undefined && !new RegExp(topic, 'i').test(details.topic ?? '')) return 'its topic does not match accountMeetings.topic';
    return undefined;
  }
}
