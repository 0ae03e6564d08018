import type { v2 } from '@google-cloud/speech';
import { PCM_SAMPLE_RATE } from '../../audio.js';
import { BridgeError, errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import { normalizeWords } from '../../util/wer.js';
import { RequestStreamRecognizer } from '../remote/request-stream-recognizer.js';
import type { WireReply } from '../remote/wire-stream.js';
import { spreadWords, WORD_BY_WORD_BLOCK_HOLD_MS, type RecognizedWord, type RecognizerCapabilities } from '../types.js';
import { withWrittenForms } from '../written-forms.js';

export interface GoogleSpeechOptions {
  /** The Google Cloud project whose Speech-to-Text is used. */
  project: string;
  /** `global`, or a region (`us-central1`, `eu`): the endpoint follows it. */
  location: string;
  model: string;
  language: string;
  phrases: string[];
  /** An API key, sent as `x-goog-api-key`; without it the application default credentials (a service account). */
  apiKey?: string;
  /** Another endpoint: https://host[:port], or http://host:port for an emulator (no TLS). */
  url?: string;
  /**
   * After this much audio a stream is ended at the next final and another begun, so Google's own limit (about five
   * minutes) never cuts one mid-sentence. 240 s unless a test shortens it.
   */
  rotateAfterSeconds?: number;
}

type SpeechClient = InstanceType<typeof v2.SpeechClient>;
interface Duration {
  seconds?: number | string | { toNumber(): number } | null;
  nanos?: number | null;
}
interface StreamingResponse {
  speechEventType?: string | number | null;
  results?: {
    alternatives?: { transcript?: string | null; words?: { startOffset?: Duration | null; endOffset?: Duration | null; word?: string | null }[] | null }[] | null;
    isFinal?: boolean | null;
    resultEndOffset?: Duration | null;
  }[] | null;
}

/** gRPC status codes this adapter tells apart. */
const GRPC = { INVALID_ARGUMENT: 3, NOT_FOUND: 5, PERMISSION_DENIED: 7, FAILED_PRECONDITION: 9, OUT_OF_RANGE: 11, UNAUTHENTICATED: 16 };

/**
 * Google Cloud Speech-to-Text v2 through Google's own client (`@google-cloud/speech`, gRPC `StreamingRecognize`):
 * the first request names the recognizer `projects/P/locations/L/recognizers/_` and configures it inline (LINEAR16
 * 16 kHz, the language, the model, automatic punctuation, word offsets, the phrases as an inline phrase set,
 * interim results and voice activity events); audio follows. Interim results carry text only (Google sends word
 * offsets with finals), spread over the speech since the last final; each final result is one utterance. Google
 * ends a stream after about five minutes (OUT_OF_RANGE): a stream is ended at a final after four minutes and the
 * next begins at once (and if Google's limit comes first, the next begins at once too).
 */
export class GoogleSpeechRecognizer extends RequestStreamRecognizer<SpeechClient> {
  readonly engine = 'google-speech';
  readonly capabilities: RecognizerCapabilities;

  constructor(
    private readonly options: GoogleSpeechOptions,
    log: Logger,
  ) {
    super(log);
    this.capabilities = { streaming: true, interimResults: true, wordTimings: true, languages: [options.language], blockHoldMs: WORD_BY_WORD_BLOCK_HOLD_MS };
  }

  protected releaseClient(client: SpeechClient): void {
    client.close().catch(() => undefined);
  }

  protected async *request(frames: AsyncIterable<Int16Array>, signal: AbortSignal, atStart: boolean): AsyncIterable<WireReply[]> {
    const { project, location, model, language, phrases, apiKey } = this.options;
    const client = await this.sdkClient();
    const call = client._streamingRecognize(apiKey ? { otherArgs: { headers: { 'x-goog-api-key': apiKey } } } : {});
    const cancel = (): void => void call.cancel?.();
    signal.addEventListener('abort', cancel);
    call.write({
      recognizer: `projects/${project}/locations/${location}/recognizers/_`,
      streamingConfig: {
        config: {
          explicitDecodingConfig: { encoding: 'LINEAR16', sampleRateHertz: PCM_SAMPLE_RATE, audioChannelCount: 1 },
          languageCodes: [language],
          model,
          features: { enableAutomaticPunctuation: true, enableWordTimeOffsets: true },
          ...(phrases.length > 0 ? { adaptation: { phraseSets: [{ inlinePhraseSet: { phrases: phrases.map((value) => ({ value, boost: 10 })) } }] } } : {}),
        },
        streamingFeatures: { interimResults: true, enableVoiceActivityEvents: true },
      },
    });
    // Set after a final once the stream is old: the audio goes on in the next request, no words in flight lost.
    let rotate = false;
    let requestSamples = 0;
    void (async () => {
      try {
        for await (const frame of frames) {
          requestSamples += frame.length;
          if (!call.write({ audio: Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength) })) await roomOrEnd(call);
          if (rotate) break;
        }
        call.end();
      } catch {
        // The call failed or was cancelled: its reader below reports why.
      }
    })();
    /** Where the speech since the last final began: interim words are spread from here. */
    let settledUntil = 0;
    try {
      for await (const response of call as AsyncIterable<StreamingResponse>) {
        const replies: WireReply[] = [];
        if (response.speechEventType === 'SPEECH_ACTIVITY_BEGIN') replies.push({ kind: 'speech-started' });
        const results = response.results ?? [];
        const final = results.find((r) => r.isFinal);
        if (final) {
          const transcript = (final.alternatives?.[0]?.transcript ?? '').trim();
          const words = withWrittenForms(
            (final.alternatives?.[0]?.words ?? []).flatMap((w) => normalizeWords(w.word ?? '').map((word) => ({ word, start: seconds(w.startOffset), end: seconds(w.endOffset) }))),
            transcript,
          );
          settledUntil = seconds(final.resultEndOffset) || words.at(-1)?.end || settledUntil;
          replies.push(words.length > 0 ? { kind: 'final', text: words.map((w) => w.word).join(' '), words } : { kind: 'utterance-end' });
          if (requestSamples / PCM_SAMPLE_RATE >= (this.options.rotateAfterSeconds ?? 240)) rotate = true;
        } else if (results.length > 0) {
          const text = results.map((r) => r.alternatives?.[0]?.transcript ?? '').join('').trim();
          const words: RecognizedWord[] = withWrittenForms(spreadWords(text, settledUntil, seconds(results.at(-1)!.resultEndOffset)), text);
          if (words.length > 0) replies.push({ kind: 'interim', text: words.map((w) => w.word).join(' '), words });
        }
        yield replies;
      }
    } catch (err) {
      if (signal.aborted) return;
      // The stream's duration limit: this request is over, the next one takes the audio.
      if ((err as { code?: number }).code === GRPC.OUT_OF_RANGE) return;
      throw this.failure(err, atStart);
    } finally {
      signal.removeEventListener('abort', cancel);
    }
  }

  protected makeClient(): Promise<SpeechClient> {
    return Promise.all([import('@google-cloud/speech'), import('google-gax')]).then(([speech, gax]) => {
      const { url, location, apiKey } = this.options;
      const endpoint = new URL(url ?? `https://${location === 'global' ? '' : `${location}-`}speech.googleapis.com`);
      const plain = endpoint.protocol === 'http:';
      return new speech.v2.SpeechClient({
        apiEndpoint: endpoint.hostname,
        port: Number(endpoint.port || (plain ? 80 : 443)),
        // An emulator takes no TLS; with an API key the channel needs no Google credentials (and, naming the universe,
        // the client does not look for them on a cloud metadata server).
        ...(plain || apiKey ? { sslCreds: plain ? gax.grpc.credentials.createInsecure() : gax.grpc.credentials.createSsl(), universeDomain: 'googleapis.com' } : {}),
      });
    });
  }

  /** What a gRPC error means for the bridge: a person must act (credentials, options), or trying again may help. */
  private failure(err: unknown, atStart: boolean): BridgeError {
    if (err instanceof BridgeError) return err;
    const code = (err as { code?: number }).code;
    const message = (err as { details?: string }).details || errorMessage(err);
    if (code === GRPC.UNAUTHENTICATED || code === GRPC.PERMISSION_DENIED || /default credentials/i.test(message)) {
      return new BridgeError('ASR_AUTH_FAILED', `google-speech refused the credentials (${message}); give asr.apiKey or the application default credentials (GOOGLE_APPLICATION_CREDENTIALS)`);
    }
    if (atStart && (code === GRPC.INVALID_ARGUMENT || code === GRPC.NOT_FOUND || code === GRPC.FAILED_PRECONDITION)) {
      return new BridgeError('ASR_ENGINE_REJECTED', `google-speech refused the request (${message}); check the asr options (project, location, model, language)`);
    }
    return new BridgeError('ASR_ENGINE_FAILED', `google-speech: ${message}`);
  }
}

/** Waits for room to write, or for the call to end (failed or cancelled), so a writer never hangs; leaves no listener behind. */
function roomOrEnd(call: NodeJS.EventEmitter): Promise<void> {
  const events = ['drain', 'close', 'error'];
  return new Promise((resolve) => {
    const done = (): void => {
      for (const event of events) call.off(event, done);
      resolve();
    };
    for (const event of events) call.once(event, done);
  });
}

function seconds(duration: Duration | null | undefined): number {
  if (!duration) return 0;
  const whole = duration.seconds;
  const count = typeof whole === 'object' && whole !== null ? whole.toNumber() : Number(whole ?? 0);
  return count + (duration.nanos ?? 0) / 1e9;
}
