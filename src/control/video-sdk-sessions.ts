import type { MeetingConfig } from '../config/schema.js';
import { BridgeError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { pause } from '../util/backoff.js';
import type { VideoSdkApi } from '../zoom-api/videosdk.js';
import { readSessionEvent, type SessionNames, type ZoomWebhookEvent } from '../zoom-api/webhook.js';
import { rtmsSignalOf, type MeetingHost } from './meeting-host.js';

/** Session ids whose names were heard (session.started), for the RTMS events that give only the id and key. */
const MAX_REMEMBERED = 10_000;
/** A start refused as retryable (Zoom not ready yet, busy) is tried again this many times, this far apart. */
const START_ATTEMPTS = 3;
const START_RETRY_MS = 2_000;

/**
 * Zoom Video SDK sessions as a source: a Video SDK app's webhooks (/zoom/videosdk/webhook) name sessions, not
 * meetings. A listed meeting with a zoom-videosdk source is the session of that name (or that session key): when the
 * session starts the bridge may start the RTMS app in it (startRtms), and Zoom's session.rtms_* events drive its
 * stream as meeting.rtms_* events drive a meeting's, through the same host (here, or the fleet's owner).
 */
export class VideoSdkSessions {
  private readonly names = new Map<string, string>();

  constructor(private readonly deps: { host: MeetingHost; api: VideoSdkApi; log: Logger }) {}

  onEvent(event: ZoomWebhookEvent): void {
    void this.handle(event).catch((err: unknown) => this.deps.log.error({ event: event.event, err: errorMessage(err) }, 'Video SDK webhook handling failed'));
  }

  private async handle(event: ZoomWebhookEvent): Promise<void> {
    const { host, log } = this.deps;
    const notice = readSessionEvent(event);
    if (notice.type === 'other') {
      if (notice.problem) log.warn({ event: event.event }, `${notice.problem}: ignored`);
      else log.info({ event: event.event }, 'Video SDK webhook');
      return;
    }
    if (notice.session.name !== undefined) this.remember(notice.session.id, notice.session.name);
    const meetings = host.meetings().filter((m) => this.concerns(m, notice.session));
    log.info({ event: event.event, session: notice.session.id, meetings: meetings.map((m) => m.id) }, meetings.length > 0 ? 'Video SDK webhook' : 'Video SDK webhook for no listed session: ignored');
    if (notice.type === 'session') {
      for (const meeting of meetings) {
        if (notice.what === 'started' && meeting.source.type === 'zoom-videosdk' && meeting.source.startRtms) await this.startRtms(meeting.id, notice.session.id);
        if (notice.what === 'ended') await host.zoomMeeting(meeting.id, 'ended');
      }
      return;
    }
    const signal = rtmsSignalOf(notice, { instanceUuid: notice.session.id, session: true }, event.event);
    if (!signal) return void log.warn({ event: event.event }, 'RTMS start without server URLs: ignored');
    for (const meeting of meetings) await host.rtms(meeting.id, signal);
  }

  /** Whether a listed meeting is this session: by the app's session key, or by the session's name. */
  private concerns(meeting: MeetingConfig, session: SessionNames): boolean {
    const { source } = meeting;
    if (source.type !== 'zoom-videosdk') return false;
    if (source.sessionKey !== undefined) return source.sessionKey === session.key;
    return source.sessionName === (session.name ?? this.names.get(session.id));
  }

  private async startRtms(meetingId: string, sessionId: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.deps.api.setRtmsApp(sessionId, 'start');
        return void this.deps.log.info({ meeting: meetingId, session: sessionId }, 'RTMS app started in the Video SDK session: Zoom streams it to the bridge');
      } catch (err) {
        const retry = err instanceof BridgeError && err.retryable && attempt < START_ATTEMPTS;
        this.deps.log.error({ meeting: meetingId, session: sessionId, err: errorMessage(err), ...(retry ? { retryInMs: START_RETRY_MS } : {}) }, 'cannot start the RTMS app in the Video SDK session');
        if (!retry) return;
        await pause(START_RETRY_MS);
      }
    }
  }

  private remember(sessionId: string, name: string): void {
    if (this.names.size >= MAX_REMEMBERED) this.names.delete(this.names.keys().next().value!);
    this.names.set(sessionId, name);
  }
}
