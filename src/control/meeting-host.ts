import type { MeetingConfig } from '../config/schema.js';
import type { RtmsStart } from '../ingest/zoom-rtms.js';
import type { ZoomTarget } from '../zoom-api/target.js';
import type { RtmsStop } from '../zoom-api/webhook.js';

/** What Zoom said of a meeting's RTMS stream (webhooks), as the meeting's owner acts on it. */
export type RtmsSignal =
  | { what: 'started'; start: RtmsStart }
  | { what: 'interrupted'; streamId: string }
  | { what: 'stopped'; streamId: string; why: string; restarts: boolean };

/**
 * The signal an RTMS webhook carries, whichever product sent it (a meeting's, a webinar's, a Video SDK session's):
 * `instance` is what the handshake names, `event` the webhook's name for the log. Undefined for a start that gives
 * no server to dial.
 */
export function rtmsSignalOf(
  notice: { what: 'started' | 'stopped' | 'interrupted'; streamId: string; serverUrls?: string; stop?: RtmsStop },
  instance: Pick<RtmsStart, 'instanceUuid' | 'session'>,
  event: string,
): RtmsSignal | undefined {
  if (notice.what === 'started') return notice.serverUrls === undefined ? undefined : { what: 'started', start: { ...instance, streamId: notice.streamId, serverUrls: notice.serverUrls } };
  if (notice.what === 'interrupted') return { what: 'interrupted', streamId: notice.streamId };
  const restarts = notice.stop?.restarts ?? false;
  return { what: 'stopped', streamId: notice.streamId, why: `${event} (stop_reason ${String(notice.stop?.reason)}${restarts ? ': Zoom restarts the stream; a new start is expected' : ''})`, restarts };
}

/**
 * Where Zoom's webhooks act: on this process's meetings (LocalMeetings), or, in a fleet, on whichever process owns
 * each meeting, through etcd (Fleet). The webhook code decides which meeting an event concerns; the host carries
 * it out.
 */
export interface MeetingHost {
  /** Every meeting a webhook may concern: here, or anywhere in the fleet. */
  meetings(): readonly MeetingConfig[];
  /** The account template's meeting for a Zoom meeting whose stream starts: made now if it matches; its id. */
  take(target: ZoomTarget): Promise<string | undefined>;
  rtms(meetingId: string, signal: RtmsSignal): Promise<void>;
  zoomMeeting(meetingId: string, what: 'started' | 'ended'): Promise<void>;
  /** A runtime meeting's RTMS stream ended on its own (no webhook will say so): it goes too. */
  streamEnded(meetingId: string): void;
}
