import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { parseCaptionUrl } from './caption/caption-url.js';
import { SeqStore } from './caption/seq-store.js';
import { ZoomCaptionSender, type DeliveryResult } from './caption/zoom-sender.js';
import type { Logger } from './log.js';

export interface PostOptions {
  url: string;
  lang: string;
  stateDir: string;
  input: NodeJS.ReadableStream;
  /** Lines give up only when Zoom has accepted nothing for this long (--give-up-after). */
  giveUpAfterMs?: number;
}

/** How long `post` waits on a Zoom that accepts nothing before its lines count as never reached. */
export const POST_GIVE_UP_AFTER_MS = 120_000;

/**
 * For a captioner who types (or a file piped in): each line of input becomes one caption in a POST of its own, sent
 * with the daemon's sender (same seq, retry and resume rules), and waits as long as Zoom makes it: a line gives up
 * only when Zoom has accepted nothing for `giveUpAfterMs`. Resolves with how many lines Zoom accepted and how many never reached it.
 */
export async function postLines(options: PostOptions, log: Logger): Promise<{ accepted: number; failed: number }> {
  const sender = new ZoomCaptionSender({
    url: parseCaptionUrl(options.url),
    lang: options.lang,
    seqStore: new SeqStore(join(options.stateDir, 'seq'), log),
    log,
    everyLineAlone: true,
    maxQueueDelayMs: options.giveUpAfterMs ?? POST_GIVE_UP_AFTER_MS,
  });
  await sender.start();
  const deliveries: Promise<DeliveryResult>[] = [];
  const lines = createInterface({ input: options.input, crlfDelay: Infinity });
  for await (const line of lines) {
    const text = line.trim();
    if (!text) continue;
    deliveries.push(
      sender.send(text).then((result) => {
        if (result.status === 'accepted') log.info({ seq: result.seq, attempts: result.attempts }, 'caption accepted');
        return result;
      }),
    );
  }
  const results = await Promise.all(deliveries);
  await sender.close();
  const accepted = results.filter((r) => r.status === 'accepted').length;
  return { accepted, failed: results.length - accepted };
}
