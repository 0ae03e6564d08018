import { randomBytes } from 'node:crypto';
import { errorMessage, isBridgeError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ZoomApiClient } from '../zoom-api/client.js';
import { describeTarget, type ZoomTarget } from '../zoom-api/target.js';

export interface LivestreamOptions {
  target: ZoomTarget;
  /** Where Zoom's cloud can reach this bridge's RTMP listener, without the key: rtmp://captions.example.org:1935/live */
  rtmpUrl: string;
  /** Zoom requires a page URL for a custom live stream; nobody watches it here. */
  pageUrl: string;
}

/** What the livestream needs from its meeting: a stream key the RTMP listener accepts for it, and a place to say what is wrong. */
export interface LivestreamRoute {
  accept(streamKey: string): void;
  refuse(): void;
  problem(sentence: string | undefined): void;
}

const SETTINGS_HINT =
  'custom live streaming must be allowed for the account and the host (Zoom web portal: Settings > Meeting > In Meeting (Advanced) > ' +
  '"Allow livestreaming of meetings" with "Custom Live Streaming Service"), and the host needs a Pro or higher licence';

/**
 * Zoom's custom live streaming, pointed at this bridge: when the meeting starts, the bridge gives Zoom its own RTMP
 * address with a fresh random key for this meeting (PATCH .../livestream), starts the stream (PATCH
 * .../livestream/status, action start), and takes the audio from Zoom's RTMP push like any publisher's. For accounts
 * without RTMS. The key is new at every start, so an old one is worthless.
 */
export class ZoomLivestream {
  private live = false;
  /** A start under way: a second meeting.started (a webhook retry, or the start at boot racing the webhook) joins it. */
  private starting: Promise<boolean> | undefined;
  private readonly log: Logger;

  constructor(
    private readonly options: LivestreamOptions,
    private readonly api: ZoomApiClient,
    private readonly route: LivestreamRoute,
    log: Logger,
  ) {
    this.log = log.child({ livestream: describeTarget(options.target) });
  }

  /**
   * The meeting is running (webhook, or at the bridge's start): point its live stream here and start it. A stream
   * already live keeps its key: a new one would cut Zoom's push under way.
   */
  start(): Promise<boolean> {
    if (this.live) return Promise.resolve(true);
    this.starting ??= this.startOnce().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async startOnce(): Promise<boolean> {
    const streamKey = randomBytes(24).toString('hex');
    this.route.accept(streamKey);
    try {
      await this.api.setLivestream(this.options.target, { url: this.options.rtmpUrl, key: streamKey, pageUrl: this.options.pageUrl });
      await this.api.setLivestreamStatus(this.options.target, 'start');
    } catch (err) {
      this.route.refuse();
      if (isBridgeError(err, 'ZOOM_MEETING_NOT_STARTED')) {
        this.log.info('the meeting has not started: its live stream starts when Zoom says it has');
        return false;
      }
      const sentence = `Zoom would not start the live stream to the bridge: ${errorMessage(err)}; ${SETTINGS_HINT}`;
      this.route.problem(sentence);
      this.log.error({ code: isBridgeError(err) ? err.code : undefined }, sentence);
      return false;
    }
    this.live = true;
    this.route.problem(undefined);
    this.log.info({ rtmpUrl: this.options.rtmpUrl }, 'Zoom live stream started towards the bridge');
    return true;
  }

  /** The meeting ended (or the bridge stops): stop the live stream and forget its key. Safe twice. */
  async stop(): Promise<void> {
    this.route.refuse();
    if (!this.live) return;
    this.live = false;
    try {
      await this.api.setLivestreamStatus(this.options.target, 'stop');
      this.log.info('Zoom live stream stopped');
    } catch (err) {
      // After meeting.ended Zoom has stopped it already; nothing is lost either way.
      this.log.debug({ err: errorMessage(err) }, 'stopping the live stream: Zoom refused (the meeting may be over)');
    }
  }
}
