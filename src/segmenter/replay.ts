import type { SpeechEvent } from '../asr/types.js';
import type { Caption, Segmenter } from './segmenter.js';

/**
 * Runs recorded engine events through a segmenter as if live: each event at its audio time, with a timer tick
 * every `tickMs` in between, then the end of the stream. For tests and benchmarks; live streams use
 * segmentCaptions, which sleeps until the segmenter's deadline instead of ticking.
 */
export function replayEvents(events: readonly SpeechEvent[], segmenter: Segmenter, tickMs = 50): Caption[] {
  const captions: Caption[] = [];
  let now = 0;
  for (const event of events) {
    const at = event.time * 1000;
    for (; now < at; now += tickMs) captions.push(...segmenter.onTick(now));
    captions.push(...segmenter.onEvent(event, at));
  }
  captions.push(...segmenter.flush(now));
  return captions;
}
