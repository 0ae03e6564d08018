import type { Logger } from '../log.js';
import { parseCaptionUrl } from './caption-url.js';
import { SeqStore } from './seq-store.js';
import type { CaptionSink, OutgoingCaption, SenderStats, SinkResult } from './sink.js';
import { ZoomCaptionSender } from './zoom-sender.js';

export interface ZoomSinkOptions {
  url: string;
  lang: string;
  stateDir: string;
  requestTimeoutMs: number;
  giveUpAfterMs: number;
}

export class ZoomSink implements CaptionSink {
  readonly kind = 'zoom';
  readonly sender: ZoomCaptionSender;

  constructor(options: ZoomSinkOptions, log: Logger) {
    this.sender = new ZoomCaptionSender({
      url: parseCaptionUrl(options.url),
      lang: options.lang,
      seqStore: new SeqStore(options.stateDir, log),
      log,
      requestTimeoutMs: options.requestTimeoutMs,
      giveUpAfterMs: options.giveUpAfterMs,
    });
  }

  get description(): string {
    return `zoom ${this.sender.destination}`;
  }

  start(): Promise<void> {
    return this.sender.start();
  }

  async deliver(caption: OutgoingCaption): Promise<SinkResult> {
    const result = await this.sender.send(caption.text);
    return { status: result.status, seq: result.seq, confirmedAt: result.acceptedAt };
  }

  close(deadline?: AbortSignal): Promise<void> {
    return this.sender.close(deadline);
  }

  senderStats(): SenderStats {
    return this.sender.stats;
  }
}
