import type { StreamTarget } from './target.js';
import { AsyncQueue } from '../util/async-queue.js';
import { isSamples, MAX_BACKLOG_SECONDS, MAX_LEAD_SECONDS, PCM_SAMPLE_RATE, type AudioItem, type AudioStream, type SourceSpeaker, type SourceTranscript } from '../audio.js';

const MAX_SPEAKER_CHANGES = 10_000;
/** A stamp this close to where the last one puts it says nothing new (packets jitter by a few ms). */
const STAMP_TOLERANCE_MS = 100;
const MAX_STAMPS = 10_000;
/**
 * The largest piece of audio handed on: meetings share decoder threads, which take their work in order, so a
 * publisher's 1 MiB frame (33 s) as one item would hold every other meeting on its thread back for seconds.
 */
const MAX_CHUNK_SAMPLES = PCM_SAMPLE_RATE / 10;

/**
 * One publisher's audio on its way to the meeting's recognizer, whatever it came by (WebSocket, RTMP, a pull):
 * bounded, dropping the oldest when the recognizer lags (live captions want the present); drops are reported to
 * the target (the audio it takes, it counts itself).
 */
export class StreamBuffer {
  readonly audio: AsyncQueue<AudioItem>;
  private dropped = 0;
  private received = 0;
  /** Changes of speaker the source announced, in stream order (seconds from the stream's start). */
  private readonly speakers: { at: number; speaker: SourceSpeaker }[] = [];
  /** The source's own time (ms, its clock) of the audio at a stream second, kept where it stops running with the stream. */
  private readonly stamps: { at: number; stampMs: number }[] = [];
  /**
   * How far our clock runs ahead of the source's stamps for audio arriving as it is said: the least arrival minus stamp
   * seen (the freshest audio; it holds the clocks' difference and the network's delay, so no clock must be right).
   */
  private stampLeadMs = Infinity;
  /** The newest stamp, exactly: where Zoom's time falls on this stream now. */
  private lastStamp: { at: number; stampMs: number } | undefined;
  private firstAudioAt: number | undefined;

  /** `tooFast`: the source sends faster than real time by more than the lead; it ends the stream with the reason. */
  constructor(
    target: Pick<StreamTarget, 'audioDropped'>,
    private readonly tooFast?: (reason: string) => void,
  ) {
    this.audio = new AsyncQueue<AudioItem>({
      capacity: MAX_BACKLOG_SECONDS * PCM_SAMPLE_RATE,
      sizeOf: (item) => (isSamples(item) ? item.length : 0),
      onDrop: (item) => {
        if (!isSamples(item)) return;
        this.dropped += item.length;
        target.audioDropped(item.length / PCM_SAMPLE_RATE);
      },
    });
  }

  /** What the meeting's recognizer reads: the queued audio, and how much of it is waiting. */
  get stream(): AudioStream {
    const { audio, speakers } = this;
    return {
      [Symbol.asyncIterator]: () => audio[Symbol.asyncIterator](),
      get backlogSeconds() {
        return audio.queuedSize / PCM_SAMPLE_RATE;
      },
      // From the newest change back: the words asked about are the newest ones, so this stops at once.
      speakerAt: (seconds) => {
        for (let i = speakers.length - 1; i >= 0; i--) if (speakers[i]!.at <= seconds) return speakers[i]!.speaker;
        return undefined;
      },
      saidAt: (seconds) => this.saidAt(seconds),
    };
  }

  /** The source stamped the audio about to be pushed (at `atSeconds` of the stream) with its own time, in ms. */
  stamped(stampMs: number, atSeconds = this.receivedSeconds): void {
    if (!Number.isFinite(stampMs)) return;
    this.lastStamp = { at: atSeconds, stampMs };
    this.stampLeadMs = Math.min(this.stampLeadMs, Date.now() - stampMs);
    const last = this.stamps.at(-1);
    if (last && Math.abs(last.stampMs + (atSeconds - last.at) * 1000 - stampMs) < STAMP_TOLERANCE_MS) return;
    this.stamps.push({ at: atSeconds, stampMs });
    if (this.stamps.length > MAX_STAMPS) this.stamps.splice(0, this.stamps.length - MAX_STAMPS);
  }

  /** Where the source's time `stampMs` falls on this stream (seconds), by its newest stamp; undefined before any. */
  secondsAt(stampMs: number): number | undefined {
    const last = this.lastStamp;
    return last && Math.max(0, last.at + (stampMs - last.stampMs) / 1000);
  }

  private saidAt(seconds: number): number | undefined {
    for (let i = this.stamps.length - 1; i >= 0; i--) {
      const stamp = this.stamps[i]!;
      if (stamp.at <= seconds) return stamp.stampMs + (seconds - stamp.at) * 1000 + this.stampLeadMs;
    }
    return undefined;
  }

  /** The source says `speaker` speaks from `atSeconds` of this stream (default: from the audio received so far). */
  speakerChanged(speaker: SourceSpeaker, atSeconds = this.receivedSeconds): void {
    const last = this.speakers.at(-1);
    // The same speaker again is no change; the same speaker under a new name (a participant who renamed) is.
    if (last?.speaker.id === speaker.id && last.speaker.name === speaker.name) return;
    // Announcements can arrive a little out of order with the audio: keep the timeline sorted.
    const at = Math.max(atSeconds, last?.at ?? 0);
    this.speakers.push({ at, speaker });
    // A meeting's worth of turns is small; a source that flips every packet must not grow this without end.
    if (this.speakers.length > MAX_SPEAKER_CHANGES) this.speakers.splice(0, this.speakers.length - MAX_SPEAKER_CHANGES);
  }

  /** A sentence of the source's own transcript, placed after the audio received so far. */
  transcript(piece: SourceTranscript): void {
    if (!this.audio.isEnded) this.audio.push(piece);
  }

  get receivedSeconds(): number {
    return this.received / PCM_SAMPLE_RATE;
  }

  get droppedSeconds(): number {
    return this.dropped / PCM_SAMPLE_RATE;
  }

  push(samples: Int16Array): void {
    if (this.audio.isEnded || samples.length === 0) return;
    const now = Date.now();
    this.firstAudioAt ??= now;
    if ((this.received + samples.length) / PCM_SAMPLE_RATE > (now - this.firstAudioAt) / 1000 + MAX_LEAD_SECONDS) {
      this.audio.end();
      this.tooFast?.(`audio arrives more than ${MAX_LEAD_SECONDS} s faster than real time: send it at the pace of speech`);
      return;
    }
    this.received += samples.length;
    if (samples.length <= MAX_CHUNK_SAMPLES) return this.audio.push(samples);
    // Copies, not views: a view would carry its whole buffer to the decoder thread each time.
    for (let i = 0; i < samples.length; i += MAX_CHUNK_SAMPLES) this.audio.push(samples.slice(i, i + MAX_CHUNK_SAMPLES));
  }
}
