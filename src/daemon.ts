import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Config, MeetingConfig } from './config/schema.js';
import { errorMessage } from './errors.js';
import { HttpServer } from './http/server.js';
import { locateFfmpeg } from './ingest/ffmpeg.js';
import { RtmpIngest, type RtmpTarget } from './ingest/rtmp.js';
import { WebSocketIngest, type IngestTarget } from './ingest/websocket.js';
import { streamRefusal } from './pipeline/capacity.js';
import type { Logger } from './log.js';
import { BridgeMetrics } from './metrics.js';
import { ZoomApiClient } from './zoom-api/client.js';
import { ClientAddresses } from './security/client-address.js';
import { FailureThrottle } from './security/throttle.js';
import { ZoomWebhookVerifier, type ZoomWebhookEvent } from './zoom-api/webhook.js';
import type { MeetingPipeline } from './pipeline/meeting.js';
import { RunningMeeting, type MeetingRoutes } from './pipeline/running-meeting.js';
import type { RtmsOptions } from './ingest/zoom-rtms.js';
import { MeetingInstances } from './zoom-api/instances.js';

/** How long a shutdown may spend flushing captions before it gives up on them (Kubernetes grants 30 s by default). */
export const SHUTDOWN_FLUSH_MS = 10_000;
/** After the flush deadline: time for the destinations to record what never reached Zoom, and the listeners to close. */
const SHUTDOWN_WRAP_UP_MS = 500;

export interface Daemon {
  port: number;
  /** The RTMP listener's port, when the config has one. */
  rtmpPort?: number;
  meetings: MeetingPipeline[];
  /**
   * Apply a new config: meetings added, removed or changed start and stop; untouched meetings keep streaming
   * and keep their seq. Listener, state dir and Zoom app changes need a restart (logged).
   */
  reload(config: Config): Promise<void>;
  /** Stop taking audio, flush the segmenters, deliver queued captions (bounded), persist state. Safe twice. */
  stop(): Promise<void>;
}

export async function startDaemon(config: Config, log: Logger, rtmsOptions: RtmsOptions = {}): Promise<Daemon> {
  const zoomApi = config.zoomApi ? new ZoomApiClient(config.zoomApi, log) : undefined;
  const running: RunningMeeting[] = [];
  const meetings = (): MeetingPipeline[] => running.map((m) => m.pipeline);
  const metrics = new BridgeMetrics(meetings);
  // One record of failed attempts for every port: guessing a token on one counts on the others.
  const throttle = new FailureThrottle();
  const websocketRoutes = new Map<string, IngestTarget>();
  const rtmpRoutes = new Map<string, RtmpTarget>();
  // When the machine cannot keep up, meetings under way go on and new ones are sent elsewhere (capacity.ts).
  const refusal = (id: string): string | undefined => streamRefusal(meetings(), id);
  const clientAddresses = new ClientAddresses(config.http.trustedProxies);
  const clientAddress = (req: IncomingMessage): string => clientAddresses.of(req);
  const ingest = new WebSocketIngest(websocketRoutes, log, { throttle, allowedOrigins: config.http.allowedOrigins, refusal, clientAddress });
  const rtmp = config.rtmp ? new RtmpIngest(rtmpRoutes, log, throttle, refusal) : undefined;
  const routes: MeetingRoutes = {
    websocket: websocketRoutes,
    rtmp: rtmpRoutes,
    endStream: (id) => {
      ingest.endStream(id);
      rtmp?.endStream(id);
    },
  };
  // Found now, so a machine without ffmpeg fails at start with the fix in the message, not at the first publisher.
  if (config.meetings.some((m) => m.source.type === 'rtmp' || m.source.type === 'rtmp-pull')) locateFfmpeg();
  let current = config;
  let stopping: Promise<void> | undefined;

  // RTMS handshakes are signed with the Zoom app's own client id and secret.
  const rtms = config.zoomApi
    ? { clientId: config.zoomApi.clientId, clientSecret: config.zoomApi.clientSecret, allowedHosts: config.zoomApi.rtmsHosts, ...rtmsOptions }
    : undefined;
  const instances = new MeetingInstances(zoomApi, log);

  /** One way in for a meeting, at start and on reload. */
  const addMeeting = (meetingConfig: MeetingConfig): RunningMeeting => {
    const meeting = new RunningMeeting(meetingConfig, { stateDir: current.state.dir, log, zoomApi, metrics, rtms }, routes, log);
    running.push(meeting);
    return meeting;
  };
  const removeMeeting = async (meeting: RunningMeeting): Promise<void> => {
    running.splice(running.indexOf(meeting), 1);
    await meeting.close();
  };

  config.meetings.forEach(addMeeting);
  const webhookSecret = config.zoomApi?.webhookSecret;
  const webhook = webhookSecret
    ? { verifier: new ZoomWebhookVerifier(webhookSecret), onEvent: (event: ZoomWebhookEvent) => onZoomEvent(event, { running, instances, log }) }
    : undefined;
  const http = new HttpServer({ meetings, controls: () => running, ingest, log, metrics, webhook, adminToken: config.http.adminToken, throttle, clientAddress });
  // Listen first so /healthz answers (and /readyz says 503) while the engines load.
  const address = await http.listen(config.http.port, config.http.host);
  log.info({ host: address.address, port: address.port }, 'listening: /healthz /readyz ws /ingest/<meeting>');
  let rtmpPort: number | undefined;
  if (rtmp && config.rtmp) {
    try {
      rtmpPort = (await rtmp.listen(config.rtmp.port, config.rtmp.host)).port;
    } catch (err) {
      await http.close();
      throw err;
    }
    log.info({ host: config.rtmp.host, port: rtmpPort }, 'listening: rtmp://HOST:PORT/live/<stream key>');
  }

  // A meeting whose engine cannot start is reported and left out; the others run.
  const started = await Promise.allSettled(running.map((m) => m.start()));
  if (started.every((r) => r.status === 'rejected')) {
    await Promise.allSettled([http.close(), rtmp?.close(), ...running.map((m) => m.close())]);
    throw new Error(`no meeting could start: ${errorMessage((started[0] as PromiseRejectedResult).reason)}`);
  }
  log.info({ meetings: meetings().filter((m) => m.state === 'ready').map((m) => m.id) }, 'ready');

  return {
    port: address.port,
    rtmpPort,
    get meetings() {
      return meetings();
    },
    async reload(next) {
      const restartNeeded = (['http', 'rtmp', 'state', 'zoomApi'] as const).filter((key) => JSON.stringify(next[key]) !== JSON.stringify(current[key]));
      if (restartNeeded.length > 0) log.warn({ sections: restartNeeded }, 'these config sections change only on restart');
      current = { ...next, http: current.http, state: current.state, zoomApi: current.zoomApi };
      log.level = next.log.level;
      const wanted = new Map(next.meetings.map((m) => [m.id, m]));
      const changes: Record<string, string[]> = { removed: [], changed: [], added: [], unchanged: [] };
      for (const meeting of [...running]) {
        const desired = wanted.get(meeting.id);
        if (desired && JSON.stringify(desired) === JSON.stringify(meeting.config)) {
          changes.unchanged!.push(meeting.id);
          continue;
        }
        (desired ? changes.changed : changes.removed)!.push(meeting.id);
        await removeMeeting(meeting);
      }
      const fresh = next.meetings.filter((m) => !running.some((r) => r.id === m.id));
      for (const m of fresh) if (!changes.changed!.includes(m.id)) changes.added!.push(m.id);
      await Promise.allSettled(fresh.map(addMeeting).map((m) => m.start()));
      log.info(changes, 'config reloaded');
    },
    stop() {
      stopping ??= (async () => {
        log.info('shutting down: flushing captions');
        ingest.close();
        const closingRtmp = rtmp?.close();
        // Pulls end inside the flush deadline too: their ffmpeg is killed if it does not stop in time. At the deadline
        // the destinations stop waiting for Zoom, and what is unsent is counted, logged and noted in the archive.
        const deadline = AbortSignal.timeout(SHUTDOWN_FLUSH_MS);
        const flushed = Promise.allSettled(running.map((m) => m.close(deadline)));
        await Promise.race([flushed, once(deadline, 'abort')]);
        if (deadline.aborted) {
          log.warn({ afterMs: SHUTDOWN_FLUSH_MS }, 'shutdown flush deadline reached: captions not yet delivered are recorded as never delivered');
        }
        const wrapUp = AbortSignal.timeout(deadline.aborted ? SHUTDOWN_WRAP_UP_MS : SHUTDOWN_WRAP_UP_MS * 4);
        await Promise.race([Promise.all([flushed, http.close(), closingRtmp]), once(wrapUp, 'abort')]);
        log.info('stopped');
      })();
      return stopping;
    },
  };
}

interface ZoomEventContext {
  running: readonly RunningMeeting[];
  instances: MeetingInstances;
  log: Logger;
}

/**
 * meeting.started fetches the Caption URL at once and starts a live stream towards the bridge; meeting.ended
 * flushes the stream and drops the URL; rtms_started / _interrupted / _stopped drive zoom-rtms sources.
 */
function onZoomEvent(event: ZoomWebhookEvent, { running, instances, log }: ZoomEventContext): void {
  const payload = event.payload ?? {};
  const rtms = /^(meeting|webinar)\.rtms_(started|stopped|interrupted)$/.exec(event.event);
  if (rtms) {
    onRtmsEvent(rtms[1] as 'meeting' | 'webinar', rtms[2] as 'started' | 'stopped' | 'interrupted', event, { running, instances, log }).catch((err: unknown) =>
      log.error({ event: event.event, err: errorMessage(err) }, 'RTMS webhook handling failed'),
    );
    return;
  }
  const id = payload.object?.id === undefined ? undefined : String(payload.object.id);
  if (id !== undefined && typeof payload.object?.uuid === 'string') instances.learn(payload.object.uuid, id);
  const concerned = id === undefined ? [] : running.filter((m) => m.pipeline.zoomIds.includes(id));
  log.info({ event: event.event, zoomId: id, meetings: concerned.map((m) => m.id) }, 'Zoom webhook');
  const what = /^(meeting|webinar)\.(started|ended)$/.exec(event.event)?.[2] as 'started' | 'ended' | undefined;
  if (!what) return;
  for (const meeting of concerned) {
    void meeting.zoomMeeting(what).catch((err: unknown) => log.error({ meeting: meeting.id, err: errorMessage(err) }, `handling meeting ${what} failed`));
  }
}

async function onRtmsEvent(kind: 'meeting' | 'webinar', what: 'started' | 'stopped' | 'interrupted', event: ZoomWebhookEvent, context: ZoomEventContext): Promise<void> {
  const { running, instances, log } = context;
  const payload = event.payload ?? {};
  const uuid = kind === 'meeting' ? payload.meeting_uuid : payload.webinar_uuid;
  const streamId = payload.rtms_stream_id;
  if (typeof uuid !== 'string' || typeof streamId !== 'string') return void log.warn({ event: event.event }, 'RTMS webhook without an instance uuid or stream id: ignored');
  const candidates = running.filter((m) => m.rtmsTarget?.kind === kind);
  if (candidates.length === 0) return void log.info({ event: event.event }, 'RTMS webhook for no configured zoom-rtms meeting: ignored');
  // Since May 2026 Zoom names the meeting in the event; older events need the instance looked up.
  const named = kind === 'meeting' ? payload.meeting_id : payload.webinar_id;
  let zoomId: string | undefined = typeof named === 'number' || typeof named === 'string' ? String(named) : undefined;
  try {
    zoomId ??= await instances.idOf(uuid, kind);
  } catch (err) {
    return void log.error({ event: event.event, err: errorMessage(err) }, 'cannot tell which meeting this RTMS stream belongs to');
  }
  const meeting = candidates.find((m) => m.rtmsTarget?.id === zoomId);
  log.info({ event: event.event, zoomId, meeting: meeting?.id, rtmsStream: streamId }, 'Zoom RTMS webhook');
  if (!meeting) return;
  if (what === 'started') {
    if (typeof payload.server_urls !== 'string') return void log.warn({ event: event.event }, 'rtms_started without server_urls: ignored');
    meeting.rtmsStarted({ instanceUuid: uuid, streamId, serverUrls: payload.server_urls });
  } else if (what === 'interrupted') {
    meeting.rtmsInterrupted(streamId);
  } else {
    // Zoom's failover page: these reasons are a full RTMS restart, and a new rtms_started follows.
    const reason = payload.stop_reason;
    const restart = typeof reason === 'number' && ((reason >= 10 && reason <= 19) || reason === 24);
    await meeting.rtmsStopped(streamId, `rtms_stopped (stop_reason ${String(reason)}${restart ? ': Zoom restarts the stream; a new rtms_started is expected' : ''})`);
  }
}
