import { BridgeError } from '../../errors.js';
import { PCM_SAMPLE_RATE } from '../../audio.js';
import type { Logger } from '../../log.js';
import { WebSocketRecognizer, type CloudEngineOptions, type WebSocketEndpoint } from '../remote/websocket-recognizer.js';
import type { WireReply, WireSession } from '../remote/wire-stream.js';
import type { RecognizedWord, RecognizerCapabilities } from '../types.js';
import { withWrittenForms } from '../written-forms.js';

export const ASSEMBLYAI_URL = 'wss://streaming.assemblyai.com/v3/ws';

interface AssemblyAiWord {
  text: string;
  start: number;
  end: number;
}
interface AssemblyAiMessage {
  type?: string;
  turn_order?: number;
  end_of_turn?: boolean;
  turn_is_formatted?: boolean;
  transcript?: string;
  words?: AssemblyAiWord[];
  error?: string;
}

/**
 * AssemblyAI Universal-Streaming (v3): `Begin`, growing `Turn`s with word times in milliseconds, a Turn with
 * `end_of_turn` that settles it, `ForceEndpoint` for a client's Finalize, `Terminate` -> `Termination`.
 * With `format_turns` each ended turn comes once more, formatted (punctuation, casing): its sentence ends cut
 * caption blocks, so the turn's final waits for it. A session that expires (they last at most a few hours) is
 * simply reconnected by the base.
 */
export class AssemblyAiRecognizer extends WebSocketRecognizer {
  readonly engine = 'assemblyai';
  readonly capabilities: RecognizerCapabilities;

  constructor(
    private readonly options: CloudEngineOptions,
    log: Logger,
  ) {
    super(log);
    this.capabilities = { streaming: true, interimResults: true, wordTimings: true, languages: [options.language] };
    // The API takes 50 ms to 1 s of audio per message.
    this.chunkMs = 100;
    this.minChunkMs = 50;
  }

  protected endpoint(): WebSocketEndpoint {
    const url = new URL(this.options.url ?? ASSEMBLYAI_URL);
    const query = url.searchParams;
    query.set('speech_model', this.options.model);
    query.set('sample_rate', String(PCM_SAMPLE_RATE));
    query.set('encoding', 'pcm_s16le');
    // Formatted turns carry the punctuation that ends sentences; the words stay plain for the meeting's text rules.
    query.set('format_turns', 'true');
    query.set('min_end_of_turn_silence_when_confident', String(this.options.endpointSilenceMs));
    if (this.options.phrases.length > 0) query.set('keyterms_prompt', JSON.stringify(this.options.phrases));
    return { url: url.toString(), headers: { Authorization: this.options.apiKey } };
  }

  protected session(): WireSession {
    // An ended turn whose formatted copy has not come yet: its words are known, its punctuation is not.
    let ended: { order: number | undefined; words: RecognizedWord[]; transcript: string } | undefined;
    // The last turn settled without its formatted copy: a copy arriving after all must not settle it twice.
    let settledUnformatted: number | undefined;
    const settleEnded = (): WireReply[] => {
      const turn = ended;
      ended = undefined;
      if (!turn) return [];
      settledUnformatted = turn.order;
      return [{ kind: 'final', text: turn.transcript, words: turn.words }];
    };
    return {
      finalizeMessage: JSON.stringify({ type: 'ForceEndpoint' }),
      endMessage: JSON.stringify({ type: 'Terminate' }),
      onMessage: (raw) => {
        const message = JSON.parse(raw) as AssemblyAiMessage;
        if (message.error) throw new BridgeError('ASR_ENGINE_FAILED', `assemblyai: ${message.error}`);
        switch (message.type) {
          case 'Turn': {
            const words = (message.words ?? []).map((w) => ({ word: w.text, start: w.start / 1000, end: w.end / 1000 }));
            const text = words.map((w) => w.word).join(' ');
            if (message.turn_is_formatted) {
              if (!ended && message.turn_order !== undefined && message.turn_order === settledUnformatted) return [];
              // The formatted copy of the turn just ended: its written forms go on the words as the engine heard them.
              const heard = ended;
              ended = undefined;
              const plain = heard?.words ?? words.map((w) => ({ ...w, word: w.word.toLowerCase().replace(/[^\p{L}\p{N}']/gu, '') }));
              return [{ kind: 'final', text: message.transcript || text, words: withWrittenForms(plain, message.transcript ?? '') }];
            }
            // Anything else after an ended turn means its formatted copy is not coming first (formatting off, or the next
            // turn began): the turn settles as it was heard.
            const before = settleEnded();
            if (!message.end_of_turn) return [...before, { kind: 'interim', text, words }];
            ended = { order: message.turn_order, words, transcript: message.transcript || text };
            // Every word of the ended turn is final: shown as the engine's answer while its formatting is made.
            return [...before, { kind: 'interim', text, words }];
          }
          case 'Termination':
            return [...settleEnded(), { kind: 'done' }];
          default:
            return [];
        }
      },
    };
  }

  protected override refusal(code: number, reason: string): BridgeError | undefined {
    if (code === 1008 || code === 4001) return new BridgeError('ASR_AUTH_FAILED', `assemblyai refused the API key: ${reason || code}`);
    // 3005: the session reached its maximum duration; a new one continues the meeting.
    if (code === 3005) return undefined;
    if (code >= 3000 && code < 5000) return new BridgeError('ASR_ENGINE_REJECTED', `assemblyai refused the stream (${code}): ${reason}`);
    return undefined;
  }
}
