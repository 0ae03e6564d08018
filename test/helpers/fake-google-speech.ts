import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { RecognizedWord, SpeechEvent } from '../../src/asr/types.js';
import { EngineSession, PocketsphinxHearing, writtenSentence, type EngineStandIn, type Hearing } from './fake-engine-server.js';

const require = createRequire(import.meta.url);
/** The protos Google's own client ships (`@google-cloud/speech`), and the common ones its gRPC layer ships. */
const PROTO_DIRS = [join(dirname(require.resolve('@google-cloud/speech')), '..', 'protos'), join(dirname(require.resolve('google-gax')), '..', 'protos')];

interface StreamingRequest {
  recognizer?: string;
  streamingConfig?: {
    config?: {
      explicitDecodingConfig?: { encoding?: string; sampleRateHertz?: number; audioChannelCount?: number };
      model?: string;
      languageCodes?: string[];
      features?: { enableAutomaticPunctuation?: boolean; enableWordTimeOffsets?: boolean };
      adaptation?: { phraseSets?: { inlinePhraseSet?: { phrases?: { value?: string; boost?: number }[] } }[] };
    };
    streamingFeatures?: { interimResults?: boolean; enableVoiceActivityEvents?: boolean };
  };
  audio?: Buffer;
  streamingRequest?: string;
}

const duration = (seconds: number): { seconds: number; nanos: number } => ({ seconds: Math.floor(seconds), nanos: Math.round((seconds % 1) * 1e9) });

/**
 * Google Cloud Speech-to-Text v2 `StreamingRecognize` over gRPC, served from the `cloud_speech.proto` that
 * Google's client (@google-cloud/speech) ships: the first request names the recognizer
 * (`projects/P/locations/L/recognizers/R`) and carries the `streamingConfig` (LINEAR16 16 kHz mono, language codes,
 * model, features, inline phrase sets), then `audio` requests; answers are `StreamingRecognizeResponse`s: voice
 * activity events (`SPEECH_ACTIVITY_BEGIN` / `END` with offsets) when asked, interim results (transcript and
 * stability, no words, as Google sends them) and one final result per utterance with word offsets, cased and
 * punctuated when automatic punctuation is on; half-closing the request stream settles the last words and ends the
 * call; a stream longer than `maxStreamSeconds` of audio ends with OUT_OF_RANGE. The API key (`x-goog-api-key` metadata) is checked: UNAUTHENTICATED otherwise; a model it does not know,
 * or a first request without a config, is INVALID_ARGUMENT.
 */
export class FakeGoogleSpeech implements EngineStandIn {
  connections = 0;
  drops = 0;
  readonly configs: StreamingRequest[] = [];
  readonly apiKeys: (string | undefined)[] = [];
  /** Google ends a stream after about five minutes of audio (OUT_OF_RANGE); a test shortens it. */
  maxStreamSeconds = 305;
  /** Streams ended by that limit. */
  cutAtLimit = 0;
  private server: grpc.Server | undefined;
  private port = 0;
  /** What hears each stream's audio (see FakeEngineServer.hears). */
  hears: () => Hearing = () => new PocketsphinxHearing();
  private dropNext: { after: number; stopServer: boolean } | undefined;
  private readonly service = (
    grpc.loadPackageDefinition(
      protoLoader.loadSync('google/cloud/speech/v2/cloud_speech.proto', { includeDirs: PROTO_DIRS, keepCase: false, longs: Number, enums: String, defaults: false, oneofs: true }),
    ) as unknown as { google: { cloud: { speech: { v2: { Speech: { service: grpc.ServiceDefinition } } } } } }
  ).google.cloud.speech.v2.Speech.service;

  constructor(readonly apiKey = 'google-test-key') {}

  dropNextConnectionAfter(audioMessages: number, options: { stopServer?: boolean } = {}): void {
    this.dropNext = { after: audioMessages, stopServer: options.stopServer ?? false };
  }

  async start(): Promise<string> {
    const server = (this.server = new grpc.Server());
    server.addService(this.service, { StreamingRecognize: (call: grpc.ServerDuplexStream<StreamingRequest, unknown>) => this.serve(call) });
    this.port = await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${this.port}`, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))));
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    this.server?.forceShutdown();
    this.server = undefined;
  }

  private serve(call: grpc.ServerDuplexStream<StreamingRequest, unknown>): void {
    const key = call.metadata.get('x-goog-api-key')[0]?.toString();
    this.apiKeys.push(key);
    const fail = (code: grpc.status, details: string): void => {
      call.emit('error', { code, details });
    };
    if (key !== this.apiKey) return fail(grpc.status.UNAUTHENTICATED, 'API key not valid. Please pass a valid API key.');
    this.connections += 1;
    const drop = this.dropNext;
    this.dropNext = undefined;
    const session = new EngineSession(drop?.after, () => {
      this.drops += 1;
      fail(grpc.status.UNAVAILABLE, 'the stand-in dropped the stream');
      if (drop?.stopServer) void this.stop();
    }, this.hears());
    call.on('close', () => session.free());
    call.on('error', () => session.free());
    let config: StreamingRequest['streamingConfig'];
    let finals = 0;
    const answer = (events: SpeechEvent[]): void => {
      const punctuate = config?.config?.features?.enableAutomaticPunctuation ?? false;
      const voiceEvents = config?.streamingFeatures?.enableVoiceActivityEvents ?? false;
      for (const event of events) {
        if (event.type === 'start_of_speech' && voiceEvents) {
          call.write({ speechEventType: 'SPEECH_ACTIVITY_BEGIN', speechEventOffset: duration(event.time) });
        } else if (event.type === 'interim' && config?.streamingFeatures?.interimResults) {
          call.write({ results: [{ alternatives: [{ transcript: `${finals > 0 ? ' ' : ''}${event.text}` }], isFinal: false, stability: 0.5, resultEndOffset: duration(event.time) }] });
        } else if (event.type === 'final') {
          const written = punctuate ? writtenSentence(event.text) : event.text;
          const tokens = written.split(' ');
          const words = event.words.map((w: RecognizedWord, i: number) => ({ startOffset: duration(w.start), endOffset: duration(w.end), word: tokens.length === event.words.length ? tokens[i] : w.word, confidence: 0.9 }));
          call.write({ results: [{ alternatives: [{ transcript: `${finals > 0 ? ' ' : ''}${written}`, confidence: 0.9, words }], isFinal: true, resultEndOffset: duration(event.time), languageCode: 'en-us' }] });
          finals += 1;
          if (voiceEvents) call.write({ speechEventType: 'SPEECH_ACTIVITY_END', speechEventOffset: duration(event.time) });
        }
      }
    };
    call.on('data', (request: StreamingRequest) => {
      if (!config) {
        const wanted = request.streamingConfig?.config;
        const decoding = wanted?.explicitDecodingConfig;
        if (!/^projects\/[^/]+\/locations\/[^/]+\/recognizers\/[^/]+$/.test(request.recognizer ?? '')) return fail(grpc.status.INVALID_ARGUMENT, `Invalid resource field value in the request: recognizer "${request.recognizer}".`);
        if (!wanted || decoding?.encoding !== 'LINEAR16' || decoding.sampleRateHertz !== 16_000 || decoding.audioChannelCount !== 1) return fail(grpc.status.INVALID_ARGUMENT, 'The first request must carry a streaming config: LINEAR16, 16000 Hz, 1 channel in this stand-in.');
        if (!['long', 'short', 'telephony', 'chirp_2', 'chirp_3'].includes(wanted.model ?? '')) return fail(grpc.status.INVALID_ARGUMENT, `The model "${wanted.model}" does not exist in the location named "global".`);
        this.configs.push(request);
        config = request.streamingConfig;
        return;
      }
      if (!request.audio) return fail(grpc.status.INVALID_ARGUMENT, 'Only audio may follow the config.');
      if (session.samples / 16_000 >= this.maxStreamSeconds) {
        this.cutAtLimit += 1;
        return fail(grpc.status.OUT_OF_RANGE, `Exceeded maximum allowed stream duration of ${this.maxStreamSeconds} seconds.`);
      }
      const events = session.audio(Buffer.from(request.audio));
      if (events) answer(events);
    });
    call.on('end', () => {
      answer(session.finish());
      call.end();
    });
  }
}
