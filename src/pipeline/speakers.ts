import type { SourceSpeaker } from '../audio.js';
import type { RecognizedWord, SpeechEvent } from '../asr/types.js';

/**
 * Zoom names the active speaker once they are the loudest, a moment after they begin: a word goes to whoever is
 * named this long after its middle. A guess, not a measurement (no real Zoom here); it only moves a marker by a
 * word or so either way.
 */
const ANNOUNCEMENT_DELAY_SECONDS = 0.3;

/**
 * Words get the speaker the source tells for their time in the stream (RTMS over mixed audio), so a change of
 * speaker starts a new block, marked as the display says. A diarizing engine's own label wins over an anonymous
 * one; a speaker the source names (display.speakerNames) wins over the engine's: the source knows who it is.
 */
export async function* labelSpeakers(events: AsyncIterable<SpeechEvent>, speakerAt: (seconds: number) => SourceSpeaker | undefined): AsyncIterable<SpeechEvent> {
  const label = (words: RecognizedWord[]): RecognizedWord[] =>
    words.map((word) => {
      const said = speakerAt((word.start + word.end) / 2 + ANNOUNCEMENT_DELAY_SECONDS);
      if (said?.name !== undefined) return { ...word, speaker: said.id, speakerName: said.name };
      if (word.speaker !== undefined || said === undefined) return word;
      return { ...word, speaker: said.id };
    });
  for await (const event of events) {
    if (event.type === 'final') yield { ...event, words: label(event.words) };
    else if (event.type === 'interim' && event.words) yield { ...event, words: label(event.words) };
    else yield event;
  }
}
