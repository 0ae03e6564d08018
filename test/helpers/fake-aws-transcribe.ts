import { randomUUID } from 'node:crypto';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import type { RecognizedWord, SpeechEvent } from '../../src/asr/types.js';
import { capitalized, EngineSession, PocketsphinxHearing, type EngineStandIn, type Hearing } from './fake-engine-server.js';

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString('utf8'),
  (text) => Buffer.from(text, 'utf8'),
);
const header = (value: string): { type: 'string'; value: string } => ({ type: 'string', value });

/**
 * Amazon Transcribe streaming (`StartStreamTranscription`) over HTTP/2, as AWS's SDK
 * (@aws-sdk/client-transcribe-streaming 3.1141, its models and the Smithy event stream codec) speaks it:
 * `POST /stream-transcription` with the options in `x-amzn-transcribe-*` headers and a SigV4 `Authorization`
 * whose access key id is checked (403 `UnrecognizedClientException` otherwise); the body an event stream of signed
 * frames (`:date`, `:chunk-signature`) each holding an `AudioEvent` message, an empty frame ending the audio;
 * the answer `application/vnd.amazon.eventstream` of `TranscriptEvent` messages, JSON `{Transcript: {Results}}`,
 * a result per utterance (`ResultId`, `IsPartial`, `Alternatives[0].Items`: pronunciation items with times,
 * `Stable` when stabilisation was asked, and a full stop as a punctuation item; `Speaker` with speaker labels);
 * 400 `BadRequestException` for a language it does not have or a vocabulary that does not exist.
 * Its `Stable` flags are a heuristic (a word unchanged in three partials in a row and ended a second ago): the
 * recogniser behind it revises words at the utterance's end, which AWS's stable words never are.
 */
export class FakeAwsTranscribe implements EngineStandIn {
  connections = 0;
  drops = 0;
  readonly requests: http2.IncomingHttpHeaders[] = [];
  /** Audio frames received after the end of the audio (must be none). */
  framesAfterEnd = 0;
  /** Frames of nothing but silence (a client keeping a quiet request alive: AWS ends one idle for 15 s). */
  silentFrames = 0;
  private server: http2.Http2Server | undefined;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private port = 0;
  /** What hears each stream's audio (see FakeEngineServer.hears). */
  hears: () => Hearing = () => new PocketsphinxHearing();
  private dropNext: { after: number; stopServer: boolean } | undefined;

  constructor(
    readonly accessKeyId = 'AKIDSTANDIN',
    readonly vocabularies: readonly string[] = ['meeting-terms'],
  ) {}

  dropNextConnectionAfter(audioMessages: number, options: { stopServer?: boolean } = {}): void {
    this.dropNext = { after: audioMessages, stopServer: options.stopServer ?? false };
  }

  async start(): Promise<string> {
    const server = (this.server = http2.createServer());
    server.on('session', (session) => {
      this.sessions.add(session);
      session.on('close', () => this.sessions.delete(session));
    });
    server.on('stream', (stream, headers) => this.serve(stream, headers));
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    for (const session of this.sessions) session.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  private refuse(stream: http2.ServerHttp2Stream, status: number, type: string, message: string): void {
    stream.respond({ ':status': status, 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.coral.service/`, 'x-amzn-requestid': randomUUID() });
    stream.end(JSON.stringify({ message }));
  }

  private serve(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    if (headers[':method'] !== 'POST' || headers[':path'] !== '/stream-transcription') return this.refuse(stream, 404, 'UnknownOperationException', 'unknown operation');
    const credential = /Credential=([^/]+)\/\d{8}\/([^/]+)\/transcribe\/aws4_request/.exec(String(headers.authorization ?? ''));
    if (!credential || credential[1] !== this.accessKeyId) return this.refuse(stream, 403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
    this.requests.push(headers);
    const language = String(headers['x-amzn-transcribe-language-code']);
    if (!['en-US', 'en-GB', 'en-AU'].includes(language)) return this.refuse(stream, 400, 'BadRequestException', `The language code ${language} is not supported.`);
    const vocabulary = headers['x-amzn-transcribe-vocabulary-name'];
    if (vocabulary && !this.vocabularies.includes(String(vocabulary))) return this.refuse(stream, 400, 'BadRequestException', "The requested vocabulary couldn't be found. Check the vocabulary name and try your request again.");
    if (headers['x-amzn-transcribe-media-encoding'] !== 'pcm' || headers['x-amzn-transcribe-sample-rate'] !== '16000') return this.refuse(stream, 400, 'BadRequestException', 'this stand-in takes pcm at 16000 Hz');
    this.connections += 1;
    const drop = this.dropNext;
    this.dropNext = undefined;
    const session = new EngineSession(drop?.after, () => {
      this.drops += 1;
      stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      if (drop?.stopServer) void this.stop();
    }, this.hears());
    stream.on('close', () => session.free());
    stream.respond({
      ':status': 200,
      'content-type': 'application/vnd.amazon.eventstream',
      'x-amzn-request-id': randomUUID(),
      'x-amzn-transcribe-session-id': randomUUID(),
      'x-amzn-transcribe-language-code': language,
      'x-amzn-transcribe-sample-rate': '16000',
      'x-amzn-transcribe-media-encoding': 'pcm',
    });
    const stabilize = headers['x-amzn-transcribe-enable-partial-results-stabilization'] === 'true';
    const speakers = headers['x-amzn-transcribe-show-speaker-label'] === 'true';
    let resultId = randomUUID();
    /** How many partials in a row each word of the utterance has kept its place and spelling. */
    let kept: { word: string; times: number }[] = [];
    const result = (words: RecognizedWord[], partial: boolean): Record<string, unknown> => {
      const now = session.samples / 16_000;
      if (partial) kept = words.map((w, i) => ({ word: w.word, times: kept[i]?.word === w.word ? kept[i]!.times + 1 : 1 }));
      const items: Record<string, unknown>[] = words.map((w, i) => ({
        StartTime: w.start,
        EndTime: w.end,
        Type: 'pronunciation',
        Content: i === 0 ? capitalized(w.word) : w.word,
        VocabularyFilterMatch: false,
        Confidence: 0.9,
        ...(speakers ? { Speaker: '0' } : {}),
        ...(stabilize ? { Stable: !partial || (kept[i]!.times >= 3 && w.end < now - 1) } : {}),
      }));
      if (!partial && words.length > 0) items.push({ StartTime: words.at(-1)!.end, EndTime: words.at(-1)!.end, Type: 'punctuation', Content: '.', VocabularyFilterMatch: false, ...(stabilize ? { Stable: true } : {}) });
      const transcript = items.map((item) => item.Content).join(' ').replace(/ \./g, '.');
      return { ResultId: resultId, StartTime: words[0]?.start ?? now, EndTime: words.at(-1)?.end ?? now, IsPartial: partial, Alternatives: [{ Transcript: transcript, Items: items }], ChannelId: 'ch_0' };
    };
    const answer = (events: SpeechEvent[]): void => {
      for (const event of events) {
        let results: Record<string, unknown>[] = [];
        if (event.type === 'interim' && event.words?.length) results = [result(event.words, true)];
        else if (event.type === 'final') {
          results = [result(event.words, false)];
          resultId = randomUUID();
          kept = [];
        } else continue;
        const body = Buffer.from(JSON.stringify({ Transcript: { Results: results } }));
        stream.write(codec.encode({ headers: { ':message-type': header('event'), ':event-type': header('TranscriptEvent'), ':content-type': header('application/json') }, body }));
      }
    };
    let pending = Buffer.alloc(0);
    let audioEnded = false;
    stream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      // Each event stream message starts with its total length.
      while (pending.length >= 4 && pending.length >= pending.readUInt32BE(0)) {
        const frame = codec.decode(pending.subarray(0, pending.readUInt32BE(0)));
        pending = pending.subarray(pending.readUInt32BE(0));
        if (audioEnded) {
          this.framesAfterEnd += 1;
          continue;
        }
        if (frame.body.length === 0) {
          audioEnded = true;
          answer(session.finish());
          stream.end();
          continue;
        }
        const inner = codec.decode(frame.body);
        if (inner.headers[':event-type']?.value !== 'AudioEvent') continue;
        if (inner.body.every((byte) => byte === 0)) this.silentFrames += 1;
        const events = session.audio(Buffer.from(inner.body));
        if (!events) return;
        answer(events);
      }
    });
    stream.on('error', () => undefined);
  }
}
