import { EventEmitter } from 'node:events';
import { createRecognizer } from '../asr/create.js';
import { meetingWords, type MeetingWordSources } from '../asr/meeting-words.js';
import { CaptionDesk } from './desk.js';
import { captionerLines } from '../display/layout.js';
import type { SpeechEvent, SpeechRecognizer } from '../asr/types.js';
import { pruneArchive } from '../caption/archive.js';
import { archiveDir, createDestinations, type DestinationDeps } from '../caption/create.js';
import type { CaptionSink, OutgoingCaption, SinkResult } from '../caption/sink.js';
import type { TranscriptFileSink } from '../caption/transcript-sink.js';
import type { MeetingConfig } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import { PCM_SAMPLE_RATE, FINALIZE, isSamples, BEHIND, MAX_BACKLOG_SECONDS, type AudioItem, type AudioStream } from '../audio.js';
import type { Logger } from '../log.js';
import { createDisplay } from '../display/create.js';
import { displayPosts } from '../display/stream.js';
import { DEFAULT_DISPLAY_OPTIONS, type DisplayMode, type DisplayOptions, type DisplayPost } from '../display/types.js';
import { DEFAULT_SEGMENTER_OPTIONS, Segmenter, type SettledPiece } from '../segmenter/segmenter.js';
import { TextRules } from '../segmenter/text-rules.js';
import { settleWords } from '../segmenter/stream.js';
import { AsyncQueue } from '../util/async-queue.js';
import { labelSpeakers } from './speakers.js';
import type { MeetingEvents, MeetingSnapshot, MeetingStats, MeetingView } from './types.js';
import type { MeetingState, StreamSummary, StreamTarget } from '../ingest/target.js';

/** A caption destination with the display mode its POSTs follow, and the last thing it showed. */
export interface Destination {
  sink: CaptionSink;
  mode: DisplayMode;
  lastPost?: { text: string; seq?: number; at: number };
}

/** Destinations that POST to a service (whose deliveries are logged, and what never got there noted in the archive). */
const POSTED_KINDS = new Set(['zoom', 'teams', 'youtube']);

/** A webinar's audience can be thousands: the names kept for the vocabulary are the first this many. */
const MAX_NAMES_TOLD = 500;
/** Words a captioner keeps asking the engine for; past this the meeting's own words would have no room left. */
const MAX_DESK_WORDS = 40;

export interface MeetingDeps extends DestinationDeps {
  /** Makes the meeting's recognizer from its asr settings: createRecognizer, unless a program embedding the pipeline brings its own. */
  recognizerFor?: (asr: MeetingConfig['asr'], log: Logger) => SpeechRecognizer;
}

/** Checked on a timer, not per chunk taken: an engine that has stalled takes no chunks, and that is when it matters. */
const BEHIND_CHECK_MS = 250;

/**
 * One meeting: its recognizer, its caption destinations, and the flow between them. Streams of audio are
 * transcribed one at a time; a new publisher's stream waits until the previous one has flushed.
 */
export class MeetingPipeline extends EventEmitter<MeetingEvents> implements StreamTarget, MeetingView {
  state: MeetingState = 'starting';
  readonly recognizer: SpeechRecognizer;
  /** The captioner's desk: a hold before captions go out, and corrections meanwhile (the console). */
  readonly desk: CaptionDesk;
  readonly destinations: Destination[] = [];
  readonly stats: MeetingStats = { streams: 0, captions: 0, words: 0, audioSeconds: 0, droppedSeconds: 0 };
  /** Wall-clock ms the pipeline was created: transcript cue times count from here. */
  private readonly epoch = Date.now();
  /** Built once per meeting: the profanity matcher and replacement list are shared by all its streams. */
  private readonly textRules: TextRules;
  private streamChain: Promise<unknown> = Promise.resolve();
  /** The engine loading and the destinations opening: a stream that arrives meanwhile waits for it. */
  private starting: Promise<void> | undefined;
  private readonly log: Logger;
  /** The meeting's WebVTT archive, which also records captions that never reached Zoom. */
  private archive: TranscriptFileSink | undefined;
  private readonly archiveDir: string;
  /** Off the record (console): audio is not transcribed and nothing new is captioned until resume. */
  private paused = false;
  /** The stream being transcribed: its backlog is how far behind the recognizer is. */
  private current: AudioStream | undefined;
  private warnedBehind = false;
  private lastStreamEndedAt: number | undefined;
  /** Every caption on its way to a destination, of every stream: closing waits for their outcomes. */
  private readonly deliveries = new Set<Promise<unknown>>();
  private closing: Promise<void> | undefined;
  /** Streams being recognised or still delivering their captions. */
  private streamsUnderway = 0;
  private sinksClosing: Promise<void> | undefined;

  constructor(
    readonly config: MeetingConfig,
    deps: MeetingDeps,
  ) {
    super();
    this.log = deps.log.child({ meeting: config.id });
    this.recognizer = (deps.recognizerFor ?? createRecognizer)(config.asr, this.log);
    // Told now that words will come, an engine keeps what it needs to take them at once (asr.meetingWords).
    if (config.asr.meetingWords) this.recognizer.usePhrases?.([]);
    this.textRules = new TextRules(config.text);
    this.desk = new CaptionDesk((text) => captionerLines(text, config.display.maxLineChars, config.display.maxLines));
    this.archiveDir = archiveDir(deps.stateDir, config.id);
    const planned = createDestinations(
      { meetingId: config.id, captions: config.captions, archive: config.archive, language: config.asr.language, epoch: this.epoch, maxLines: config.display.maxLines },
      { ...deps, log: this.log },
    );
    this.destinations.push(...planned.destinations);
    this.archive = planned.archive;
  }

  get id(): string {
    return this.config.id;
  }

  get sinks(): CaptionSink[] {
    return this.destinations.map((d) => d.sink);
  }

  start(): Promise<void> {
    this.starting ??= (async () => {
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
    })();
    return this.starting;
  }

  /**
   * Transcribe one publisher's stream; resolves after its last caption was delivered or given up. `onSpeech` sees
   * the recognizer's events as they come (the Deepgram-compatible path sends them back). The next stream waits for
   * this one's recognition only, not for Zoom: its captions are queued behind this one's, in order, already. A
   * stream may come while the meeting starts (audio dialled as the engine loads): its audio waits in its buffer.
   */
  runStream(audio: AudioStream, publisher: string, onSpeech?: (event: SpeechEvent) => void): Promise<StreamSummary> {
    let recognized!: () => void;
    const recognition = new Promise<void>((resolve) => (recognized = resolve));
    const run = this.streamChain.then(() => this.starting).then(() => this.transcribeStream(audio, publisher, recognized, onSpeech));
    this.streamChain = Promise.race([recognition, run.catch(() => undefined)]);
    return run;
  }

  /** The meeting's display settings, a block hold left unset taken from the engine (as the segmenter's settle time is). */
  private displayOptions(): DisplayOptions {
    const { maxHoldMs = this.recognizer.capabilities.blockHoldMs ?? DEFAULT_DISPLAY_OPTIONS.maxHoldMs, ...rest } = this.config.display;
    return { ...rest, maxHoldMs };
  }

  private async transcribeStream(audio: AudioStream, publisher: string, recognized: () => void, onSpeech?: (event: SpeechEvent) => void): Promise<StreamSummary> {
    const streamStart = Date.now();
    const offset = (streamStart - this.epoch) / 1000;
    const summary: StreamSummary = { captions: 0, words: 0, audioSeconds: 0 };
    const inFlight = new Set<Promise<unknown>>();
    this.state = 'streaming';
    this.streamsUnderway += 1;
    this.stats.streams += 1;
    this.emit('stream-started', { publisher });
    this.log.info({ publisher }, 'stream started');
    const behindCheck = setInterval(() => this.checkBehind(), BEHIND_CHECK_MS);

    // One display per mode in use; each paces its own destinations (a slow one must not hold up recognition).
    const modes = [...new Set(this.destinations.map((d) => d.mode))];
    const feeds = modes.map(() => new AsyncQueue<SettledPiece>());
    const shows = modes.map(async (mode, i) => {
      const destinations = this.destinations.filter((d) => d.mode === mode);
      try {
        for await (const post of displayPosts(feeds[i]!, createDisplay(mode, this.displayOptions()))) {
          // Blocks pass the captioner's desk: held (when a hold is set), perhaps put right or dropped; a caption held
          // goes to every blocks destination as the desk lets it go, in order. Roll-up is not held: its POSTs repeat
          // the lines on screen, so a held correction would be undone by the next one (see destinationsNotHeld).
          const outgoing = toOutgoing(post, streamStart, offset);
          const ready = mode === 'blocks' ? this.desk.hold(outgoing) : Promise.resolve([outgoing]);
          if (i === 0) {
            summary.captions += 1;
            this.stats.captions += 1;
          }
          for (const destination of destinations) {
            // Each destination is given the captions in order at once: its sender keeps that order.
            const delivery = this.track(ready.then((captions) => Promise.all(captions.map((caption) => destination.sink.deliver(caption).then((result) => this.logDelivery(destination, caption, result))))));
            inFlight.add(delivery);
            void delivery.then(() => inFlight.delete(delivery));
          }
        }
      } catch (err) {
        // Awaited only when the stream ends: a failure here must be caught now, and must not stop the other mode.
        this.log.error({ publisher, display: mode, err: errorMessage(err) }, 'display failed; its destinations get no more captions this stream');
      }
    });
    try {
      const { stableMs = this.recognizer.capabilities.settleAfterMs ?? DEFAULT_SEGMENTER_OPTIONS.stableMs, holdBackWords } = this.config.segmenter;
      const segmenter = new Segmenter({ stableMs, holdBackWords }, this.textRules);
      const heard = this.recognizer.transcribe(this.counted(audio));
      const speakerAt = audio.speakerAt?.bind(audio);
      const events = tap(speakerAt ? labelSpeakers(heard, speakerAt) : heard, (event) => {
        onSpeech?.(event);
        if (event.type === 'interim') this.emit('speech', { interim: event.text });
        else if (event.type === 'final' || event.type === 'end_of_speech') this.emit('speech', { interim: '' });
      });
      const saidAt = audio.saidAt?.bind(audio);
      for await (const piece of settleWords(events, segmenter)) {
        if (saidAt) for (const token of [...piece.tokens, ...(piece.revised ?? [])]) token.saidAt ??= saidAt(token.end);
        const settled = piece.tokens.map((t) => t.text).join(' ');
        if (settled || piece.endsUtterance) {
          this.emit('speech', { settled, settledWords: piece.tokens.reduce((n, t) => n + t.words.length, 0), endsUtterance: piece.endsUtterance });
        }
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
      clearInterval(behindCheck);
      this.current = undefined;
      this.lastStreamEndedAt = Date.now();
      recognized();
      await Promise.all(inFlight);
      // Streaming until its last caption has an outcome, unless a newer stream took over meanwhile.
      this.streamsUnderway -= 1;
      if ((this.state as MeetingState) !== 'closed' && this.streamsUnderway === 0) this.state = 'ready';
      this.log.info({ publisher, ...summary }, 'stream ended');
      this.emit('stream-ended', { publisher, summary });
    }
    return summary;
  }

  /** Audio waiting for the recognizer now (0 between streams). */
  get behindSeconds(): number {
    return this.current?.backlogSeconds ?? 0;
  }

  /** Says so when the machine cannot keep up, once per episode (docs/measurements.md, "When the machine cannot keep up", says what to do). */
  private checkBehind(): void {
    const behind = this.behindSeconds;
    if (!this.warnedBehind && behind > BEHIND.WARN_SECONDS) {
      this.warnedBehind = true;
      this.log.warn(
        { behindSeconds: Math.round(behind * 10) / 10 },
        `the speech engine is behind the audio: this machine cannot keep up with its meetings (captions lag; past ${MAX_BACKLOG_SECONDS} s the oldest audio is dropped)`,
      );
    } else if (this.warnedBehind && behind < BEHIND.CLEAR_SECONDS) {
      this.warnedBehind = false;
      this.log.info('the speech engine has caught up with the audio');
    }
  }

  /** Audio as the recognizer takes it, counted on the way (per chunk, without a call back from the source). */
  private async *counted(audio: AudioStream): AsyncIterable<AudioItem> {
    let settledForPause = false;
    this.current = audio;
    for await (const item of audio) {
      if (isSamples(item)) {
        const seconds = item.length / PCM_SAMPLE_RATE;
        this.stats.audioSeconds += seconds;
        this.emit('audio', { seconds, levelDb: levelDb(item) });
      }
      if (this.paused) {
        // What was said before the pause is settled; nothing said during it reaches the engine.
        if (!settledForPause) yield FINALIZE;
        settledForPause = true;
        continue;
      }
      settledForPause = false;
      yield item;
    }
  }

  /** Off the record: from now on audio is not transcribed and nothing new is captioned, until resumed. */
  setPaused(paused: boolean): void {
    this.paused = paused;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** A caption typed by an operator: it goes out now to every destination, through the same senders (same seq rules). */
  async sendCaption(text: string): Promise<SinkResult[]> {
    const now = Date.now();
    const at = (now - this.epoch) / 1000;
    const caption: OutgoingCaption = { text, words: text.split(/\s+/), start: at, end: at + 1, releasedAt: now, spokenAt: now, wordsSpokenAt: [] };
    return Promise.all(
      this.destinations.map(async (destination) => {
        const result = await destination.sink.deliver(caption);
        await this.track(Promise.resolve().then(() => this.logDelivery(destination, caption, result)));
        return result;
      }),
    );
  }

  /** Keeps a delivery until it has an outcome (close waits for it); a failure in logging it is a bug, logged here. */
  private track(delivery: Promise<unknown>): Promise<void> {
    const tracked = delivery.then(
      () => undefined,
      (err: unknown) => this.log.error({ err: errorMessage(err) }, 'recording a caption delivery failed (a bug)'),
    );
    this.deliveries.add(tracked);
    void tracked.then(() => this.deliveries.delete(tracked));
    return tracked;
  }

  /** A spoken phrase shown as other text from now on (the console; not written to the config file). */
  addReplacement(spoken: string, shown: string): void {
    this.textRules.addReplacement(spoken, shown);
  }

  /** Destinations the captioner's desk does not hold (roll-up): they get the words as they come, uncorrected. */
  get destinationsNotHeld(): string[] {
    return this.destinations.filter((d) => d.mode !== 'blocks').map((d) => d.sink.description);
  }

  /**
   * A captioner's correction of a caption already sent, to every destination that can change what it has (the
   * archive, transcript files); Zoom's box cannot. Says which were rewritten.
   */
  async rewriteSent(caption: OutgoingCaption, text: string): Promise<string[]> {
    const rewritten = await Promise.all(this.sinks.map(async (sink) => ((await sink.rewrite?.(caption, text)) ? sink.description : undefined)));
    return rewritten.filter((description): description is string => description !== undefined);
  }

  /** Writes an operator's action to the log and the archive (a WebVTT NOTE), and tells watchers. */
  recordOperator(who: string, did: string): void {
    this.log.info({ operator: who, did }, 'console action');
    void this.archive?.note(`console ${new Date().toISOString()} ${who} ${did}`);
    this.emit('operator', { who, did });
  }

  /** What the meeting has told of itself so far (asr.meetingWords): its topic, agenda and participants' names. */
  private readonly told: { topic?: string; agenda?: string; names: Set<string> } = { names: new Set() };
  /** Words the captioner put right twice and chose to keep (the desk's offer): the engine is asked to expect them. */
  private readonly deskWords = new Set<string>();
  private warnedNoVocabulary = false;

  /**
   * A word the captioner chose to keep writing their way: besides the replacement, the engine is asked to expect it
   * from now on, where it takes a vocabulary while a meeting runs. False when this engine cannot, or the captioner's
   * MAX_DESK_WORDS are taken.
   */
  expectWord(word: string): boolean {
    if (!this.recognizer.usePhrases) return false;
    if (this.deskWords.has(word)) return true;
    if (this.deskWords.size >= MAX_DESK_WORDS) return false;
    this.deskWords.add(word);
    this.tellEngine();
    return true;
  }

  /** The words this meeting asks its engine to expect now: the captioner's first, then the meeting's own. */
  private tellEngine(): void {
    const own = this.config.asr.meetingWords ? meetingWords({ ...this.told, names: [...this.told.names] }) : [];
    const words = [...new Set([...this.deskWords, ...own])];
    this.log.info({ words: words.length }, 'words the meeting expects go to the engine');
    this.recognizer.usePhrases?.(words);
  }

  /**
   * The meeting's own words (asr.meetingWords): its topic and agenda, participants' names as they join. The engine is
   * asked to expect them from now on, where it takes a vocabulary while a meeting runs; nothing of it is shown.
   */
  learnMeetingWords(sources: MeetingWordSources): void {
    if (!this.config.asr.meetingWords) return;
    const { told } = this;
    let news = false;
    if (sources.topic && sources.topic !== told.topic) {
      told.topic = sources.topic;
      news = true;
    }
    if (sources.agenda && sources.agenda !== told.agenda) {
      told.agenda = sources.agenda;
      news = true;
    }
    for (const name of sources.names ?? []) {
      if (told.names.has(name) || told.names.size >= MAX_NAMES_TOLD) continue;
      told.names.add(name);
      news = true;
    }
    if (!news) return;
    if (!this.recognizer.usePhrases) {
      if (!this.warnedNoVocabulary) this.log.info({ engine: this.recognizer.engine }, 'this engine takes no vocabulary while a meeting runs: asr.meetingWords has no effect on it');
      this.warnedNoVocabulary = true;
      return;
    }
    this.tellEngine();
  }

  private problemWithSource: string | undefined;

  sourceProblem(sentence: string | undefined): void {
    this.problemWithSource = sentence;
  }

  audioDropped(seconds: number): void {
    this.stats.droppedSeconds += seconds;
    this.emit('audio-dropped', { seconds });
  }

  private logDelivery(destination: Destination, caption: OutgoingCaption, result: SinkResult): void {
    const { sink } = destination;
    const confirmedAt = result.confirmedAt;
    // From when each word was spoken to the destination taking it (Zoom's 200, or written): what a reader waits.
    const wordLatencies = confirmedAt === undefined ? [] : caption.wordsSpokenAt.map((spokenAt) => (confirmedAt - spokenAt) / 1000);
    this.emit('delivered', { kind: sink.kind, index: this.destinations.indexOf(destination), text: caption.text, result, wordLatencies });
    // What its audience reads now, whatever the destination: the console shows it.
    if (result.status === 'accepted' || result.status === 'written') destination.lastPost = { text: caption.text, seq: result.seq, at: confirmedAt ?? Date.now() };
    if (!POSTED_KINDS.has(sink.kind)) return;
    if (result.status === 'skipped' || result.status === 'unsent') {
      this.log.warn({ destination: sink.description, words: caption.words.length }, sink.kind === 'zoom' ? 'caption never reached Zoom' : `caption never reached ${sink.description}`);
      void this.archive?.note(`never reached ${sink.description}: ${caption.text}`);
    }
    const latencyMs = confirmedAt === undefined ? undefined : confirmedAt - caption.spokenAt;
    this.log.info({ seq: result.seq, status: result.status, words: caption.words.length, latencyMs }, 'caption delivered');
  }

  /** The Zoom meeting started or ended (webhook). On the end, the stream in progress has been ended by the caller. */
  async zoomMeeting(event: 'started' | 'ended'): Promise<void> {
    if (event === 'ended') await this.streamChain;
    await Promise.all(this.sinks.map((sink) => sink.onZoomMeeting?.(event)));
  }

  snapshot(): MeetingSnapshot {
    return {
      id: this.id,
      state: this.state,
      source: this.config.source.type,
      ...(this.problemWithSource ? { sourceProblem: this.problemWithSource } : {}),
      engine: this.recognizer.engine,
      behindSeconds: Math.round(this.behindSeconds * 100) / 100,
      ...(this.lastStreamEndedAt ? { lastStreamEndedAt: this.lastStreamEndedAt } : {}),
      stats: { ...this.stats },
      recognizerCpuSeconds: (this.recognizer.stats?.cpuMs ?? 0) / 1000,
      destinations: this.destinations.map(({ sink, mode, lastPost }) => {
        const sender = sink.senderStats?.();
        const problem = sink.status?.();
        return { kind: sink.kind, description: sink.description, display: mode, ...(lastPost ? { lastPost } : {}), ...(sender ? { sender } : {}), ...(problem ? { problem } : {}) };
      }),
    };
  }

  /**
   * Finish the stream in progress (if its audio ended), deliver what is queued, stop the engine. Once `deadline` is
   * aborted the destinations stop waiting (for Zoom): what is unsent is logged and noted in the archive as never
   * delivered. Safe to call twice; the second call waits for the first.
   */
  close(deadline?: AbortSignal): Promise<void> {
    this.closing ??= (async () => {
      const giveUp = (): void => void this.closeSinks(deadline);
      if (deadline?.aborted) giveUp();
      else deadline?.addEventListener('abort', giveUp, { once: true });
      // Held captions go now, as they are: a closing meeting does not wait out the desk's hold.
      this.desk.flush();
      await this.streamChain;
      this.state = 'closed';
      await this.closeSinks(deadline);
      deadline?.removeEventListener('abort', giveUp);
      await this.recognizer.close();
    })();
    return this.closing;
  }

  /** Stop every live destination now (another process may own the meeting); close() still finishes the rest. */
  fence(): void {
    for (const sink of this.sinks) sink.fence?.();
  }

  /** Live destinations first, then (once every outcome is recorded) the transcripts that record never-delivered captions. */
  private closeSinks(deadline: AbortSignal | undefined): Promise<void> {
    this.sinksClosing ??= (async () => {
      const files = this.sinks.filter((sink) => sink.kind === 'file');
      await Promise.all(this.sinks.filter((sink) => sink.kind !== 'file').map((sink) => sink.close(deadline)));
      await Promise.all(this.deliveries);
      await Promise.all(files.map((sink) => sink.close()));
    })();
    return this.sinksClosing;
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
    // Who said it as the audience may know them: their name where the meeting shows names, else the anonymous label.
    ...((first?.speakerName ?? first?.speaker) ? { speaker: first!.speakerName ?? first!.speaker } : {}),
  };
}

async function* tap<T>(items: AsyncIterable<T>, see: (item: T) => void): AsyncIterable<T> {
  for await (const item of items) {
    see(item);
    yield item;
  }
}

/** Loudness of a chunk: RMS in dBFS, floored at -60 (silence). */
function levelDb(samples: Int16Array): number {
  if (samples.length === 0) return -60;
  let sum = 0;
  for (const sample of samples) sum += sample * sample;
  const rms = Math.sqrt(sum / samples.length) / 32768;
  return Math.max(-60, 20 * Math.log10(rms || 1e-9));
}
