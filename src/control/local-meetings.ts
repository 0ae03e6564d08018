import type { MeetingConfig } from '../config/schema.js';
import type { ZoomTarget } from '../zoom-api/target.js';
import type { AccountMeetings } from './account-meetings.js';
import type { MeetingHost, RtmsSignal } from './meeting-host.js';
import type { MeetingRegistry } from './registry.js';

/** Webhooks acting on this process's own meetings (no fleet): the registry's meetings, and the account template's. */
export class LocalMeetings implements MeetingHost {
  constructor(
    private readonly registry: MeetingRegistry,
    private readonly account: AccountMeetings | undefined,
  ) {}

  meetings(): MeetingConfig[] {
    return this.registry.list().map((m) => m.config);
  }

  async take(target: ZoomTarget): Promise<string | undefined> {
    return (await this.account?.take(target))?.id;
  }

  async rtms(meetingId: string, signal: RtmsSignal): Promise<void> {
    const meeting = this.registry.get(meetingId);
    if (!meeting) return;
    await meeting.rtmsSignal(signal);
    // A runtime meeting goes with its stream, unless Zoom is about to start it again.
    if (signal.what === 'stopped' && !signal.restarts) await this.account?.end(meeting, signal.why);
  }

  async zoomMeeting(meetingId: string, what: 'started' | 'ended'): Promise<void> {
    const meeting = this.registry.get(meetingId);
    if (!meeting) return;
    await meeting.zoomMeeting(what);
    if (what === 'ended') await this.account?.end(meeting, 'the Zoom meeting ended');
  }

  streamEnded(meetingId: string): void {
    this.account?.streamEnded(meetingId);
  }
}
