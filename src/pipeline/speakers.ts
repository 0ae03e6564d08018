import type { RecognizedWord, SpeechEvent } from '../asr/types.js';

/**
 * Zoom names the active speaker once they are the loudest, a moment after they begin: a word goes to whoever is
 * named this long after its middle. A guess, not a measurement (no real Zoom here); it only moves a marker by a
 * word or so either way.
 */
const ANNOUNCEMENT_DELAY_SECONDS = 0.3;

/**
 * Words the engine did not attribute get the speaker the source names for their time in the stream (RTMS over
 * mixed audio), so a change of speaker starts a new block, marked as `display.speakerMarker` says. Diarizing
 * engines' own labels win.
 */
export async function* labelSpeakers(events: AsyncIterable<SpeechEvent>, speakerAt: (seconds: number) => string | undefined): AsyncIterable<SpeechEvent> {
  const label = (words: RecognizedWord[]): RecognizedWord[] =>
    words.map((word) => {
      if (word.speaker !== undefined) return word;
      const speaker = speakerAt((word.start + word.end) / 2 + ANNOUNCEMENT_DELAY_SECONDS);
      return speaker === undefined ? word : { ...word, speaker };
    });
  for await (const event of events) {
    if (event.type === 'final') yield { ...event, words: label(event.words) };
    else if (event.type === 'interim' && event.words) yield { ...event, words: label(event.words) };
    else yield event;
  }
}
