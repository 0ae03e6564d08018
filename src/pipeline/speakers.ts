import type { SourceSpeaker } from '../audio.js';
import type { RecognizedWord, SpeechEvent } from '../asr/types.js';

/**
 * Zoom names the active speaker once they are the loudest, a moment after they begin: a word goes to whoever is
 * named this long after its middle. A guess, not a measurement (no real Zoom here); it only moves a marker by a
 * word or so either way.
 */
const ANNOUNCEMENT_DELAY_SECONDS = 0.3;

/** Quiet between two words this long or longer may be a turn's start. */
const TURN_PAUSE_SECONDS = 0.2;
/** After such a pause, a speaker the source names within this long is taken as the one who starts speaking there. */
const TURN_LOOKAHEAD_SECONDS = 0.8;

/**
 * Words get the speaker the source tells for their time in the stream (RTMS over mixed audio), so a change of
 * speaker starts a new block, marked as the display says. A diarizing engine's own label wins over an anonymous
 * one; a speaker the source names (display.speakerNames) wins over the engine's: the source knows who it is.
 *
 * Zoom names a new speaker a moment after they begin, so a turn's first words would go to the one before. Turns
 * start after a pause: a word after a pause whose speaker the source names within TURN_LOOKAHEAD_SECONDS is theirs,
 * and so are the words that follow it without a pause until the source's own change catches up.
 */
export async function* labelSpeakers(events: AsyncIterable<SpeechEvent>, speakerAt: (seconds: number) => SourceSpeaker | undefined): AsyncIterable<SpeechEvent> {
  const label = (words: RecognizedWord[]): RecognizedWord[] => {
    let turn: SourceSpeaker | undefined;
    return words.map((word, i) => {
      // The source named this word's speaker itself (Zoom's transcript, sentence by sentence): nothing to guess.
      if (word.speakerName !== undefined) return word;
      const afterPause = i === 0 || word.start - words[i - 1]!.end >= TURN_PAUSE_SECONDS;
      const now = speakerAt((word.start + word.end) / 2 + ANNOUNCEMENT_DELAY_SECONDS);
      const soon = speakerAt(word.start + TURN_LOOKAHEAD_SECONDS + ANNOUNCEMENT_DELAY_SECONDS);
      if (afterPause) turn = soon !== undefined && soon.id !== now?.id ? soon : undefined;
      else if (turn !== undefined && (now?.id === turn.id || soon?.id !== turn.id)) turn = undefined;
      const said = turn ?? now;
      if (said?.name !== undefined) return { ...word, speaker: said.id, speakerName: said.name };
      if (word.speaker !== undefined || said === undefined) return word;
      return { ...word, speaker: said.id };
    });
  };
  for await (const event of events) {
    if (event.type === 'final') yield { ...event, words: label(event.words) };
    else if (event.type === 'interim' && event.words) yield { ...event, words: label(event.words) };
    else yield event;
  }
}
