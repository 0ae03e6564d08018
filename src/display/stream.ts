import type { SettledPiece } from '../segmenter/segmenter.js';
import type { CaptionDisplay, DisplayPost } from './types.js';

const TICK = Symbol('tick');

/**
 * Runs a display against a live stream of settled text. Blocks leave on timers as well as on new words (a block
 * waits for its reading time, a hold expires), so the next piece is raced against the display's own deadline; after
 * the last piece the display is ticked until nothing waits.
 */
export async function* displayPosts(pieces: AsyncIterable<SettledPiece>, display: CaptionDisplay, now: () => number = Date.now): AsyncIterable<DisplayPost> {
  const iterator = pieces[Symbol.asyncIterator]();
  let next: Promise<IteratorResult<SettledPiece>> | undefined = iterator.next();
  for (;;) {
    const deadline = display.nextDeadline();
    if (!next && deadline === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const wake = deadline === undefined ? undefined : new Promise<typeof TICK>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - now()), TICK)));
    const result = await (next ? (wake ? Promise.race([next, wake]) : next) : wake!);
    clearTimeout(timer);
    if (result === TICK) {
      yield* display.tick(now());
    } else if (result.done) {
      next = undefined;
      yield* display.end(now());
    } else {
      next = iterator.next();
      yield* display.push(result.value, now());
    }
  }
}
