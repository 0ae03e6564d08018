import type { SpeechEvent } from '../asr/types.js';
import type { Caption, Segmenter } from './segmenter.js';

const TICK = Symbol('tick');

/**
 * Runs a Segmenter over a live event stream. Captions must also leave when the engine goes quiet, so the next
 * event is raced against the segmenter's own deadline.
 */
export async function* segmentCaptions(
  events: AsyncIterable<SpeechEvent>,
  segmenter: Segmenter,
  now: () => number = Date.now,
): AsyncIterable<Caption> {
  const iterator = events[Symbol.asyncIterator]();
  let next = iterator.next();
  for (;;) {
    const deadline = segmenter.nextDeadline();
    let timer: NodeJS.Timeout | undefined;
    const result =
      deadline === undefined
        ? await next
        : await Promise.race([next, new Promise<typeof TICK>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - now()), TICK)))]);
    clearTimeout(timer);
    if (result === TICK) {
      yield* segmenter.onTick(now());
      continue;
    }
    if (result.done) {
      yield* segmenter.flush(now());
      return;
    }
    next = iterator.next();
    yield* segmenter.onEvent(result.value, now());
  }
}
