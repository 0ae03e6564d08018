import { CaptionFeed } from '../caption/caption-feed.js';
import { oneLine } from '../pipeline/desk.js';
import { zoomTargetsOf, type MeetingConfig } from '../config/schema.js';
import { BridgeError, errorMessage } from '../errors.js';
import { RtmpPull } from '../ingest/rtmp-pull.js';
import type { RtmpTarget } from '../ingest/rtmp.js';
import type { IngestTarget } from '../ingest/websocket.js';
import { ZoomLivestream } from '../ingest/zoom-livestream.js';
import { RtmsConnection, type RtmsCredentials, type RtmsOptions, type RtmsStart } from '../ingest/zoom-rtms.js';
import type { Logger } from '../log.js';
import { targetOf } from '../zoom-api/target.js';
import { transcriptLanguageId, TRANSCRIPT_LANGUAGE_AUTO } from '../zoom-api/rtms-protocol.js';
import { zoomTranscriptEngine, type AsrConfig } from '../asr/options.js';
import { LiveView } from '../pipeline/live-view.js';
import type { RtmsSignal } from './meeting-host.js';
import { MeetingPipeline, type MeetingDeps } from '../pipeline/meeting.js';
import type { ConsoleAction, ConsoleView, MeetingControl } from '../pipeline/types.js';
import type { StreamTarget } from '../ingest/target.js';

/** What a meeting needs from the process that runs it. */
export interface RunningMeetingDeps extends MeetingDeps {
  /** The Zoom app's credentials (they sign RTMS handshakes) and the reconnect policy, when there is a Zoom app. */
  rtms?: RtmsCredentials & RtmsOptions;
  /** The same for Video SDK sessions: the Video SDK app's key and secret, when the config has a videoSdk section. */
  videoSdkRtms?: RtmsCredentials & RtmsOptions;
  /** End the meeting's current stream on every listener, as CloseStream would. */
  endStream(meetingId: string): void;
  /**
   * The meeting's RTMS stream ended on its own (Zoom stopped the session, the stream is gone, Zoom refused it for
   * good), not by a webhook or the operator: a meeting made for that stream has nothing more to caption.
   */
  rtmsEnded?(meetingId: string): void;
}

/**
 * One meeting and everything it owns: its pipeline, its RTMP pull, its RTMS connection, its live stream. The
 * listeners find it through its routes (the registry reads them); `close()` releases all of it in order (no new
 * audio, the stream in progress finished, the engine and sinks closed).
 */
export class RunningMeeting implements MeetingControl {
  readonly pipeline: MeetingPipeline;
  private readonly live: LiveView;
  private pull: RtmpPull | undefined;
  private rtms: RtmsConnection | undefined;
  private readonly livestream: ZoomLivestream | undefined;
  /** The stream key of the Zoom live stream under way towards the bridge (zoom-livestream sources). */
  private livestreamKey: string | undefined;
  private readonly rtmsSettings: (RtmsCredentials & RtmsOptions) | undefined;
  private readonly endStream: () => void;
  private readonly rtmsEnded: ((meetingId: string) => void) | undefined;
  private readonly zoomApi: RunningMeetingDeps['zoomApi'];
  private closing: Promise<void> | undefined;

  constructor(
    readonly config: MeetingConfig,
    deps: RunningMeetingDeps,
    private readonly log: Logger,
  ) {
    // A Video SDK session's stream is signed with the Video SDK app's key and secret, a meeting's with the Zoom app's.
    this.rtmsSettings = config.source.type === 'zoom-videosdk' ? deps.videoSdkRtms : deps.rtms;
    this.rtmsEnded = deps.rtmsEnded;
    this.zoomApi = deps.zoomApi;
    this.endStream = () => deps.endStream(config.id);
    this.pipeline = new MeetingPipeline(config, deps);
    this.live = new LiveView(this.pipeline);
    const { source } = config;
    if (source.type === 'zoom-livestream' && deps.zoomApi) {
      const pageUrl = source.pageUrl ?? `https://${new URL(source.rtmpUrl).hostname}/`;
      // The schema requires exactly one of the two ids.
      this.livestream = new ZoomLivestream({ target: targetOf(source)!, rtmpUrl: source.rtmpUrl, pageUrl }, deps.zoomApi, {
        accept: (streamKey) => (this.livestreamKey = streamKey),
        refuse: () => {
          this.livestreamKey = undefined;
          this.endStream();
        },
        problem: (sentence) => this.pipeline.sourceProblem(sentence),
      }, log.child({ meeting: config.id }));
    }
  }

  /**
   * The Zoom meeting started or ended (webhook): destinations that fetch their Caption URL act on it, a live
   * stream is started towards the bridge or stopped, an RTMS stream ends with the meeting.
   */
  async zoomMeeting(event: 'started' | 'ended'): Promise<void> {
    if (this.closing) return;
    if (event === 'started') {
      await Promise.all([this.pipeline.zoomMeeting('started'), this.livestream?.start()]);
      return;
    }
    this.endStream();
    await Promise.all([this.livestream?.stop(), this.rtmsStopped(undefined, 'the Zoom meeting ended')]);
    await this.pipeline.zoomMeeting('ended');
  }

  get id(): string {
    return this.config.id;
  }

  /** Where a WebSocket publisher's audio goes, and the token it must present; none once the meeting closes. */
  get websocketRoute(): IngestTarget | undefined {
    return this.closing ? undefined : websocketRouteOf(this.config, this.pipeline);
  }

  /** The meeting's caption page and feed, when its captions include a page; none once the meeting closes. */
  get captionFeed(): CaptionFeed | undefined {
    return this.closing ? undefined : this.pipeline.sinks.find((sink): sink is CaptionFeed => sink instanceof CaptionFeed);
  }

  /** Where an RTMP publisher's audio goes, and its stream key (a Zoom live stream's: while one is under way). */
  get rtmpRoute(): RtmpTarget | undefined {
    return this.closing ? undefined : rtmpRouteOf(this.config, this.pipeline, this.livestreamKey);
  }

  /**
   * Zoom started the meeting's RTMS stream (or started it again elsewhere: failover). One stream at a time; a new
   * stream id replaces the old one, whose audio so far is still captioned.
   */
  rtmsStarted(start: RtmsStart): void {
    if (this.closing || !this.rtmsSettings || this.pipeline.state === 'failed') return;
    if (this.rtms && !this.rtms.isStopped && this.rtms.streamId === start.streamId) {
      // The same stream at the same servers is Zoom retrying its webhook: the connection in place stays.
      if (this.rtms.serverUrls === start.serverUrls) return void this.log.info({ meeting: this.id, rtmsStream: start.streamId }, 'rtms_started repeated (a webhook retry): ignored');
      return this.rtms.failover(start);
    }
    void this.rtms?.stop('replaced by a new RTMS stream');
    const connection = new RtmsConnection(this.pipeline, start, this.rtmsSettings, this.log, {
      ...this.rtmsSettings,
      speakerNames: this.config.display.speakerNames,
      ...zoomTranscriptOptions(this.config.asr),
      ...(this.config.asr.meetingWords ? { participantNames: (names: string[]) => this.pipeline.learnMeetingWords({ names }) } : {}),
    });
    this.rtms = connection;
    // Stopped from here (webhook, operator, replacement, close) it is no longer this.rtms by the time it is done.
    void connection.done.then(() => {
      if (this.rtms !== connection || this.closing) return;
      this.rtms = undefined;
      this.rtmsEnded?.(this.id);
    });
    connection.connect();
  }

  /** What Zoom said of the RTMS stream (a webhook, here or through the fleet), carried out. */
  async rtmsSignal(signal: RtmsSignal): Promise<void> {
    if (signal.what === 'started') return this.rtmsStarted(signal.start);
    if (signal.what === 'interrupted') return this.rtmsInterrupted(signal.streamId);
    await this.rtmsStopped(signal.streamId, signal.why);
  }

  rtmsInterrupted(streamId: string): void {
    if (this.rtms?.streamId === streamId) this.rtms.interrupted();
  }

  /** rtms_stopped, or the meeting ended: the stream ends after its last captions. */
  async rtmsStopped(streamId: string | undefined, why: string): Promise<void> {
    if (!this.rtms || (streamId !== undefined && this.rtms.streamId !== streamId)) return;
    const rtms = this.rtms;
    this.rtms = undefined;
    await rtms.stop(why);
  }

  consoleView(): ConsoleView {
    const { recognizer } = this.pipeline;
    return this.live.view({ paused: this.pipeline.isPaused, canSwitchEngine: recognizer.switchEngine !== undefined, activeEngine: recognizer.activeEngine, desk: { ...this.pipeline.desk.view(), sent: (this.captionFeed?.recent(SENT_SHOWN) ?? []).map(({ seq, text }) => ({ seq, text: oneLine(text) })), notHeld: this.pipeline.destinationsNotHeld } });
  }

  /** An operator's action from the console: done, logged with who, and written to the archive. */
  async act(action: ConsoleAction, who: string): Promise<string> {
    const record = (did: string): string => (this.pipeline.recordOperator(who, did), `Done: ${did}.`);
    switch (action.action) {
      case 'pause':
        this.pipeline.setPaused(true);
        return record('paused captions');
      case 'resume':
        this.pipeline.setPaused(false);
        return record('resumed captions');
      case 'caption': {
        const results = await this.pipeline.sendCaption(action.text);
        const zoom = results.find((r) => r.seq !== undefined);
        record(`sent a caption: ${action.text}`);
        return zoom ? `Sent as seq ${zoom.seq} (${zoom.status}).` : `Sent (${results.map((r) => r.status).join(', ') || 'no destination'}).`;
      }
      case 'replacement':
        this.pipeline.addReplacement(action.from, action.to);
        return record(`replacement "${action.from}" -> "${action.to}" (this meeting, until restart; not saved to the config file)`);
      case 'end-stream':
        this.endStream();
        await this.rtmsStopped(undefined, 'ended by an operator');
        return record('ended the current stream');
      case 'next-engine': {
        const next = this.pipeline.recognizer.switchEngine?.();
        if (!next) throw new BridgeError('ASR_ENGINE_UNAVAILABLE', 'no other engine is configured and running for this meeting (asr.fallback)');
        return record(`switched the speech engine to ${next}`);
      }
      case 'hold':
        this.pipeline.desk.setHold(action.ms);
        return record(action.ms === 0 ? 'stopped holding captions for the desk' : `holds each caption ${action.ms} ms for the desk`);
      case 'take-pen': {
        const from = this.pipeline.desk.takePen(who);
        return record(from && from !== who ? `took the pen from ${from}` : 'took the pen');
      }
      case 'edit': {
        const { from, to } = this.pipeline.desk.edit(action.id, action.text, who);
        return record(`corrected "${from}" to "${to}"`);
      }
      case 'drop':
        return record(`dropped "${this.pipeline.desk.drop(action.id, who)}"`);
      case 'split': {
        const [first, second] = this.pipeline.desk.split(action.id, action.at, who);
        return record(`split a caption into "${first}" and "${second}"`);
      }
      case 'join':
        return record(`joined two captions into "${this.pipeline.desk.join(action.id, who)}"`);
      case 'correct-sent': {
        this.pipeline.desk.requirePen(who);
        const feed = this.captionFeed;
        if (!feed) throw new BridgeError('DESK_REFUSED', "this meeting has no caption page: a caption already sent to Zoom cannot be changed in Zoom's box");
        const before = feed.correct(action.seq, action.text);
        if (before === undefined) throw new BridgeError('DESK_REFUSED', 'that caption is no longer kept by the caption page');
        // The archive and transcript files that had it are rewritten too (a caption of an earlier run is not: its
        // file is that run's); this record, a NOTE in the archive, keeps what it said before.
        const caption = feed.captionOf(action.seq);
        const rewritten = caption ? await this.pipeline.rewriteSent(caption, action.text) : [];
        const where = ['caption page and feed', ...rewritten].join(', ');
        return record(`corrected sent caption ${action.seq} "${before}" to "${action.text}" (${where}; Zoom's box keeps what it showed)`);
      }
      case 'answer-offer':
        this.pipeline.desk.settleOffer(action.from);
        if (!action.accept) return record(`declined always writing "${action.from}" as "${action.to}"`);
        this.pipeline.addReplacement(action.from, action.to);
        const expected = this.pipeline.expectWord(action.to) ? `; the engine is asked to expect "${action.to}"` : '; not asked of the engine (it takes no vocabulary mid-meeting, or 40 such words are asked already)';
        return record(`replacement "${action.from}" -> "${action.to}" (offered after two corrections; this meeting, until restart${expected})`);
    }
  }

  /** The Zoom meeting's topic and agenda, as vocabulary for its engine (asr.meetingWords), read once at start. */
  private async readMeetingWords(): Promise<void> {
    const target = zoomTargetsOf(this.config)[0];
    if (!this.config.asr.meetingWords || !this.zoomApi || !target) return;
    try {
      const { topic, agenda } = await this.zoomApi.details(target);
      if (!this.closing) this.pipeline.learnMeetingWords({ ...(topic ? { topic } : {}), ...(agenda ? { agenda } : {}) });
    } catch (err) {
      this.log.warn({ meeting: this.id, err: errorMessage(err) }, "the meeting's topic and agenda could not be read for its vocabulary");
    }
  }

  /** Load the engine and open the destinations; a pulled source starts once the meeting can take its audio. */
  async start(): Promise<void> {
    try {
      await this.pipeline.start();
    } catch (err) {
      this.log.error({ meeting: this.id, err: errorMessage(err) }, 'meeting failed to start');
      // Zoom's audio may have been dialled while it started: nothing will read it.
      await this.rtmsStopped(undefined, 'the meeting failed to start');
      throw err;
    }
    const { source } = this.config;
    if (source.type === 'rtmp-pull' && !this.closing) this.pull = new RtmpPull(this.pipeline, source.url, this.log);
    void this.readMeetingWords();
    // The meeting may be running already (the bridge restarted mid-meeting); if not, meeting.started starts it.
    if (this.livestream) void this.livestream.start();
  }

  /**
   * Another process may own this meeting from now on: nothing more goes to its destinations, then it closes
   * without waiting for them (what was unsent is recorded as such).
   */
  fenceAndClose(): Promise<void> {
    this.pipeline.fence();
    return this.close(AbortSignal.abort());
  }

  /**
   * Stop taking audio, finish the stream in progress, close the engine and the destinations (no longer waiting for
   * Zoom once `deadline` is aborted). Safe twice.
   */
  close(deadline?: AbortSignal): Promise<void> {
    this.closing ??= (async () => {
      this.endStream();
      await this.livestream?.stop();
      await this.rtmsStopped(undefined, 'meeting closed');
      await this.pull?.close();
      await this.pipeline.close(deadline);
      this.pipeline.removeAllListeners();
    })();
    return this.closing;
  }
}

/** Where a WebSocket publisher of the meeting streams to, and the token it must present (websocket sources). */
export function websocketRouteOf(config: MeetingConfig, pipeline: StreamTarget): IngestTarget | undefined {
  const { source } = config;
  return source.type === 'websocket' ? { pipeline, token: source.token, idleTimeoutMs: source.idleTimeoutMs } : undefined;
}

/** Where an RTMP publisher of the meeting streams to, and its stream key (the config's, or a Zoom live stream's). */
export function rtmpRouteOf(config: MeetingConfig, pipeline: StreamTarget, livestreamKey?: string): RtmpTarget | undefined {
  const streamKey = config.source.type === 'rtmp' ? config.source.streamKey : livestreamKey;
  return streamKey === undefined ? undefined : { pipeline, streamKey };
}

/** Captions already on the caption page that the desk lists for correcting. */
const SENT_SHOWN = 5;

/** What the RTMS connection asks of Zoom's transcript when an engine of the meeting reads it (else nothing: it is billed). */
function zoomTranscriptOptions(asr: AsrConfig): Pick<RtmsOptions, 'transcript'> {
  const engine = zoomTranscriptEngine(asr);
  if (!engine) return {};
  return { transcript: { srcLanguage: transcriptLanguageId(engine.language) ?? TRANSCRIPT_LANGUAGE_AUTO, enableLid: engine.identifyLanguage } };
}
