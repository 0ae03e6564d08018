import { BridgeError } from '../../errors.js';
import { PCM_SAMPLE_RATE } from '../../audio.js';
import type { Logger } from '../../log.js';
import { WebSocketRecognizer, type WebSocketEndpoint } from '../remote/websocket-recognizer.js';
import type { WireSession } from '../remote/wire-stream.js';
import { WORD_BY_WORD_BLOCK_HOLD_MS, type RecognizerCapabilities } from '../types.js';

/** vosk-server compares this text exactly (spaces included) to end a stream. */
const EOF_MESSAGE = '{"eof" : 1}';

interface VoskReply {
  partial?: string;
  text?: string;
  result?: { word: string; start: number; end: number; conf?: number }[];
}

/**
 * A self-hosted recognizer speaking the Vosk WebSocket protocol (vosk-server, or any GPU server that speaks it):
 * one connection per stream, `{"config": {...}}`, binary s16le audio, one JSON reply per audio message
 * (`partial`, or `result` + `text` at each end of utterance), and `{"eof" : 1}` for the last result. The protocol
 * has no "settle now": a client's Finalize waits for the server's own endpointing.
 */
export class VoskServerRecognizer extends WebSocketRecognizer {
  readonly engine = 'vosk-server';
  readonly capabilities: RecognizerCapabilities = { streaming: true, interimResults: true, wordTimings: true, languages: [], blockHoldMs: WORD_BY_WORD_BLOCK_HOLD_MS };

  constructor(
    private readonly url: string,
    log: Logger,
  ) {
    super(log);
  }

  protected endpoint(): WebSocketEndpoint {
    return { url: this.url };
  }

  protected session(): WireSession {
    return {
      openMessage: JSON.stringify({ config: { sample_rate: PCM_SAMPLE_RATE, words: 1 } }),
      endMessage: EOF_MESSAGE,
      onMessage: (raw) => {
        let reply: VoskReply;
        try {
          reply = JSON.parse(raw) as VoskReply;
        } catch {
          throw new BridgeError('ASR_ENGINE_FAILED', 'vosk server sent a reply that is not JSON');
        }
        if (typeof reply.partial === 'string') return [{ kind: 'interim', text: reply.partial }];
        const words = (reply.result ?? []).map((w) => ({ word: w.word, start: w.start, end: w.end }));
        const text = reply.text ?? words.map((w) => w.word).join(' ');
        return text ? [{ kind: 'final', text, words }] : [{ kind: 'utterance-end' }];
      },
    };
  }
}
