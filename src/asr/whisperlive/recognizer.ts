import { randomUUID } from 'node:crypto';
import { BridgeError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { normalizeWords } from '../../util/wer.js';
import { WebSocketRecognizer, type WebSocketEndpoint } from '../remote/websocket-recognizer.js';
import type { WireReply, WireSession } from '../remote/wire-stream.js';
import { spreadWords, WORD_BY_WORD_BLOCK_HOLD_MS, type RecognizedWord, type RecognizerCapabilities } from '../types.js';
import { withWrittenForms } from '../written-forms.js';

export interface WhisperLiveOptions {
  /** The server, ws://gpu-box:9090 (WhisperLive serves its socket at the root). */
  url: string;
  /** The Whisper model the server loads for this client (a server started with a custom model ignores it). */
  model: string;
  language: string;
  /** Meeting vocabulary: faster-whisper's hotwords. */
  phrases: string[];
  /** Ask the server who speaks (its pyannote diarization): completed segments carry a speaker. */
  diarize?: boolean;
}

/** A segment as WhisperLive sends it: times are strings with three decimals, text keeps Whisper's leading space. */
interface Segment {
  start: string;
  end: string;
  text: string;
  completed?: boolean;
  words?: { word: string; start: string; end: string }[];
  speaker?: string;
}
interface WhisperLiveMessage {
  uid?: string;
  message?: string;
  status?: string;
  segments?: Segment[];
}

/** WhisperLive ends a stream on this binary frame. */
const END_OF_AUDIO = Buffer.from('END_OF_AUDIO');

/**
 * collabora/WhisperLive's own WebSocket protocol. The first message configures the client (uid, language, model,
 * VAD, hotwords, word timestamps); audio goes as float32 samples at 16 kHz (the format every version of the server
 * takes). The server answers with the last few segments again and again: completed ones (each is one utterance's
 * final here, taken once, by its start time) and at most one incomplete last segment (the interim). At the end
 * of audio, and at its time limit, the server closes without settling the incomplete segment: its text is taken
 * as it stood. WhisperLive has no "settle now" message.
 */
export class WhisperLiveRecognizer extends WebSocketRecognizer {
  readonly engine = 'whisperlive';
  readonly capabilities: RecognizerCapabilities;

  constructor(
    private readonly options: WhisperLiveOptions,
    log: Logger,
  ) {
    super(log);
    this.capabilities = { streaming: true, interimResults: true, wordTimings: true, languages: [options.language], blockHoldMs: WORD_BY_WORD_BLOCK_HOLD_MS };
  }

  protected endpoint(): WebSocketEndpoint {
    return { url: this.options.url };
  }

  protected session(): WireSession {
    const hotwords = this.vocabulary(this.options.phrases);
    // Completed segments come again in every message: the newest one taken, by its start on this connection.
    let lastCompletedStart = -1;
    let incomplete: Segment | undefined;
    const wordsOf = (segment: Segment): RecognizedWord[] => {
      const start = Number(segment.start);
      const text = segment.text.trim();
      const timed = segment.words?.flatMap((w) => normalizeWords(w.word).map((word) => ({ word, start: Number(w.start), end: Number(w.end) })));
      // Whisper writes sentences: punctuation and casing ride on the words as heard.
      const words = withWrittenForms(timed && timed.length > 0 ? timed : spreadWords(text, start, Number(segment.end)), text);
      return segment.speaker ? words.map((w) => ({ ...w, speaker: segment.speaker })) : words;
    };
    const settle = (segment: Segment): WireReply[] => {
      const words = wordsOf(segment);
      return words.length > 0 ? [{ kind: 'final', text: words.map((w) => w.word).join(' '), words }] : [{ kind: 'utterance-end' }];
    };
    return {
      openMessage: JSON.stringify({
        uid: randomUUID(),
        language: this.options.language.split('-')[0],
        task: 'transcribe',
        model: this.options.model,
        use_vad: true,
        word_timestamps: true,
        ...(hotwords.length > 0 ? { hotwords: hotwords.join(', ') } : {}),
        ...(this.options.diarize ? { enable_diarization: true } : {}),
      }),
      answersOpen: (raw) => (JSON.parse(raw) as WhisperLiveMessage).message === 'SERVER_READY',
      endMessage: END_OF_AUDIO,
      encodeAudio: (pcm) => {
        const samples = new Float32Array(pcm.length);
        for (let i = 0; i < pcm.length; i++) samples[i] = pcm[i]! / 32768;
        return Buffer.from(samples.buffer);
      },
      onMessage: (raw): WireReply[] => {
        const message = JSON.parse(raw) as WhisperLiveMessage;
        if (message.status === 'WAIT') {
          throw new BridgeError('ASR_ENGINE_FAILED', `whisperlive is serving as many clients as it can; it says a place frees in ${String(message.message)} minutes`);
        }
        if (message.status === 'ERROR') throw new BridgeError('ASR_ENGINE_FAILED', `whisperlive: ${String(message.message)}`);
        if (message.status === 'WARNING') this.log.warn({ engine: this.engine, warning: message.message }, 'whisperlive warns');
        if (!Array.isArray(message.segments)) return [];
        const replies: WireReply[] = [];
        incomplete = undefined;
        for (const segment of message.segments) {
          if (!segment.completed) {
            incomplete = segment;
          } else if (Number(segment.start) > lastCompletedStart) {
            lastCompletedStart = Number(segment.start);
            replies.push(...settle(segment));
          }
        }
        const words = incomplete ? wordsOf(incomplete) : [];
        if (words.length > 0) replies.push({ kind: 'interim', text: words.map((w) => w.word).join(' '), words });
        return replies;
      },
      closed: () => {
        const last = incomplete;
        incomplete = undefined;
        return last ? settle(last) : [];
      },
    };
  }
}
