import { once, setMaxListeners } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Config, MeetingConfig } from './config/schema.js';
import { routesAcrossFleet } from './control/fleet/arriving.js';
import type { Fleet } from './control/fleet/fleet.js';
import type { Routes } from './ingest/routes.js';
import { rtmpRouteOf, websocketRouteOf } from './control/running-meeting.js';
import type { StreamTarget } from './ingest/target.js';
import { LocalMeetings } from './control/local-meetings.js';
import type { MeetingHost } from './control/meeting-host.js';
import { onZoomEvent } from './control/zoom-events.js';
import { sharedDecoderPool } from './asr/local/decoder-pool.js';
import { errorMessage } from './errors.js';
import { HttpServer } from './http/server.js';
import { MetricsListener } from './http/metrics-listener.js';
import { locateFfmpeg } from './ingest/ffmpeg.js';
import { RtmpIngest } from './ingest/rtmp.js';
import { WebSocketIngest } from './ingest/websocket.js';
import { NO_PROCESS_LOAD, streamRefusal, type ProcessLoad } from './control/capacity.js';
import type { Logger } from './log.js';
import { BridgeMetrics } from './metrics.js';
import { ZoomApiClient } from './zoom-api/client.js';
import { ClientAddresses } from './security/client-address.js';
import { FailureThrottle } from './security/throttle.js';
import { ZoomWebhookVerifier, type SeenSignatures, type ZoomWebhookEvent } from './zoom-api/webhook.js';
import { FileSeenSignatures, seenEverywhere } from './zoom-api/seen-signatures.js';
import type { FeedHistory } from './caption/caption-feed.js';
import type { FleetOptions } from './control/fleet/options.js';
import type { Etcd3 } from 'etcd3';
import { join } from 'node:path';
import { AccountMeetings } from './control/account-meetings.js';
import { VideoSdkSessions } from './control/video-sdk-sessions.js';
import { VideoSdkApi } from './zoom-api/videosdk.js';
import { MeetingRegistry } from './control/registry.js';
import type { MeetingView } from './pipeline/types.js';
import type { RtmsOptions } from './ingest/zoom-rtms.js';
import { MeetingInstances } from './zoom-api/instances.js';

/** After the flush deadline: time for the destinations to record what never reached Zoom, and the listeners to close. */
const SHUTDOWN_WRAP_UP_MS = 500;
/** Past the flush deadline, the most a stop may take: the wrap-up and a little to spare before the process exits. */
const SHUTDOWN_EXIT_SPARE_MS = 900;

export interface Daemon {
  port: number;
  /** The RTMP listener's port, when the config has one. */
  rtmpPort?: number;
  /** The metrics-only listener's port (http.metricsPort), when the config has one. */
  metricsPort?: number;
  meetings: MeetingView[];
  /**
   * Apply a new config: meetings added, removed or changed start and stop; untouched meetings keep streaming
   * and keep their seq. Listener, state dir and Zoom app changes need a restart (logged).
   */
  reload(config: Config): Promise<void>;
  /** Start captioning one more meeting while the others run (rejects if its id runs already or it cannot start). */
  addMeeting(meeting: MeetingConfig): Promise<void>;
  /** Stop one meeting while the others run: its stream ends after its last captions. Unknown ids are ignored. */
  removeMeeting(id: string): Promise<void>;
  /** Stop taking audio, flush the segmenters, deliver queued captions (bounded), persist state. Safe twice. */
  stop(): Promise<void>;
  /** The longest stop() takes (shutdown.flushSeconds and the wrap-up): a process exits after it whatever is left. */
  readonly stopDeadlineMs: number;
}

export interface DaemonOptions {
  /**
   * How loaded the process is, for /readyz and admission (capacity.ts). The command line gives a ProcessLoadMonitor; a
   * daemon embedded in another program (the tests) measures its host's thread, not its own, so it gets none.
   */
  load?: ProcessLoad & { close?(): void };
}

export async function startDaemon(config: Config, log: Logger, rtmsOptions: RtmsOptions = {}, options: DaemonOptions = {}): Promise<Daemon> {
  const zoomApi = config.zoomApi ? new ZoomApiClient(config.zoomApi, log) : undefined;
  let current = config;
  let stopping: Promise<void> | undefined;
  // RTMS handshakes are signed with the client id and secret of the app that has RTMS: the General app Zoom issues it
  // to (rtmsApp), or the Server-to-Server app where one app does both.
  const rtmsApp = config.rtmsApp ?? config.zoomApi;
  const rtms = rtmsApp
    ? { clientId: rtmsApp.clientId, clientSecret: rtmsApp.clientSecret, allowedHosts: [...(config.zoomApi?.rtmsHosts ?? []), ...(config.rtmsApp?.rtmsHosts ?? [])], ...rtmsOptions }
    : undefined;
  // A Video SDK session's stream is signed with the Video SDK app's key and secret.
  const videoSdkRtms = config.videoSdk
    ? { clientId: config.videoSdk.key, clientSecret: config.videoSdk.secret, allowedHosts: config.videoSdk.rtmsHosts, hostsSetting: 'videoSdk.rtmsHosts', ...rtmsOptions }
    : undefined;
  // Meetings that arrive at runtime (a fleet takeover, an account meeting Zoom starts) take a decoder opened ahead.
  sharedDecoderPool().keepSpares = config.fleet !== undefined || config.accountMeetings !== undefined;
  // In a fleet, one etcd client for membership and for what outlives an owner (caption page history, webhooks seen).
  // Loaded only for a fleet: the etcd client (gRPC) adds a quarter of a second to every start otherwise.
  const etcd = config.fleet ? await fleetData(config.fleet, log) : undefined;
  const feedHistory = etcd?.feedHistory;
  // Each part is made after what it needs and given it as an object, never through a closure over a name made
  // further down: what a part tells those made after it (a stream to end, a publisher replaced) it emits, and they
  // are wired to it once they exist (wireParts). Moving a line above what it uses is then a type error.
  const metrics = new BridgeMetrics();
  const registry = new MeetingRegistry({ stateDir: current.state.dir, log, zoomApi, metrics, rtms, videoSdkRtms, ...(feedHistory ? { feedHistory } : {}) });
  metrics.readFrom(registry);
  const meetings = (): MeetingView[] => registry.views();
  // How late the event loop runs and how long it waits for a CPU: with cloud engines, the signs of a process short of CPU.
  const load: ProcessLoad & { close?(): void } = options.load ?? NO_PROCESS_LOAD;
  const account = config.accountMeetings && zoomApi ? new AccountMeetings(config.accountMeetings, registry, zoomApi, log) : undefined;
  const fleet: Fleet | undefined =
    config.fleet && etcd ? (await import('./control/fleet/fleet.js')).fleetOnEtcd(etcd.client, { options: config.fleet, registry, load, configured: () => current.meetings, account, metrics, log }) : undefined;
  const host: MeetingHost = fleet ?? new LocalMeetings(registry, account);
  // One record of failed attempts for every port: guessing a token on one counts on the others.
  const throttle = new FailureThrottle();
  const clientAddresses = new ClientAddresses(config.http.trustedProxies);
  const clientAddress = (req: IncomingMessage): string => clientAddresses.of(req);
  const { ingest, rtmp } = pushedAudioListeners(config, { registry, fleet, load, throttle, clientAddress, log, listed: () => current.meetings });
  wireParts({ registry, fleet, host, ingest, rtmp });
  // Found before a meeting that needs it is added, so a machine without ffmpeg fails with the fix in the message, not
  // at the first publisher.
  const requireFfmpegFor = (meetings: readonly MeetingConfig[]): void => {
    if (meetings.some((m) => m.source.type === 'rtmp' || m.source.type === 'rtmp-pull')) locateFfmpeg();
  };
  requireFfmpegFor(config.meetings);
  const instances = new MeetingInstances(zoomApi, log);

  // The meetings are listed at once (so /readyz says 503 until they are ready) and their engines load meanwhile.
  // Settled from the start: a start that fails while the listeners open (or fail) is a result, not a stray rejection.
  // In a fleet, the meetings start where etcd says (each process claims its share once it has joined).
  const starting = config.fleet ? Promise.resolve([]) : Promise.allSettled(config.meetings.map((m) => registry.add(m)));
  // Both apps may send their events to /zoom/webhook, each signed with its own Secret Token.
  const webhookSecrets = [config.zoomApi?.webhookSecret, config.rtmsApp?.webhookSecret].filter((secret): secret is string => Boolean(secret));
  // A signed webhook is taken once: not again after a restart (the state dir), nor by another process (etcd).
  const seenSignatures = (file: string): SeenSignatures => {
    const local = new FileSeenSignatures(join(current.state.dir, file), log);
    return etcd ? seenEverywhere(local, etcd.seenSignatures) : local;
  };
  const webhook =
    webhookSecrets.length > 0
      ? { verifier: new ZoomWebhookVerifier(webhookSecrets, Date.now, seenSignatures('webhooks-seen.txt')), onEvent: (event: ZoomWebhookEvent) => onZoomEvent(event, { host, instances, account, log }) }
      : undefined;
  const videoSdk = config.videoSdk;
  const sessions = videoSdk && new VideoSdkSessions({ host, api: new VideoSdkApi(videoSdk), log });
  const http = new HttpServer({
    meetings,
    controls: () => registry.controls(),
    ingest,
    log,
    metrics,
    webhook,
    ...(videoSdk && sessions ? { videoSdkWebhook: { verifier: new ZoomWebhookVerifier(videoSdk.webhookSecret, Date.now, seenSignatures('videosdk-webhooks-seen.txt')), onEvent: (event: ZoomWebhookEvent) => sessions.onEvent(event) } } : {}),
    adminToken: config.http.adminToken,
    throttle,
    readerBudget: { maxReaders: config.http.maxReaders },
    clientAddress,
    fleet,
    captionFeeds: registry.captionFeeds,
    load,
  });
  // Listen first so /healthz answers (and /readyz says 503) while the engines load.
  const address = await http.listen(config.http.port, config.http.host).catch(async (err: unknown) => {
    await registry.close();
    await starting;
    etcd?.client.close();
    throw err;
  });
  log.info({ host: address.address, port: address.port }, 'listening: /healthz /readyz ws /ingest/<meeting>');
  let rtmpPort: number | undefined;
  if (rtmp && config.rtmp) {
    try {
      rtmpPort = (await rtmp.listen(config.rtmp.port, config.rtmp.host)).port;
    } catch (err) {
      await Promise.allSettled([http.close(), registry.close(), starting]);
      etcd?.client.close();
      throw err;
    }
    log.info({ host: config.rtmp.host, port: rtmpPort }, 'listening: rtmp://HOST:PORT/live/<stream key>');
  }
  let metricsListener: MetricsListener | undefined;
  let metricsPort: number | undefined;
  if (config.http.metricsPort !== undefined) {
    metricsListener = new MetricsListener(metrics, log);
    try {
      const at = await metricsListener.listen(config.http.metricsPort, config.http.host);
      metricsPort = at.port;
      log.info({ host: at.address, port: at.port }, 'listening: /metrics (no token: keep this port inside the cluster)');
    } catch (err) {
      await Promise.allSettled([http.close(), rtmp?.close(), registry.close(), starting]);
      etcd?.client.close();
      throw err;
    }
  }

  // A meeting whose engine cannot start is reported and left out; the others run.
  const started = await starting;
  if (started.length > 0 && started.every((r) => r.status === 'rejected')) {
    await Promise.allSettled([http.close(), rtmp?.close(), metricsListener?.close(), registry.close()]);
    etcd?.client.close();
    throw new Error(`no meeting could start: ${errorMessage((started[0] as PromiseRejectedResult).reason)}`);
  }
  fleet?.start();
  log.info({ meetings: meetings().filter((m) => m.state === 'ready').map((m) => m.id), fleet: config.fleet?.name }, 'ready');

  return {
    port: address.port,
    rtmpPort,
    metricsPort,
    get meetings() {
      return meetings();
    },
    async addMeeting(meeting) {
      requireFfmpegFor([meeting]);
      await registry.add(meeting);
    },
    removeMeeting: (id) => registry.remove(id),
    get stopDeadlineMs() {
      return current.shutdown.flushSeconds * 1000 + SHUTDOWN_EXIT_SPARE_MS;
    },
    async reload(next) {
      const restartNeeded = (['http', 'rtmp', 'state', 'zoomApi', 'rtmsApp'] as const).filter((key) => JSON.stringify(next[key]) !== JSON.stringify(current[key]));
      if (restartNeeded.length > 0) log.warn({ sections: restartNeeded }, 'these config sections change only on restart');
      current = { ...next, http: current.http, state: current.state, zoomApi: current.zoomApi, rtmsApp: current.rtmsApp };
      requireFfmpegFor(next.meetings);
      log.level = next.log.level;
      if (fleet) {
        await fleet.reconfigure();
        return void log.info('config reloaded: the fleet claims new meetings, and restarts or lets go the changed ones it owns');
      }
      const changes = await registry.apply(next.meetings, (id) => account?.isRuntime(id) ?? false);
      log.info(changes, 'config reloaded');
    },
    stop() {
      stopping ??= (async () => {
        log.info('shutting down: flushing captions');
        ingest.close();
        const closingRtmp = rtmp?.close();
        // Pulls end inside the flush deadline too: their ffmpeg is killed if it does not stop in time. At the deadline
        // the destinations stop waiting for Zoom, and what is unsent is counted, logged and noted in the archive.
        const flushMs = current.shutdown.flushSeconds * 1000;
        const deadline = AbortSignal.timeout(flushMs);
        // Every meeting and destination listens to it: many listeners is the design, not a leak.
        setMaxListeners(0, deadline);
        // A fleet member lets each meeting go as soon as its captions are out, so another process takes it at once.
        const flushed = (async () => {
          await fleet?.stop(deadline);
          await registry.close(deadline);
        })();
        await Promise.race([flushed, once(deadline, 'abort')]);
        if (deadline.aborted) {
          log.warn({ afterMs: flushMs }, 'shutdown flush deadline reached: captions not yet delivered are recorded as never delivered');
        }
        const wrapUp = AbortSignal.timeout(deadline.aborted ? SHUTDOWN_WRAP_UP_MS : SHUTDOWN_WRAP_UP_MS * 4);
        await Promise.race([Promise.all([flushed, http.close(), closingRtmp, metricsListener?.close()]), once(wrapUp, 'abort')]);
        etcd?.client.close();
        load.close?.();
        log.info('stopped');
      })();
      return stopping;
    },
  };
}

/**
 * The listeners of pushed audio (WebSocket, and RTMP when configured). When the machine cannot keep up, meetings
 * under way go on and new ones are sent elsewhere (capacity.ts); in a fleet, a publisher of a meeting running
 * elsewhere brings it here (arriving.ts) unless this process cannot take it.
 */
function pushedAudioListeners(
  config: Config,
  parts: { registry: MeetingRegistry; fleet: Fleet | undefined; load: ProcessLoad; throttle: FailureThrottle; clientAddress: (req: IncomingMessage) => string; log: Logger; listed: () => readonly MeetingConfig[] },
): { ingest: WebSocketIngest; rtmp: RtmpIngest | undefined } {
  const { registry, fleet, load, throttle, clientAddress, log } = parts;
  const refusal = (id: string): string | undefined => (fleet && !registry.get(id) ? fleet.publisherRefusal(id) : streamRefusal(registry.views(), id, load));
  const acrossFleet = <T>(here: Routes<T>, routeOf: (config: MeetingConfig, pipeline: StreamTarget) => T | undefined): Routes<T> =>
    fleet ? routesAcrossFleet(here, parts.listed, routeOf, (id) => fleet.takeStream(id)) : here;
  const ingest = new WebSocketIngest(acrossFleet(registry.websocketRoutes, websocketRouteOf), log, { throttle, allowedOrigins: config.http.allowedOrigins, refusal, clientAddress });
  const rtmp = config.rtmp ? new RtmpIngest(acrossFleet(registry.rtmpRoutes, (m, pipeline) => rtmpRouteOf(m, pipeline)), log, throttle, refusal) : undefined;
  return { ingest, rtmp };
}

/** What the registry and the fleet tell the parts made after them. */
function wireParts(parts: { registry: MeetingRegistry; fleet: Fleet | undefined; host: MeetingHost; ingest: WebSocketIngest; rtmp: RtmpIngest | undefined }): void {
  const { registry, fleet, host, ingest, rtmp } = parts;
  const endStream = (id: string, reason?: string): void => {
    ingest.endStream(id, reason);
    rtmp?.endStream(id);
  };
  registry.on('end-stream', (id) => endStream(id));
  registry.on('rtms-ended', (id) => host.streamEnded(id));
  fleet?.on('replace-publisher', endStream);
}

/** The fleet's etcd client, and the stores that keep what must outlive a meeting's owner in it. */
async function fleetData(options: FleetOptions, log: Logger): Promise<{ client: Etcd3; feedHistory: (meetingId: string) => FeedHistory; seenSignatures: SeenSignatures }> {
  const { connectEtcd, dataPrefix } = await import('./control/fleet/etcd-client.js');
  const { EtcdFeedHistory, EtcdSeenSignatures } = await import('./control/fleet/etcd-data.js');
  const client = connectEtcd(options.etcd);
  const data = client.namespace(dataPrefix(options.etcd.prefix));
  const historyLease = EtcdFeedHistory.leaseFor(data);
  return {
    client,
    feedHistory: (meetingId) => new EtcdFeedHistory(data, historyLease, meetingId, log),
    seenSignatures: new EtcdSeenSignatures(data, log),
  };
}
