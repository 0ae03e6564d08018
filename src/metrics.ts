import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SenderStats } from './caption/sink.js';
import type { MeetingView } from './pipeline/types.js';

/**
 * Prometheus metrics, labelled by meeting (never by caption URL: it is a secret). Counts come from each meeting's
 * events (`watch`); sender state (seq, retries, clock offset) and engine CPU are read from the meetings' snapshots
 * at scrape time, so a reloaded config is reflected without bookkeeping.
 */
export class BridgeMetrics {
  readonly registry = new Registry();
  readonly audioSeconds: Counter<'meeting'>;
  readonly droppedAudioSeconds: Counter<'meeting'>;
  readonly captions: Counter<'meeting' | 'destination' | 'status'>;
  readonly wordLatency: Histogram<'meeting'>;
  readonly streams: Counter<'meeting'>;

  /** Where running meetings are read at each scrape (the registry, once it exists). */
  private source: { views(): readonly MeetingView[] } | undefined;

  constructor() {
    const meetings = (): readonly MeetingView[] => this.source?.views() ?? [];
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'caption_bridge_' });
    this.audioSeconds = new Counter({ name: 'caption_bridge_audio_seconds_total', help: 'Audio taken by the speech engine, in seconds', labelNames: ['meeting'], registers });
    this.droppedAudioSeconds = new Counter({
      name: 'caption_bridge_dropped_audio_seconds_total',
      help: 'Audio dropped because the recognizer fell behind',
      labelNames: ['meeting'],
      registers,
    });
    this.streams = new Counter({ name: 'caption_bridge_streams_total', help: 'Audio streams started', labelNames: ['meeting'], registers });
    this.captions = new Counter({
      name: 'caption_bridge_captions_total',
      help: 'Captions by destination (kind:index, as in the Zoom sender metrics) and outcome (accepted, written, skipped, unsent, write_failed)',
      labelNames: ['meeting', 'destination', 'status'],
      registers,
    });
    this.wordLatency = new Histogram({
      name: 'caption_bridge_word_latency_seconds',
      help: 'From when each word was spoken to Zoom accepting the caption that first shows it (every word is observed)',
      labelNames: ['meeting'],
      buckets: [0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10],
      registers,
    });
    const senders = () =>
      meetings().flatMap((meeting) =>
        meeting.snapshot().destinations.flatMap(({ kind, sender }, index) => (sender ? [{ labels: { meeting: meeting.id, destination: destinationLabel(kind, index) }, stats: sender }] : [])),
      );
    // Read from each Zoom sender at scrape time: counters hold the sender's running totals.
    const fromSenders = (Metric: typeof Gauge | typeof Counter, name: string, help: string, value: (stats: SenderStats) => number | undefined): void => {
      new Metric({
        name,
        help,
        labelNames: ['meeting', 'destination'],
        registers,
        collect(this: Gauge<'meeting' | 'destination'> | Counter<'meeting' | 'destination'>) {
          this.reset();
          for (const { labels, stats } of senders()) {
            const v = value(stats);
            if (v === undefined) continue;
            if (this instanceof Gauge) this.set(labels, v);
            else this.inc(labels, v);
          }
        },
      });
    };
    fromSenders(Gauge, 'caption_bridge_zoom_seq', 'Last seq used per Zoom destination', (s) => s.lastSeq);
    fromSenders(Gauge, 'caption_bridge_zoom_clock_offset_seconds', "Zoom's clock minus ours, from the fastest recent answer", (s) =>
      s.clockOffsetMs === undefined ? undefined : s.clockOffsetMs / 1000,
    );
    fromSenders(Counter, 'caption_bridge_zoom_retries_total', 'Caption POSTs retried', (s) => s.retries);
    fromSenders(Counter, 'caption_bridge_zoom_retry_budgets_spent_total', 'POSTs whose retry budget ran out (then GET seq decides)', (s) => s.retryBudgetsSpent);
    fromSenders(Counter, 'caption_bridge_zoom_confirmed_by_seq_total', 'POSTs whose budget ran out that Zoom had after all (only the answer was lost)', (s) => s.confirmedBySeq);
    fromSenders(Counter, 'caption_bridge_zoom_carried_total', 'Captions Zoom did not get in time, sent again with a later POST', (s) => s.carried);
    fromSenders(Counter, 'caption_bridge_zoom_skipped_total', 'Captions that never reached Zoom because they waited too long (for Zoom, or for a Caption URL)', (s) => s.skipped);
    fromSenders(Counter, 'caption_bridge_zoom_unsent_total', 'Captions that never reached Zoom because their destination closed first (shutdown, meeting removed)', (s) => s.unsent);
    new Gauge({
      name: 'caption_bridge_behind_seconds',
      help: 'Audio waiting for the speech engine, per meeting: above a few seconds the machine cannot keep up',
      labelNames: ['meeting'],
      registers,
      collect() {
        this.reset();
        for (const meeting of meetings()) this.set({ meeting: meeting.id }, meeting.snapshot().behindSeconds);
      },
    });
    new Counter({
      name: 'caption_bridge_asr_cpu_seconds_total',
      help: 'CPU time the speech engine spent, per meeting (divide by audio seconds for the real-time factor)',
      labelNames: ['meeting'],
      registers,
      collect() {
        this.reset();
        for (const meeting of meetings()) this.inc({ meeting: meeting.id }, meeting.snapshot().recognizerCpuSeconds);
      },
    });
  }

  /** Reads the running meetings from `source` at each scrape. */
  readFrom(source: { views(): readonly MeetingView[] }): void {
    this.source = source;
  }

  /** A meeting that is gone: its series leave the scrape (the ones read from running meetings go by themselves). */
  async forget(meetingId: string): Promise<void> {
    const labels = { meeting: meetingId };
    for (const metric of [this.audioSeconds, this.droppedAudioSeconds, this.streams, this.wordLatency]) metric.remove(labels);
    // Its caption series are one per destination and outcome it has seen: the counter lists them.
    for (const series of (await this.captions.get()).values) if (series.labels.meeting === meetingId) this.captions.remove(series.labels);
  }

  /** Count what a meeting reports as it happens; its listeners go when the meeting does. */
  watch(meeting: MeetingView): void {
    const labels = { meeting: meeting.id };
    meeting.on('stream-started', () => this.streams.inc(labels));
    meeting.on('audio', ({ seconds }) => this.audioSeconds.inc(labels, seconds));
    meeting.on('audio-dropped', ({ seconds }) => this.droppedAudioSeconds.inc(labels, seconds));
    meeting.on('delivered', ({ kind, index, result, wordLatencies }) => {
      this.captions.inc({ ...labels, destination: destinationLabel(kind, index), status: result.status });
      // The histogram is Zoom's latency; a remote engine may send a word without times, and prom-client throws on NaN.
      if (kind !== 'zoom') return;
      for (const seconds of wordLatencies) if (Number.isFinite(seconds)) this.wordLatency.observe(labels, seconds);
    });
  }

  /** A fleet member took a meeting: one nobody ran (new), or one whose owner went (takeover, SIGTERM handovers included). */
  fleetClaim(kind: 'new' | 'takeover'): void {
    this.fleet().claims.inc({ kind });
  }

  /** From the old owner's claim going (lease expired, or let go) to the meeting running here. */
  fleetTakeoverSeconds(seconds: number): void {
    this.fleet().takeoverSeconds.observe(seconds);
  }

  /** Made on first use: a bridge without a fleet shows no fleet series. */
  private fleetMetrics: { claims: Counter<'kind'>; takeoverSeconds: Histogram } | undefined;

  private fleet(): NonNullable<BridgeMetrics['fleetMetrics']> {
    this.fleetMetrics ??= {
      claims: new Counter({ name: 'caption_bridge_fleet_claims_total', help: 'Meetings this process took in the fleet, by kind (new, takeover)', labelNames: ['kind'], registers: [this.registry] }),
      takeoverSeconds: new Histogram({
        name: 'caption_bridge_fleet_takeover_seconds',
        help: "From a meeting's previous owner letting go (or its lease expiring) to the meeting running here",
        buckets: [0.25, 0.5, 1, 2, 3, 5, 10],
        registers: [this.registry],
      }),
    };
    return this.fleetMetrics;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** The `destination` label of every metric: the kind and the place in the meeting's captions list ("zoom:0"). */
function destinationLabel(kind: string, index: number): string {
  return `${kind}:${index}`;
}
