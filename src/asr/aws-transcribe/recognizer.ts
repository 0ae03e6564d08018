import type { Item, LanguageCode, Result, TranscribeStreamingClient } from '@aws-sdk/client-transcribe-streaming';
import { PCM_SAMPLE_RATE } from '../../audio.js';
import { BridgeError, errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import { RequestStreamRecognizer } from '../remote/request-stream-recognizer.js';
import type { WireReply } from '../remote/wire-stream.js';
import { WORD_BY_WORD_BLOCK_HOLD_MS, type RecognizedWord, type RecognizerCapabilities } from '../types.js';
import { wordsOfItems } from '../written-forms.js';

export interface AwsTranscribeOptions {
  /** The AWS region; without it the SDK's own (AWS_REGION, the profile). */
  region?: string;
  /** Another endpoint (a VPC endpoint, a FIPS one, a local stand-in). */
  url?: string;
  language: string;
  /** A custom vocabulary created in AWS beforehand: the streaming API takes vocabulary only by name. */
  vocabularyName?: string;
  /** Ask who speaks: a change of speaker starts a new caption block. */
  diarize?: boolean;
  phrases: string[];
}

/** Error names by which AWS refuses the credentials (or their permission to use Transcribe). */
const AUTH_ERRORS = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'AccessDeniedException',
  'ExpiredTokenException',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'CredentialsProviderError',
]);

/**
 * Amazon Transcribe streaming through AWS's own SDK (`StartStreamTranscription`, HTTP/2 event stream): PCM 16 kHz,
 * partial results with stabilisation, whose per-word `Stable` flag settles a word at once. A result is one
 * utterance: partial while `IsPartial`, then final. Credentials come from the SDK's usual chain (environment,
 * profile, container or instance role); nothing of them is logged. AWS has no "settle now" message, and ends a
 * request that gets no audio for 15 s (the base sends silence after 5 s).
 */
export class AwsTranscribeRecognizer extends RequestStreamRecognizer<TranscribeStreamingClient> {
  readonly engine = 'aws-transcribe';
  readonly capabilities: RecognizerCapabilities;

  constructor(
    private readonly options: AwsTranscribeOptions,
    log: Logger,
  ) {
    super(log);
    this.capabilities = { streaming: true, interimResults: true, wordTimings: true, languages: [options.language], blockHoldMs: WORD_BY_WORD_BLOCK_HOLD_MS };
  }

  override async start(): Promise<void> {
    if (this.options.phrases.length > 0 && !this.options.vocabularyName) {
      this.log.warn({ engine: this.engine }, 'aws-transcribe takes vocabulary only as a custom vocabulary made in AWS beforehand (asr.vocabularyName); asr.phrases are not sent');
    }
    await super.start();
  }

  protected releaseClient(client: TranscribeStreamingClient): void {
    client.destroy();
  }

  protected async *request(frames: AsyncIterable<Int16Array>, signal: AbortSignal, atStart: boolean): AsyncIterable<WireReply[]> {
    const { StartStreamTranscriptionCommand } = await import('@aws-sdk/client-transcribe-streaming');
    const { language, vocabularyName, diarize } = this.options;
    const audio = async function* () {
      for await (const frame of frames) yield { AudioEvent: { AudioChunk: new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength) } };
    };
    let lastResult: string | undefined;
    try {
      const client = await this.sdkClient();
      const response = await client.send(
        new StartStreamTranscriptionCommand({
          // The schema checks the form; AWS says whether it has the language (refused at start).
          LanguageCode: language as LanguageCode,
          MediaEncoding: 'pcm',
          MediaSampleRateHertz: PCM_SAMPLE_RATE,
          EnablePartialResultsStabilization: true,
          PartialResultsStability: 'medium',
          ...(vocabularyName ? { VocabularyName: vocabularyName } : {}),
          ...(diarize ? { ShowSpeakerLabel: true } : {}),
          AudioStream: audio(),
        }),
        { abortSignal: signal },
      );
      for await (const event of response.TranscriptResultStream ?? []) {
        const replies: WireReply[] = [];
        for (const result of event.TranscriptEvent?.Transcript?.Results ?? []) {
          if (result.ChannelId && result.ChannelId !== 'ch_0') continue;
          // A new result is a new utterance; one left partial is over.
          if (result.ResultId !== lastResult) replies.push({ kind: 'utterance-end' });
          lastResult = result.ResultId;
          const words = wordsOf(result);
          const text = words.map((w) => w.word).join(' ');
          replies.push(result.IsPartial ? { kind: 'interim', text, words } : { kind: 'final', text, words });
        }
        yield replies;
      }
    } catch (err) {
      if (signal.aborted) return;
      throw this.failure(err, atStart);
    }
  }

  protected makeClient(): Promise<TranscribeStreamingClient> {
    return import('@aws-sdk/client-transcribe-streaming').then(
      ({ TranscribeStreamingClient }) =>
        new TranscribeStreamingClient({
          ...(this.options.region ? { region: this.options.region } : {}),
          ...(this.options.url ? { endpoint: this.options.url } : {}),
          maxAttempts: 1,
          // Without a logger of its own the SDK writes a failed stream's warning to the console, outside the bridge's
          // JSON log; the adapter reports the failure itself.
          logger: { trace: quiet, debug: quiet, info: quiet, warn: (...said: unknown[]) => this.log.debug({ engine: this.engine, sdk: said.map(String).join(' ') }, 'aws sdk'), error: quiet },
        }),
    );
  }

  /** What an SDK error means for the bridge: a person must act (credentials, options), or trying again may help. */
  private failure(err: unknown, atStart: boolean): BridgeError {
    if (err instanceof BridgeError) return err;
    const name = (err as { name?: string }).name ?? '';
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const message = errorMessage(err);
    if (AUTH_ERRORS.has(name) || status === 401 || status === 403) {
      return new BridgeError('ASR_AUTH_FAILED', `aws-transcribe refused the credentials (${name || status}: ${message}); they come from the AWS environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, or a role)`);
    }
    if (/region is missing|region not accepted/i.test(message)) return new BridgeError('ASR_ENGINE_REJECTED', `aws-transcribe needs a region: set asr.region or AWS_REGION (${message})`);
    // A bad request at start is the options (language, vocabulary); mid-stream it is usually a timeout: start again.
    if (name === 'BadRequestException' && atStart) return new BridgeError('ASR_ENGINE_REJECTED', `aws-transcribe refused the request (${message}); check the asr options`);
    return new BridgeError('ASR_ENGINE_FAILED', `aws-transcribe: ${name ? `${name}: ` : ''}${message}`);
  }
}

const quiet = (): void => undefined;

/** A result's words, with punctuation as the written form of the word before it, speakers and AWS's stable flags. */
function wordsOf(result: Result): RecognizedWord[] {
  return wordsOfItems(
    (result.Alternatives?.[0]?.Items ?? ([] as Item[])).map((item) => ({
      content: item.Content ?? '',
      punctuation: item.Type === 'punctuation',
      start: item.StartTime ?? 0,
      end: item.EndTime ?? item.StartTime ?? 0,
      ...(item.Speaker ? { speaker: item.Speaker } : {}),
      ...(item.Stable ? { stable: true } : {}),
    })),
  );
}
