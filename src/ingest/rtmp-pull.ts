import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { StreamTarget } from './target.js';
import { redactStreamUrl, streamUrlSecrets } from '../redact.js';
import { FfmpegAudio, privateInput } from './ffmpeg.js';
import { StreamBuffer } from './stream-buffer.js';
import { Backoff, pause, type RetryPolicy } from '../util/backoff.js';

/** Waits between attempts: quick at first (a blip), then every 30 s (a mixer switched off for the break). */
const RECONNECT: RetryPolicy = { initialMs: 1_000, maxMs: 30_000 };
/** A stream that ran this long was a real one: the next drop starts the backoff from the beginning. */
const HEALTHY_AFTER_MS = 30_000;
/** ffmpeg gives up on a source that sends nothing for this long (its -rw_timeout, in microseconds below). */
const READ_TIMEOUT_MS = 10_000;

/**
 * RTMP pull: the bridge plays a stream someone else serves (rtmp://mixer.local/live/main), through ffmpeg, and
 * when it drops or cannot be reached, tries again with backoff for as long as the meeting runs. Each connection is
 * one stream to the meeting, like a WebSocket publisher that reconnects.
 */
export class RtmpPull {
  private current: FfmpegAudio | undefined;
  private closed = false;
  /** Aborted by close(): ends the wait between attempts at once. */
  private readonly closing = new AbortController();
  private readonly log: Logger;
  private readonly loop: Promise<void>;

  constructor(
    private readonly pipeline: StreamTarget,
    private readonly url: string,
    log: Logger,
  ) {
    this.log = log.child({ meeting: pipeline.id, source: redactStreamUrl(url) });
    this.loop = this.run().catch((err: unknown) => this.log.error({ err: errorMessage(err) }, 'rtmp pull stopped by a failure (a bug): this source is not pulled until the meeting restarts'));
  }

  private async run(): Promise<void> {
    const waits = new Backoff(RECONNECT);
    while (!this.closed) {
      const started = Date.now();
      const buffer = new StreamBuffer(this.pipeline, (reason) => {
        this.log.warn({ reason }, 'rtmp pull source too fast: reconnecting');
        void ffmpeg.stop();
      });
      // The meeting's stream begins with the first audio, so attempts on an absent source leave no empty streams.
      let stream: Promise<unknown> | undefined;
      const source = privateInput(this.url, { rw_timeout: String(READ_TIMEOUT_MS * 1000) });
      const ffmpeg = new FfmpegAudio({
        input: source.input,
        secrets: streamUrlSecrets(this.url),
        onSamples: (samples) => {
          if (!stream) {
            source.dispose();
            this.log.info('rtmp pull connected');
            stream = this.pipeline.runStream(buffer.stream, `pull ${redactStreamUrl(this.url)}`).catch(() => undefined);
          }
          buffer.push(samples);
        },
        log: this.log,
      });
      this.current = ffmpeg;
      const code = await ffmpeg.exited;
      source.dispose();
      buffer.audio.end();
      await stream;
      const received = stream !== undefined;
      if (this.closed) break;
      // A stream that ran a while was healthy: reconnect at once, and start the backoff over if that fails.
      const healthy = received && Date.now() - started >= HEALTHY_AFTER_MS;
      if (healthy) waits.reset();
      const delay = healthy ? 0 : waits.next()!;
      this.log.warn({ code, retryInMs: delay }, received ? 'rtmp pull stream ended; reconnecting' : 'rtmp pull source unreachable; retrying');
      await pause(delay, this.closing.signal);
    }
  }

  /** Stop pulling; the stream in progress ends after its last captions. Safe twice. */
  async close(): Promise<void> {
    this.closed = true;
    this.closing.abort();
    await this.current?.stop();
    await this.loop;
  }
}
