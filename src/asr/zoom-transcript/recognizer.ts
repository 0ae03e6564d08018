import { BridgeError } from '../../errors.js';
import { isSamples, PCM_SAMPLE_RATE, type AudioItem, type SourceTranscript } from '../../audio.js';
import type { Logger } from '../../log.js';
import { spreadWords, type RecognizedWord, type RecognizerCapabilities, type RecognizerStats, type SpeechEvent, type SpeechRecognizer } from '../types.js';
import { withWrittenForms } from '../written-forms.js';

/**
 * A sentence Zoom revised for this long (stream time) without a word more is complete. Zoom's own sentences close
 * at the speaker's pause, and the next one of the same speaker closes it at once; this only bounds a sentence whose
 * speaker fell silent.
 */
const COMPLETE_AFTER_SECONDS = 1.5;
/** About how long a word takes, for a sentence Zoom gives no times for. */
const SECONDS_PER_WORD = 0.3;

interface Sentence {
  key: string;
  text: string;
  start: number;
  end: number;
  speaker: SourceTranscript['speaker'];
  /** Stream time of its newest revision. */
  revisedAt: number;
  complete: boolean;
  /** The text last shown as an interim. */
  shown: string;
}

/**
 * Zoom's own transcript as the meeting's engine (RTMS only): no recognizer in the bridge. Zoom transcribes each
 * participant and sends sentences with who said them, revising a sentence (same sentence, newer text) until it is
 * complete. One sentence is shown at a time, as an engine's utterance: its revisions are interims, and it is final
 * once complete (the same speaker began another, it went quiet, or the stream ended). A sentence that began while
 * another was being shown (two people at once) waits its turn whole, so overlapping speech loses no sentence. A
 * revision of a sentence already final is too late for captions that cannot be taken back; it is counted, not shown.
 */
export class ZoomTranscriptRecognizer implements SpeechRecognizer {
  readonly engine = 'zoom-transcript';
  readonly capabilities: RecognizerCapabilities = { streaming: true, interimResults: true, wordTimings: false, languages: [] };
  readonly stats: RecognizerStats = { audioSeconds: 0, cpuMs: 0 };
  /** Revisions that came after their sentence was final, and sentences Zoom withdrew. */
  readonly counts = { lateRevisions: 0, withdrawn: 0, sentences: 0 };
  private closed = false;

  constructor(private readonly log: Logger) {}

  async start(): Promise<void> {
    if (this.closed) throw new BridgeError('ASR_ENGINE_FAILED', 'the zoom-transcript engine is closed');
  }

  async *transcribe(audio: AsyncIterable<AudioItem>): AsyncIterable<SpeechEvent> {
    let now = 0;
    /** Sentences not yet final, in the order they began; the first is the one being shown. */
    const open: Sentence[] = [];
    const finalKeys = new Set<string>();
    const events: SpeechEvent[] = [];
    let heardAny = false;

    const words = (sentence: Sentence): RecognizedWord[] => {
      const spoken = spreadWords(sentence.text, sentence.start, sentence.end);
      const speaker = sentence.speaker ? { speaker: sentence.speaker.id, ...(sentence.speaker.name === undefined ? {} : { speakerName: sentence.speaker.name }) } : {};
      return withWrittenForms(spoken, sentence.text).map((word) => ({ ...word, ...speaker }));
    };
    /** What the sentences now ask to show: finals for the complete ones at the head, an interim for the next. */
    const show = (): void => {
      while (open[0]?.complete) {
        const sentence = open.shift()!;
        finalKeys.add(sentence.key);
        if (sentence.text.trim() === '') {
          if (sentence.shown !== '') events.push({ type: 'interim', text: '', words: [], time: now });
          events.push({ type: 'end_of_speech', time: now });
          continue;
        }
        this.counts.sentences += 1;
        events.push({ type: 'final', text: sentence.text, words: words(sentence), time: now });
      }
      const head = open[0];
      if (head && head.text !== head.shown) {
        head.shown = head.text;
        events.push({ type: 'interim', text: head.text, words: words(head), time: now });
      }
    };
    const take = (piece: SourceTranscript): void => {
      if (piece.change === 'unavailable') throw new BridgeError('ASR_ENGINE_UNAVAILABLE', `Zoom's transcript is not available: ${piece.text}`);
      heardAny = true;
      if (finalKeys.has(piece.sentence)) {
        this.counts.lateRevisions += 1;
        return;
      }
      let sentence = open.find((s) => s.key === piece.sentence);
      if (!sentence) {
        // A new sentence of a speaker completes their previous one: Zoom has moved on.
        for (const s of open) if (s.speaker?.id === piece.speaker?.id) s.complete = true;
        const wordCount = piece.text.split(/\s+/).filter(Boolean).length;
        const end = piece.end ?? now;
        const start = piece.start ?? Math.max(0, end - wordCount * SECONDS_PER_WORD);
        sentence = { key: piece.sentence, text: '', start, end, speaker: piece.speaker, revisedAt: now, complete: false, shown: '' };
        open.push(sentence);
      }
      sentence.revisedAt = now;
      if (piece.change === 'delete') {
        this.counts.withdrawn += 1;
        sentence.text = '';
        sentence.complete = true;
        return;
      }
      sentence.text = piece.text;
      if (piece.start !== undefined) sentence.start = piece.start;
      sentence.end = piece.end ?? Math.max(sentence.end, now);
      if (piece.change === 'whole') sentence.complete = true;
    };

    for await (const item of audio) {
      if (this.closed) break;
      if (isSamples(item)) {
        now += item.length / PCM_SAMPLE_RATE;
        this.stats.audioSeconds += item.length / PCM_SAMPLE_RATE;
        for (const s of open) if (now - s.revisedAt >= COMPLETE_AFTER_SECONDS) s.complete = true;
      } else if (typeof item === 'object') take(item);
      else continue; // A client's Finalize: Zoom's transcript settles on its own.
      show();
      yield* events.splice(0);
    }
    for (const s of open) s.complete = true;
    show();
    yield* events.splice(0);
    if (!heardAny) this.log.info('the stream ended without a sentence of Zoom transcript');
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
