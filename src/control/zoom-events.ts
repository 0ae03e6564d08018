import { rtmsTargetOf, runtimeMeetingId, zoomTargetsOf } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { MeetingInstances } from '../zoom-api/instances.js';
import { sameTarget } from '../zoom-api/target.js';
import { readZoomEvent, type ZoomNotice, type ZoomWebhookEvent } from '../zoom-api/webhook.js';
import type { AccountMeetings } from './account-meetings.js';
import { rtmsSignalOf, type MeetingHost } from './meeting-host.js';

export interface ZoomEventContext {
  /** Where the events act: this process's meetings, or the fleet's owners through etcd. */
  host: MeetingHost;
  instances: MeetingInstances;
  /** The account's meetings nobody listed (config accountMeetings), when the config has them. */
  account: AccountMeetings | undefined;
  log: Logger;
}

/**
 * meeting.started fetches the Caption URL at once and starts a live stream towards the bridge; meeting.ended
 * flushes the stream and drops the URL; rtms_started / _interrupted / _stopped drive zoom-rtms sources.
 */
export function onZoomEvent(event: ZoomWebhookEvent, context: ZoomEventContext): void {
  const { instances, log } = context;
  const notice = readZoomEvent(event);
  if (notice.type === 'rtms') {
    onRtmsEvent(notice, context).catch((err: unknown) => log.error({ event: event.event, err: errorMessage(err) }, 'RTMS webhook handling failed'));
    return;
  }
  const zoomId = notice.type === 'lifecycle' ? notice.target.id : notice.zoomId;
  if (zoomId !== undefined && notice.instanceUuid !== undefined) instances.learn(notice.instanceUuid, zoomId);
  if (notice.type === 'other') {
    if (notice.problem) log.warn({ event: event.event }, `${notice.problem}: ignored`);
    else log.info({ event: event.event, zoomId }, 'Zoom webhook');
    return;
  }
  void onLifecycle(notice, context).catch((err: unknown) => log.error({ event: event.event, err: errorMessage(err) }, 'Zoom webhook handling failed'));
}

async function onLifecycle(notice: Extract<ZoomNotice, { type: 'lifecycle' }>, context: ZoomEventContext): Promise<void> {
  const { host, account, log } = context;
  const concerned = host
    .meetings()
    .filter((m) => zoomTargetsOf(m).some((t) => sameTarget(t, notice.target)))
    .map((m) => m.id);
  // Without RTMS, a meeting of the account that starts is made here, and its live stream pointed at the bridge.
  if (concerned.length === 0 && notice.what === 'started' && account?.source === 'zoom-livestream') {
    const made = await host.take(notice.target);
    if (made) concerned.push(made);
  }
  log.info({ event: `${notice.target.kind}.${notice.what}`, zoomId: notice.target.id, meetings: concerned }, 'Zoom webhook');
  for (const id of concerned) {
    void host.zoomMeeting(id, notice.what).catch((err: unknown) => log.error({ meeting: id, err: errorMessage(err) }, `handling meeting ${notice.what} failed`));
  }
}

async function onRtmsEvent(notice: Extract<ZoomNotice, { type: 'rtms' }>, context: ZoomEventContext): Promise<void> {
  const { host, instances, account, log } = context;
  const event = `${notice.kind}.rtms_${notice.what}`;
  const known = host.meetings();
  const candidates = known.filter((m) => rtmsTargetOf(m)?.kind === notice.kind);
  if (candidates.length === 0 && !account) return void log.info({ event }, 'RTMS webhook for no configured zoom-rtms meeting: ignored');
  let zoomId = notice.zoomId;
  try {
    zoomId ??= await instances.idOf(notice.instanceUuid, notice.kind);
  } catch (err) {
    return void log.error({ event, err: errorMessage(err) }, 'cannot tell which meeting this RTMS stream belongs to');
  }
  // A listed meeting keeps its own settings; any other the account template may take (when its stream starts).
  const listed = candidates.find((m) => rtmsTargetOf(m)?.id === zoomId)?.id;
  const target = zoomId === undefined ? undefined : { kind: notice.kind, id: zoomId };
  const takes = account?.source === 'zoom-rtms' && notice.what === 'started';
  let meeting = listed;
  if (!meeting && target) meeting = takes ? await host.take(target) : known.find((m) => m.id === runtimeMeetingId(target))?.id;
  log.info({ event, zoomId, meeting, rtmsStream: notice.streamId }, 'Zoom RTMS webhook');
  if (!meeting) return;
  const signal = rtmsSignalOf(notice, { instanceUuid: notice.instanceUuid }, event);
  if (!signal) return void log.warn({ event }, 'RTMS start without server URLs: ignored');
  await host.rtms(meeting, signal);
}
