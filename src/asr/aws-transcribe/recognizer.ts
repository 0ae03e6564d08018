import type { AudioStream, Item, Result, TranscribeStreamingClient, TranscriptResultStream } from '@aws-sdk/client-transcribe-streaming';
import { FINALIZE, PCM_SAMPLE_RATE, type AudioItem } from '../../audio.js';
import { BridgeError, errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import { AsyncQueue } from '../../util/async-queue.js';
import { Backoff, pause } from '../../util/backoff.js';
import { normalizeWords } from '../../util/wer.js';
import { DEFAULT_CONNECTION_POLICY, type ConnectionPolicy } from '../remote/wire-stream.js';
import { shiftWords, type RecognizedWord, type RecognizerCapabilities, type SpeechEvent, type SpeechRecognizer } from '../types.js';
import { UtteranceTracker } from '../utterance.js';

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

/** Audio per request frame: AWS suggests 50-200 ms, and every frame is signed. */
const FRAME_SAMPLES = PCM_SAMPLE_RATE / 10;
/** AWS ends a request that gets no audio for 15 s: silence goes out after this long without audio. */
const IDLE_SILENCE_MS = 5_000;

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
 * profile, container or instance role); nothing of them is logged. AWS has no "settle now" message.
 * A request that fails mid-stream is made again (after 0.25, 0.5, 1, 2 s), its times moved onto the stream's
 * timeline; the audio waits meanwhile.
 */
export class AwsTranscribeRecognizer implements SpeechRecognizer {
  readonly engine = 'aws-transcribe';
  readonly capabilities: RecognizerCapabilities;
  readonly stats = { audioSeconds: 0, cpuMs: 0 };
  private client: Promise<TranscribeStreamingClient> | undefined;
  private closed = false;
  /** Every stream's way to stop at once (close()). */
  private readonly stops = new Set<() => void>();

  constructor(
    private readonly options: AwsTranscribeOptions,
    private readonly log: Logger,
    private readonly policy: ConnectionPolicy = DEFAULT_CONNECTION_POLICY,
  ) {
    this.capabilities = { streaming: true, interimResults: true, wordTimings: true, languages: [options.language] };
  }

  /** One short request of silence, so credentials, region, language and vocabulary are refused now, not mid-meeting. */
  async start(): Promise<void> {
    if (this.options.phrases.length > 0 && !this.options.vocabularyName) {
      this.log.warn({ engine: this.engine }, 'aws-transcribe takes vocabulary only as a custom vocabulary made in AWS beforehand (asr.vocabularyName); asr.phrases are not sent');
    }
    const abort = new AbortController();
    const silence = async function* (): AsyncGenerator<AudioStream> {
      yield { AudioEvent: { AudioChunk: new Uint8Array(FRAME_SAMPLES * 2) } };
    };
    for await (const _ of this.request(silence(), abort.signal, true));
  }

  async *transcribe(audio: AsyncIterable<AudioItem>): AsyncIterable<SpeechEvent> {
    if (this.closed) throw new BridgeError('CLOSED', 'recognizer is closed');
    const events = new AsyncQueue<SpeechEvent>();
    const current = { abort: new AbortController() };
    const stop = (): void => {
      current.abort.abort();
      events.end();
    };
    this.stops.add(stop);
    void this.run(audio[Symbol.asyncIterator](), events, current);
    try {
      yield* events;
    } finally {
      this.stops.delete(stop);
      stop();
    }
  }

  /** Ends every stream in progress (their readers see the end at once). Safe twice. */
  async close(): Promise<void> {
    this.closed = true;
    for (const stop of this.stops) stop();
    this.client?.then((client) => client.destroy(), () => undefined);
  }

  /** One stream: requests one after another until the audio ends, each a new start on the stream's timeline. */
  private async run(source: AsyncIterator<AudioItem>, events: AsyncQueue<SpeechEvent>, current: { abort: AbortController }): Promise<void> {
    const tracker = new UtteranceTracker((event) => events.push(event));
    const waits = new Backoff(this.policy.reconnect);
    /** The audio read but not yet taken by a request: a request that ends leaves it to the next. */
    let waiting: Promise<IteratorResult<AudioItem>> | undefined;
    let sentSamples = 0;
    let audioEnded = false;
    const now = (): number => sentSamples / PCM_SAMPLE_RATE;
    for (;;) {
      if (this.closed || events.isEnded) return;
      const abort = (current.abort = new AbortController());
      const offset = now();
      let lastResult: string | undefined;
      const recognizer = this;
      async function* frames(): AsyncGenerator<AudioStream> {
        let frame: Int16Array[] = [];
        let frameSamples = 0;
        const out = (): AudioStream => {
          const joined = new Int16Array(frameSamples);
          let at = 0;
          for (const part of frame) {
            joined.set(part, at);
            at += part.length;
          }
          sentSamples += frameSamples;
          recognizer.stats.audioSeconds += frameSamples / PCM_SAMPLE_RATE;
          frame = [];
          frameSamples = 0;
          return { AudioEvent: { AudioChunk: new Uint8Array(joined.buffer) } };
        };
        for (;;) {
          waiting ??= source.next();
          let timer: NodeJS.Timeout | undefined;
          const idle = new Promise<'idle'>((resolve) => (timer = setTimeout(resolve, IDLE_SILENCE_MS, 'idle')));
          const next = await Promise.race([waiting, idle]).finally(() => clearTimeout(timer));
          // This request is over (failed or stopped): what was read stays for the next one.
          if (abort.signal.aborted) return;
          if (next === 'idle') {
            frame.push(new Int16Array(FRAME_SAMPLES));
            frameSamples += FRAME_SAMPLES;
            yield out();
            continue;
          }
          waiting = undefined;
          if (next.done) {
            audioEnded = true;
            if (frameSamples > 0) yield out();
            return;
          }
          if (next.value === FINALIZE) continue;
          frame.push(next.value);
          frameSamples += next.value.length;
          if (frameSamples >= FRAME_SAMPLES) yield out();
        }
      }
      try {
        for await (const event of this.request(frames(), abort.signal, false)) {
          waits.reset();
          for (const result of event.TranscriptEvent?.Transcript?.Results ?? []) {
            if (result.ChannelId && result.ChannelId !== 'ch_0') continue;
            // A new result is a new utterance; one left partial is over.
            if (result.ResultId !== lastResult) tracker.endOfSpeech(now());
            lastResult = result.ResultId;
            const words = shiftWords(wordsOf(result), offset);
            const text = words.map((w) => w.word).join(' ');
            if (result.IsPartial) tracker.interim(text, words, now());
            else tracker.final(text, words, now());
          }
        }
        tracker.endOfSpeech(now());
        if (audioEnded || abort.signal.aborted) return events.end();
        throw new BridgeError('ASR_ENGINE_FAILED', 'aws-transcribe ended the request before the audio ended');
      } catch (err) {
        if (this.closed || events.isEnded) return;
        const failure = err instanceof BridgeError ? err : this.failure(err, false);
        if (!failure.retryable) return events.fail(failure);
        tracker.endOfSpeech(now());
        const delay = waits.next();
        if (delay === undefined) {
          return events.fail(new BridgeError('ASR_ENGINE_FAILED', `aws-transcribe: request failed and not back after ${waits.retries} attempts (${failure.message})`));
        }
        this.log.warn({ engine: this.engine, err: failure.message, atSeconds: now() }, 'speech engine request failed; starting a new one');
        await pause(delay);
      } finally {
        abort.abort();
      }
    }
  }

  private async *request(audio: AsyncIterable<AudioStream>, signal: AbortSignal, atStart: boolean): AsyncGenerator<TranscriptResultStream> {
    const { StartStreamTranscriptionCommand } = await import('@aws-sdk/client-transcribe-streaming');
    const { language, vocabularyName, diarize } = this.options;
    try {
      const client = await this.sdkClient();
      const response = await client.send(
        new StartStreamTranscriptionCommand({
          LanguageCode: language as never,
          MediaEncoding: 'pcm',
          MediaSampleRateHertz: PCM_SAMPLE_RATE,
          EnablePartialResultsStabilization: true,
          PartialResultsStability: 'medium',
          ...(vocabularyName ? { VocabularyName: vocabularyName } : {}),
          ...(diarize ? { ShowSpeakerLabel: true } : {}),
          AudioStream: audio,
        }),
        { abortSignal: signal },
      );
      for await (const event of response.TranscriptResultStream ?? []) yield event;
    } catch (err) {
      if (signal.aborted) return;
      throw this.failure(err, atStart);
    }
  }

  private sdkClient(): Promise<TranscribeStreamingClient> {
    if (this.closed) return Promise.reject(new BridgeError('CLOSED', 'recognizer is closed'));
    // The SDK is loaded only for meetings that use it.
    this.client ??= import('@aws-sdk/client-transcribe-streaming').then(
      ({ TranscribeStreamingClient }) =>
        new TranscribeStreamingClient({ ...(this.options.region ? { region: this.options.region } : {}), ...(this.options.url ? { endpoint: this.options.url } : {}), maxAttempts: 1 }),
    );
    return this.client;
  }

  /** What an SDK error means for the bridge: a person must act (credentials, options), or trying again may help. */
  private failure(err: unknown, atStart: boolean): BridgeError {
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

/** A result's words, with punctuation as the written form of the word before it, speakers and AWS's stable flags. */
function wordsOf(result: Result): RecognizedWord[] {
  const words: RecognizedWord[] = [];
  for (const item of result.Alternatives?.[0]?.Items ?? ([] as Item[])) {
    const content = item.Content ?? '';
    const last = words.at(-1);
    if (item.Type === 'punctuation') {
      if (last) last.display = `${last.display ?? last.word}${content}`;
      continue;
    }
    const plain = normalizeWords(content);
    for (const word of plain) {
      words.push({
        word,
        start: item.StartTime ?? 0,
        end: item.EndTime ?? item.StartTime ?? 0,
        ...(plain.length === 1 ? { display: content } : {}),
        ...(item.Speaker ? { speaker: item.Speaker } : {}),
        ...(item.Stable ? { stable: true } : {}),
      });
    }
  }
  return words;
}
