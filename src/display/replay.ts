import type { SpeechEvent } from '../asr/types.js';
import type { Segmenter } from '../segmenter/segmenter.js';
import type { CaptionDisplay, DisplayPost } from './types.js';

/**
 * Runs recorded engine events through a segmenter and a display as if live: each event at its audio time, the
 * display's timers exactly at their deadlines, then the end of the stream. Deterministic, for tests and the sweep
 * benchmark; live streams use settleWords and displayPosts.
 */
export function replayEvents(events: readonly SpeechEvent[], segmenter: Segmenter, display: CaptionDisplay): DisplayPost[] {
  const posts: DisplayPost[] = [];
  const runTimersUntil = (until: number): void => {
    for (let deadline = display.nextDeadline(); deadline !== undefined && deadline <= until; ) {
      const released = display.tick(deadline);
      posts.push(...released);
      const next = display.nextDeadline();
      // A display that asks to be woken at the same moment again without releasing anything would spin forever.
      if (released.length === 0 && next === deadline) throw new Error(`display made no progress at its deadline ${deadline}`);
      deadline = next;
    }
  };
  let now = 0;
  for (const event of events) {
    now = Math.max(now, event.time * 1000);
    runTimersUntil(now);
    const piece = segmenter.onEvent(event, now);
    if (piece) posts.push(...display.push(piece, now));
  }
  const last = segmenter.flush(now);
  if (last) posts.push(...display.push(last, now));
  posts.push(...display.end(now));
  runTimersUntil(Infinity);
  return posts;
}
