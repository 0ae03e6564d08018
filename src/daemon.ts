import { join } from 'node:path';
import type { Config } from './config/schema.js';
import { errorMessage } from './errors.js';
import { HttpServer } from './http/server.js';
import { WebSocketIngest, type IngestTarget } from './ingest/websocket.js';
import type { Logger } from './log.js';
import { ZoomApiClient } from './zoom-api/client.js';
import { ZoomWebhookVerifier, type ZoomWebhookEvent } from './zoom-api/webhook.js';
import { MeetingPipeline } from './pipeline/meeting.js';

/** How long a shutdown may spend flushing captions before it gives up on them. */
const SHUTDOWN_FLUSH_MS = 10_000;

export interface Daemon {
  port: number;
  meetings: MeetingPipeline[];
  /** Stop taking audio, flush the segmenters, deliver queued captions (bounded), persist state. Safe twice. */
  stop(): Promise<void>;
}

export async function startDaemon(config: Config, log: Logger): Promise<Daemon> {
  const zoomApi = config.zoomApi ? new ZoomApiClient(config.zoomApi, log) : undefined;
  const meetings = config.meetings.map((m) => new MeetingPipeline(m, join(config.state.dir), log, zoomApi));
  const targets = new Map<string, IngestTarget>();
  config.meetings.forEach((m, i) => {
    if (m.source.type === 'websocket') targets.set(m.id, { pipeline: meetings[i]!, token: m.source.token });
  });
  warnAboutWeakTokens(config, log);
  const ingest = new WebSocketIngest(targets, log);
  const webhookSecret = config.zoomApi?.webhookSecret;
  const webhook = webhookSecret
    ? { verifier: new ZoomWebhookVerifier(webhookSecret), onEvent: (event: ZoomWebhookEvent) => onZoomEvent(event, meetings, ingest, log) }
    : undefined;
  const http = new HttpServer(meetings, ingest, log, webhook);
  // Listen first so /healthz answers (and /readyz says 503) while the engines load.
  const address = await http.listen(config.http.port, config.http.host);
  log.info({ host: address.address, port: address.port }, 'listening: /healthz /readyz ws /ingest/<meeting>');

  // A meeting whose engine cannot start is reported and left out; the others run.
  const started = await Promise.allSettled(meetings.map((m) => m.start()));
  started.forEach((result, i) => {
    if (result.status === 'rejected') log.error({ meeting: meetings[i]!.id, err: result.reason as Error }, 'meeting failed to start');
  });
  if (started.every((r) => r.status === 'rejected')) {
    await Promise.allSettled([http.close(), ...meetings.map((m) => m.close())]);
    throw new Error(`no meeting could start: ${errorMessage((started[0] as PromiseRejectedResult).reason)}`);
  }
  log.info({ meetings: meetings.filter((m) => m.state === 'ready').map((m) => m.id) }, 'ready');

  let stopping: Promise<void> | undefined;
  return {
    port: address.port,
    meetings,
    stop() {
      stopping ??= (async () => {
        log.info('shutting down: flushing captions');
        ingest.close();
        const flushed = Promise.allSettled(meetings.map((m) => m.close()));
        const timedOut = await Promise.race([
          flushed.then(() => false),
          new Promise<boolean>((resolve) => setTimeout(resolve, SHUTDOWN_FLUSH_MS, true).unref()),
        ]);
        if (timedOut) log.warn({ afterMs: SHUTDOWN_FLUSH_MS }, 'shutdown flush timed out; remaining captions dropped');
        await http.close();
        log.info('stopped');
      })();
      return stopping;
    },
  };
}

/** meeting.started fetches the Caption URL at once; meeting.ended flushes the stream and drops the URL. */
function onZoomEvent(event: ZoomWebhookEvent, meetings: MeetingPipeline[], ingest: WebSocketIngest, log: Logger): void {
  const id = event.payload?.object?.id === undefined ? undefined : String(event.payload.object.id);
  const concerned = id === undefined ? [] : meetings.filter((m) => m.zoomIds.includes(id));
  log.info({ event: event.event, zoomId: id, meetings: concerned.map((m) => m.id) }, 'Zoom webhook');
  for (const meeting of concerned) {
    if (event.event === 'meeting.started' || event.event === 'webinar.started') meeting.zoomMeetingStarted();
    if (event.event === 'meeting.ended' || event.event === 'webinar.ended') {
      ingest.endStream(meeting.id);
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
