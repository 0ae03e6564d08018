import type { SpeechEvent } from '../asr/types.js';
import type { Segmenter, SettledPiece } from './segmenter.js';

/** Runs a Segmenter over a live event stream: each event settles what it can, the end of the stream the rest. */
export async function* settleWords(events: AsyncIterable<SpeechEvent>, segmenter: Segmenter, now: () => number = Date.now): AsyncIterable<SettledPiece> {
  for await (const event of events) {
    const piece = segmenter.onEvent(event, now());
    if (piece) yield piece;
  }
  const last = segmenter.flush(now());
  if (last) yield last;
}
