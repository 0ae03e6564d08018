import { join } from 'node:path';
import { createRecognizer } from '../asr/create.js';
import type { SpeechEvent, SpeechRecognizer } from '../asr/types.js';
import { StdoutSink } from '../caption/stdout-sink.js';
import type { CaptionSink, OutgoingCaption, SinkResult } from '../caption/sink.js';
import { pruneArchive } from '../caption/archive.js';
import { TranscriptFileSink } from '../caption/transcript-sink.js';
import { ZoomSink } from '../caption/zoom-sink.js';
import { ZoomApiSink } from '../caption/zoom-api-sink.js';
import type { ZoomApiClient } from '../zoom-api/client.js';
import type { MeetingConfig } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import { PCM_SAMPLE_RATE, type AudioItem } from '../audio.js';
import type { BridgeMetrics } from '../metrics.js';
import type { Logger } from '../log.js';
import { createDisplay } from '../display/create.js';
import { displayPosts } from '../display/stream.js';
import type { DisplayMode, DisplayPost } from '../display/types.js';
import { Segmenter, type SettledPiece } from '../segmenter/segmenter.js';
import { TextRules } from '../segmenter/text-rules.js';
import { settleWords } from '../segmenter/stream.js';
import { AsyncQueue } from '../util/async-queue.js';

export type MeetingState = 'starting' | 'ready' | 'streaming' | 'failed' | 'closed';

export interface StreamSummary {
  captions: number;
  words: number;
  audioSeconds: number;
}

export interface MeetingStats {
  streams: number;
  captions: number;
  words: number;
  audioSeconds: number;
  droppedSeconds: number;
}

/** A caption destination with the display mode its POSTs follow, and the last thing it showed. */
export interface Destination {
  sink: CaptionSink;
  mode: DisplayMode;
  lastPost?: { text: string; seq?: number; at: number };
}

export interface MeetingDeps {
  stateDir: string;
  log: Logger;
  /** Present when the config has a zoomApi section: Caption URLs by meeting or webinar id. */
  zoomApi?: ZoomApiClient;
  metrics?: BridgeMetrics;
}

/**
 * One meeting: its recognizer, its caption destinations, and the flow between them. Streams of audio are
 * transcribed one at a time; a new publisher's stream waits until the previous one has flushed.
 */
export class MeetingPipeline {
  state: MeetingState = 'starting';
  readonly recognizer: SpeechRecognizer;
  readonly destinations: Destination[] = [];
  readonly stats: MeetingStats = { streams: 0, captions: 0, words: 0, audioSeconds: 0, droppedSeconds: 0 };
  private readonly metrics: BridgeMetrics | undefined;
  /** Wall-clock ms the pipeline was created: transcript cue times count from here. */
  private readonly epoch = Date.now();
  /** Built once per meeting: the profanity matcher and replacement list are shared by all its streams. */
  private readonly textRules: TextRules;
  private streamChain: Promise<unknown> = Promise.resolve();
  private readonly log: Logger;
  /** The meeting's WebVTT archive, which also records captions that never reached Zoom. */
  private archive: TranscriptFileSink | undefined;
  private readonly archiveDir: string;

  constructor(
    readonly config: MeetingConfig,
    { stateDir, log, zoomApi, metrics }: MeetingDeps,
  ) {
    this.log = log.child({ meeting: config.id });
    this.metrics = metrics;
    this.recognizer = createRecognizer(config.asr, this.log);
    this.textRules = new TextRules(config.text);
    this.archiveDir = join(stateDir, 'transcripts', config.id);
    for (const destination of config.captions) {
      if (destination.zoom) {
        const zoom = destination.zoom;
        const lang = zoom.lang ?? config.asr.language;
        const shared = { lang, stateDir: join(stateDir, 'seq'), requestTimeoutMs: zoom.requestTimeoutMs, giveUpAfterMs: zoom.giveUpAfterMs };
        if (zoom.url === undefined) {
          // The schema guarantees credentials (hence a client) whenever a meeting or webinar id is given.
          const target = zoom.meetingId !== undefined ? { meetingId: zoom.meetingId } : { webinarId: zoom.webinarId! };
          this.destinations.push({ sink: new ZoomApiSink({ target, ...shared }, zoomApi!, this.log), mode: zoom.display });
          continue;
        }
        if (zoom.url === '') {
          this.log.warn('zoom caption URL is empty (optional): captions go to the other destinations only');
          continue;
        }
        this.destinations.push({ sink: new ZoomSink({ url: zoom.url, ...shared }, this.log), mode: zoom.display });
      } else if (destination.file) {
        // Transcripts hold each word once, in blocks, whatever the Zoom destinations show.
        this.destinations.push({ sink: new TranscriptFileSink(destination.file.path, this.log), mode: 'blocks' });
      } else if (destination.stdout) {
        this.destinations.push({ sink: new StdoutSink(config.id), mode: 'blocks' });
      }
    }
    // After the configured destinations, so their index in metrics is their index in the config.
    if (config.archive) {
      const started = new Date(this.epoch).toISOString();
      const base = join(this.archiveDir, started.replace(/[:.]/g, '-'));
      const note = `meeting ${config.id}; cue times count from ${started}`;
      this.archive = new TranscriptFileSink(`${base}.vtt`, this.log, note);
      this.destinations.push({ sink: this.archive, mode: 'blocks' }, { sink: new TranscriptFileSink(`${base}.srt`, this.log), mode: 'blocks' });
    }
  }

  get id(): string {
    return this.config.id;
  }

  get sinks(): CaptionSink[] {
    return this.destinations.map((d) => d.sink);
  }

  async start(): Promise<void> {
    try {
      // Trimmed before this run's files are created, so a size limit never takes the run that is starting.
      if (this.config.archive) await pruneArchive(this.archiveDir, this.config.archive, this.log);
      await Promise.all([this.recognizer.start(), ...this.sinks.map((sink) => sink.start())]);
      this.state = 'ready';
      this.log.info({ engine: this.recognizer.engine, destinations: this.sinks.map((s) => s.description) }, 'meeting ready');
    } catch (err) {
      this.state = 'failed';
      throw err;
    }
  }

  /** Transcribe one publisher's stream; resolves after its last caption was delivered or given up. */
  /** `onSpeech` sees the recognizer's events as they come (the Deepgram-compatible path sends them back). */
  runStream(audio: AsyncIterable<AudioItem>, publisher: string, onSpeech?: (event: SpeechEvent) => void): Promise<StreamSummary> {
    const run = this.streamChain.then(() => this.transcribeStream(audio, publisher, onSpeech));
    this.streamChain = run.catch(() => undefined);
    return run;
  }

  private async transcribeStream(audio: AsyncIterable<AudioItem>, publisher: string, onSpeech?: (event: SpeechEvent) => void): Promise<StreamSummary> {
    const streamStart = Date.now();
    const offset = (streamStart - this.epoch) / 1000;
    const summary: StreamSummary = { captions: 0, words: 0, audioSeconds: 0 };
    const inFlight = new Set<Promise<unknown>>();
    this.state = 'streaming';
    this.stats.streams += 1;
    this.metrics?.streams.inc({ meeting: this.id });
    this.log.info({ publisher }, 'stream started');

    // One display per mode in use; each paces its own destinations (a slow one must not hold up recognition).
    const modes = [...new Set(this.destinations.map((d) => d.mode))];
    const feeds = modes.map(() => new AsyncQueue<SettledPiece>());
    const shows = modes.map(async (mode, i) => {
      const destinations = this.destinations.filter((d) => d.mode === mode);
      try {
        for await (const post of displayPosts(feeds[i]!, createDisplay(mode, this.config.display))) {
          const outgoing = toOutgoing(post, streamStart, offset);
          if (i === 0) {
            summary.captions += 1;
            this.stats.captions += 1;
          }
          for (const destination of destinations) {
            const delivery = destination.sink.deliver(outgoing).then((result) => this.logDelivery(destination, outgoing, result));
            inFlight.add(delivery);
            void delivery.finally(() => inFlight.delete(delivery));
          }
        }
      } catch (err) {
        // Awaited only when the stream ends: a failure here must be caught now, and must not stop the other mode.
        this.log.error({ publisher, display: mode, err: errorMessage(err) }, 'display failed; its destinations get no more captions this stream');
      }
    });
    try {
      const segmenter = new Segmenter(this.config.segmenter, this.textRules);
      const events = this.recognizer.transcribe(audio);
      for await (const piece of settleWords(onSpeech ? tap(events, onSpeech) : events, segmenter)) {
        const words = piece.tokens.reduce((n, t) => n + t.words.length, 0);
        summary.words += words;
        this.stats.words += words;
        if (piece.tokens.length > 0) summary.audioSeconds = piece.tokens.at(-1)!.end;
        for (const feed of feeds) feed.push(piece);
      }
    } catch (err) {
      this.log.error({ publisher, err: errorMessage(err) }, 'stream failed; captions so far were kept');
      throw err;
    } finally {
      // What was settled before the end (or a failure) is still shown and delivered.
      for (const feed of feeds) feed.end();
      await Promise.all(shows);
      await Promise.all(inFlight);
      if ((this.state as MeetingState) !== 'closed') this.state = 'ready';
      this.log.info({ publisher, ...summary }, 'stream ended');
    }
    return summary;
  }

  private logDelivery(destination: Destination, caption: OutgoingCaption, result: SinkResult): void {
    const { sink } = destination;
    this.metrics?.captions.inc({ meeting: this.id, destination: sink.kind, status: result.status });
    if (sink.kind !== 'zoom') return;
    if (result.status === 'accepted') destination.lastPost = { text: caption.text, seq: result.seq, at: result.confirmedAt ?? Date.now() };
    if (result.status === 'stale' || result.status === 'gave_up') {
      this.log.warn({ destination: sink.description, words: caption.words.length }, 'caption never reached Zoom');
      void this.archive?.note(`never reached ${sink.description}: ${caption.text}`);
    }
    // From when each word was spoken to Zoom's acceptance: what a reader waits.
    const confirmedAt = result.confirmedAt;
    if (confirmedAt !== undefined) for (const spokenAt of caption.wordsSpokenAt) this.metrics?.wordLatency.observe({ meeting: this.id }, (confirmedAt - spokenAt) / 1000);
    const latencyMs = confirmedAt === undefined ? undefined : confirmedAt - caption.spokenAt;
    this.log.info({ seq: result.seq, status: result.status, words: caption.words.length, latencyMs }, 'caption delivered');
  }

  /** Zoom meeting and webinar ids whose webhooks concern this pipeline. */
  get zoomIds(): string[] {
    return this.config.captions.flatMap((d) => [d.zoom?.meetingId, d.zoom?.webinarId].filter((id): id is string => id !== undefined));
  }

  zoomMeetingStarted(): void {
    for (const { sink } of this.destinations) if (sink instanceof ZoomApiSink) sink.meetingStarted();
  }

  /** The stream in progress has been ended by the caller; deliver what it settled, then drop the URL. */
  async zoomMeetingEnded(): Promise<void> {
    await this.streamChain;
    await Promise.all(this.sinks.map((sink) => (sink instanceof ZoomApiSink ? sink.meetingEnded() : undefined)));
  }

  noteAudioSamples(count: number): void {
    this.stats.audioSeconds += count / PCM_SAMPLE_RATE;
    this.metrics?.audioSeconds.inc({ meeting: this.id }, count / PCM_SAMPLE_RATE);
  }

  noteDroppedSamples(count: number): void {
    this.stats.droppedSeconds += count / PCM_SAMPLE_RATE;
    this.metrics?.droppedAudioSeconds.inc({ meeting: this.id }, count / PCM_SAMPLE_RATE);
  }

  recognizerCpuSeconds(): number {
    return (this.recognizer.stats?.cpuMs ?? 0) / 1000;
  }

  /** Finish the stream in progress (if its audio ended), deliver what is queued, stop the engine. Safe twice. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    await this.streamChain;
    this.state = 'closed';
    await Promise.all(this.sinks.map((sink) => sink.close()));
    await this.recognizer.close();
  }
}

/** A display's POST as the destinations take it: times on the meeting's clock and the wall clock. */
function toOutgoing(post: DisplayPost, streamStart: number, offset: number): OutgoingCaption {
  const first = post.tokens[0];
  const last = post.tokens.at(-1);
  return {
    text: post.text,
    words: post.tokens.flatMap((t) => t.words),
    start: offset + (first?.start ?? 0),
    end: offset + (last?.end ?? 0),
    releasedAt: post.releasedAt,
    spokenAt: streamStart + (last?.end ?? 0) * 1000,
    wordsSpokenAt: post.tokens.map((t) => streamStart + t.end * 1000),
  };
}

async function* tap<T>(items: AsyncIterable<T>, see: (item: T) => void): AsyncIterable<T> {
  for await (const item of items) {
    see(item);
    yield item;
  }
}
