import type { CaptionSink, OutgoingCaption, SinkResult } from './sink.js';

/** Prints each caption as one plain line, so whoever runs the daemon sees captions at once (logs go to stderr). */
export class StdoutSink implements CaptionSink {
  readonly kind = 'stdout';
  readonly description = 'stdout';

  constructor(
    private readonly meetingId: string,
    private readonly out: NodeJS.WritableStream = process.stdout,
  ) {}

  async start(): Promise<void> {}

  async deliver(caption: OutgoingCaption): Promise<SinkResult> {
    this.out.write(`[${this.meetingId}] ${caption.text.replace(/\n/g, ' ')}\n`);
    return { status: 'written', confirmedAt: Date.now() };
  }

  async close(): Promise<void> {}
}
