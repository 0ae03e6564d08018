import type { Config, MeetingConfig } from './config/schema.js';
import { errorMessage } from './errors.js';
import { HttpServer } from './http/server.js';
import { locateFfmpeg } from './ingest/ffmpeg.js';
import { RtmpIngest, type RtmpTarget } from './ingest/rtmp.js';
import { RtmpPull } from './ingest/rtmp-pull.js';
import { WebSocketIngest, type IngestTarget } from './ingest/websocket.js';
import type { Logger } from './log.js';
import { BridgeMetrics } from './metrics.js';
import { ZoomApiClient } from './zoom-api/client.js';
import { FailureThrottle } from './security/throttle.js';
import { ZoomWebhookVerifier, type ZoomWebhookEvent } from './zoom-api/webhook.js';
import { MeetingPipeline } from './pipeline/meeting.js';

/** How long a shutdown may spend flushing captions before it gives up on them. */
const SHUTDOWN_FLUSH_MS = 10_000;

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

export async function startDaemon(config: Config, log: Logger): Promise<Daemon> {
  const zoomApi = config.zoomApi ? new ZoomApiClient(config.zoomApi, log) : undefined;
  const meetings: MeetingPipeline[] = [];
  const metrics = new BridgeMetrics(() => meetings);
  const targets = new Map<string, IngestTarget>();
  // One record of failed attempts for every port: guessing a token on one counts on the others.
  const throttle = new FailureThrottle();
  const ingest = new WebSocketIngest(targets, log, { throttle, allowedOrigins: config.http.allowedOrigins });
  const rtmpTargets = new Map<string, RtmpTarget>();
  const rtmp = config.rtmp ? new RtmpIngest(rtmpTargets, log, throttle) : undefined;
  const pulls = new Map<string, RtmpPull>();
  // Found now, so a machine without ffmpeg fails at start with the fix in the message, not at the first publisher.
  if (config.meetings.some((m) => m.source.type !== 'websocket')) locateFfmpeg();
  let current = config;
  let stopping: Promise<void> | undefined;

  /** One way in for a meeting, at start and on reload: its pipeline, its ingest route. */
  const addMeeting = (meetingConfig: MeetingConfig): MeetingPipeline => {
    const pipeline = new MeetingPipeline(meetingConfig, { stateDir: current.state.dir, log, zoomApi, metrics });
    meetings.push(pipeline);
    const { source } = meetingConfig;
    if (source.type === 'websocket') targets.set(meetingConfig.id, { pipeline, token: source.token, idleTimeoutMs: source.idleTimeoutMs });
    if (source.type === 'rtmp') rtmpTargets.set(meetingConfig.id, { pipeline, streamKey: source.streamKey });
    return pipeline;
  };
  const startMeeting = (pipeline: MeetingPipeline): Promise<void> =>
    pipeline.start().then(
      () => {
        const { source } = pipeline.config;
        if (source.type === 'rtmp-pull') pulls.set(pipeline.id, new RtmpPull(pipeline, source.url, log));
      },
      (err: unknown) => {
        log.error({ meeting: pipeline.id, err: errorMessage(err) }, 'meeting failed to start');
        throw err;
      },
    );
  /** Whatever the source, end its current stream as CloseStream would. */
  const endStream = (id: string): void => {
    ingest.endStream(id);
    rtmp?.endStream(id);
  };
  const removeMeeting = async (pipeline: MeetingPipeline): Promise<void> => {
    targets.delete(pipeline.id);
    rtmpTargets.delete(pipeline.id);
    endStream(pipeline.id);
    await pulls.get(pipeline.id)?.close();
    pulls.delete(pipeline.id);
    meetings.splice(meetings.indexOf(pipeline), 1);
    await pipeline.close();
  };

  config.meetings.forEach(addMeeting);
  warnAboutWeakTokens(config, log);
  const webhookSecret = config.zoomApi?.webhookSecret;
  const webhook = webhookSecret
    ? { verifier: new ZoomWebhookVerifier(webhookSecret), onEvent: (event: ZoomWebhookEvent) => onZoomEvent(event, meetings, endStream, log) }
    : undefined;
  const http = new HttpServer({ meetings: () => meetings, ingest, log, metrics, webhook, adminToken: config.http.adminToken, throttle });
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
  const started = await Promise.allSettled(meetings.map(startMeeting));
  if (started.every((r) => r.status === 'rejected')) {
    await Promise.allSettled([http.close(), rtmp?.close(), ...meetings.map((m) => m.close())]);
    throw new Error(`no meeting could start: ${errorMessage((started[0] as PromiseRejectedResult).reason)}`);
  }
  log.info({ meetings: meetings.filter((m) => m.state === 'ready').map((m) => m.id) }, 'ready');

  return {
    port: address.port,
    rtmpPort,
    meetings,
    async reload(next) {
      const restartNeeded = (['http', 'rtmp', 'state', 'zoomApi'] as const).filter((key) => JSON.stringify(next[key]) !== JSON.stringify(current[key]));
      if (restartNeeded.length > 0) log.warn({ sections: restartNeeded }, 'these config sections change only on restart');
      current = { ...next, http: current.http, state: current.state, zoomApi: current.zoomApi };
      log.level = next.log.level;
      const wanted = new Map(next.meetings.map((m) => [m.id, m]));
      const changes: Record<string, string[]> = { removed: [], changed: [], added: [], unchanged: [] };
      for (const pipeline of [...meetings]) {
        const desired = wanted.get(pipeline.id);
        if (desired && JSON.stringify(desired) === JSON.stringify(pipeline.config)) {
          changes.unchanged!.push(pipeline.id);
          continue;
        }
        (desired ? changes.changed : changes.removed)!.push(pipeline.id);
        await removeMeeting(pipeline);
      }
      const fresh = next.meetings.filter((m) => !meetings.some((running) => running.id === m.id));
      for (const m of fresh) if (!changes.changed!.includes(m.id)) changes.added!.push(m.id);
      await Promise.allSettled(fresh.map(addMeeting).map(startMeeting));
      log.info(changes, 'config reloaded');
    },
    stop() {
      stopping ??= (async () => {
        log.info('shutting down: flushing captions');
        ingest.close();
        const closingRtmp = rtmp?.close();
        // Pulls end inside the flush deadline too: their ffmpeg is killed if it does not stop in time.
        const flushed = Promise.allSettled([...pulls.values()].map((pull) => pull.close())).then(() => Promise.allSettled(meetings.map((m) => m.close())));
        const timedOut = await Promise.race([
          flushed.then(() => false),
          new Promise<boolean>((resolve) => setTimeout(resolve, SHUTDOWN_FLUSH_MS, true).unref()),
        ]);
        if (timedOut) log.warn({ afterMs: SHUTDOWN_FLUSH_MS }, 'shutdown flush timed out; remaining captions dropped');
        await Promise.all([http.close(), closingRtmp]);
        log.info('stopped');
      })();
      return stopping;
    },
  };
}

/** meeting.started fetches the Caption URL at once; meeting.ended flushes the stream and drops the URL. */
function onZoomEvent(event: ZoomWebhookEvent, meetings: MeetingPipeline[], endStream: (meetingId: string) => void, log: Logger): void {
  const id = event.payload?.object?.id === undefined ? undefined : String(event.payload.object.id);
  const concerned = id === undefined ? [] : meetings.filter((m) => m.zoomIds.includes(id));
  log.info({ event: event.event, zoomId: id, meetings: concerned.map((m) => m.id) }, 'Zoom webhook');
  for (const meeting of concerned) {
    if (event.event === 'meeting.started' || event.event === 'webinar.started') meeting.zoomMeetingStarted();
    if (event.event === 'meeting.ended' || event.event === 'webinar.ended') {
      endStream(meeting.id);
      void meeting.zoomMeetingEnded().catch((err: unknown) => log.error({ meeting: meeting.id, err: errorMessage(err) }, 'flush at meeting end failed'));
    }
  }
}

const LOOPBACK = /^(127\.|::1$|localhost$)/;
const STRONG_TOKEN_LENGTH = 16;

/** The quick start's default token is fine on loopback; reachable from a network it invites anyone in. */
function warnAboutWeakTokens(config: Config, log: Logger): void {
  if (LOOPBACK.test(config.http.host)) return;
  for (const meeting of config.meetings) {
    if (meeting.source.type === 'websocket' && meeting.source.token.length < STRONG_TOKEN_LENGTH) {
      log.warn(
        { meeting: meeting.id, host: config.http.host },
        `ingest token is shorter than ${STRONG_TOKEN_LENGTH} characters on a network-facing address: set a long random INGEST_TOKEN`,
      );
    }
  }
}
