import { z } from 'zod';
import { language, milliseconds, type OptionProblem } from '../util/schema.js';
import { findSherpaModelFiles } from './sherpa-onnx/model-files.js';
import { transcriptLanguageId, TRANSCRIPT_LANGUAGE_TAGS } from '../zoom-api/rtms-protocol.js';

const ZOOM_TRANSCRIPT_LANGUAGE_LIST = TRANSCRIPT_LANGUAGE_TAGS.join(', ');

/** Engines this build can run. */
export const ENGINES = ['pocketsphinx', 'vosk-server', 'deepgram', 'assemblyai', 'sherpa-onnx', 'openai-realtime', 'whisperlive', 'speechmatics', 'aws-transcribe', 'google-speech', 'zoom-transcript'] as const;
/** Engines that tell speakers apart when asked (`diarize`). */
const DIARIZING_ENGINES = ['deepgram', 'speechmatics', 'aws-transcribe', 'whisperlive'];
/** Engines reached over HTTP (an SDK), whose `url` is an http(s) endpoint rather than a WebSocket. */
const HTTP_ENGINES = new Set(['aws-transcribe', 'google-speech']);
/** Cloud engines take an API key; the config names the environment variable that holds it. */
const API_KEY_VARIABLES: Record<string, string> = { deepgram: 'DEEPGRAM_API_KEY', assemblyai: 'ASSEMBLYAI_API_KEY', speechmatics: 'SPEECHMATICS_API_KEY' };

/** Engine names are short lower-case words; API keys are long and mixed. */
const looksLikeName = (value: unknown): boolean => typeof value === 'string' && /^[a-z][a-z0-9-]{0,23}$/.test(value);

const engineFields = {
  engine: z
    .string()
    .refine((engine) => (ENGINES as readonly string[]).includes(engine), {
      // Only a value shaped like an engine name is echoed: a key pasted into the wrong field must not be printed.
      error: (issue) => `unknown engine${looksLikeName(issue.input) ? ` "${String(issue.input)}"` : ' (the value is not shown: it is not shaped like an engine name)'}; available: ${ENGINES.join(', ')}`,
    })
    .default('pocketsphinx'),
  language: language.default('en-US'),
  /** pocketsphinx: defaults to Debian's model; sherpa-onnx: the unpacked model folder (required). */
  modelDir: z.string().optional(),
  endpointSilenceMs: milliseconds(100, 5_000).default(500),
  partialIntervalMs: milliseconds(20, 2_000).default(100),
  maxUtteranceMs: milliseconds(2_000, 120_000).default(20_000),
  /** vosk-server, whisperlive: ws:// or wss:// address of the server (required); cloud engines: another endpoint (a proxy, a region). */
  url: z.string().regex(/^(wss?|https?):\/\//, 'expected a ws://, wss://, http:// or https:// URL').optional(),
  /** Cloud engines: write it as ${DEEPGRAM_API_KEY} or ${ASSEMBLYAI_API_KEY}, never the key itself. */
  // Empty (an unset ${VAR:-}) is no key: an engine that needs one says so, and the embedded engine needs none.
  apiKey: z.string().optional().transform((key) => key || undefined),
  /**
   * The engine's model: deepgram nova-3 by default, assemblyai universal-streaming-english, whisperlive small,
   * speechmatics enhanced (its operating point: standard or enhanced), google-speech long.
   */
  model: z.string().min(1).optional(),
  /**
   * pocketsphinx search settings: fast (default: caption WER within a point of balanced on our corpus for less
   * than half the CPU) or balanced (pocketsphinx's own settings).
   */
  profile: z.enum(['balanced', 'fast']).default('fast'),
  /** deepgram, speechmatics, aws-transcribe, whisperlive: tell speakers apart; a new speaker starts a new block (marked with display.speakerMarker). */
  diarize: z.boolean().default(false),
  /**
   * openai-realtime: how the session is configured, `session.update` of type transcription (OpenAI's current API)
   * or `transcription_session.update` (the older form self-hosted servers still speak).
   */
  realtimeSession: z.enum(['session', 'transcription_session']).default('session'),
  /** aws-transcribe: the AWS region (default: the SDK's own, AWS_REGION or the profile's). */
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region like us-east-1').optional(),
  /** aws-transcribe: a custom vocabulary made in AWS beforehand (its streaming API takes vocabulary only by name). */
  vocabularyName: z.string().min(1).optional(),
  /** google-speech: the Google Cloud project (required). */
  project: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'expected a Google Cloud project id like my-project-123').optional(),
  /** google-speech: global (default) or a region such as us-central1 or eu, whose endpoint is used. */
  location: z.string().regex(/^[a-z0-9-]+$/, 'expected a location like global, us-central1 or eu').default('global'),
  /** zoom-transcript: Zoom may identify another language than `language` as people switch (its default). */
  identifyLanguage: z.boolean().default(true),
};
const engineNeeds = (asr: { engine: string; url?: string; apiKey?: string; modelDir?: string; project?: string; diarize?: boolean; language?: string }, ctx: z.RefinementCtx): void => {
  if (asr.diarize && !DIARIZING_ENGINES.includes(asr.engine)) {
    ctx.addIssue({ code: 'custom', path: ['diarize'], message: `engine ${asr.engine} does not tell speakers apart; diarize works with ${DIARIZING_ENGINES.join(', ')}` });
  }
  if (asr.url && HTTP_ENGINES.has(asr.engine) !== /^https?:/.test(asr.url)) {
    ctx.addIssue({ code: 'custom', path: ['url'], message: HTTP_ENGINES.has(asr.engine) ? `engine ${asr.engine} takes an https:// endpoint` : 'expected a ws:// or wss:// URL' });
  }
  if (asr.engine === 'vosk-server' && !asr.url) ctx.addIssue({ code: 'custom', path: ['url'], message: 'engine vosk-server needs asr.url (ws://host:2700)' });
  if (asr.engine === 'whisperlive' && !asr.url) ctx.addIssue({ code: 'custom', path: ['url'], message: 'engine whisperlive needs asr.url, the server (ws://gpu-box:9090)' });
  const keyVariable = API_KEY_VARIABLES[asr.engine];
  if (keyVariable && !asr.apiKey) ctx.addIssue({ code: 'custom', path: ['apiKey'], message: `engine ${asr.engine} needs an API key: apiKey: \${${keyVariable}}` });
  // OpenAI's own service needs a key; a self-hosted server of the same protocol (url) may not.
  if (asr.engine === 'openai-realtime' && !asr.url && !asr.apiKey) ctx.addIssue({ code: 'custom', path: ['apiKey'], message: 'engine openai-realtime needs an API key: apiKey: ${OPENAI_API_KEY} (or url, for a self-hosted server)' });
  if (asr.engine === 'google-speech' && !asr.project) ctx.addIssue({ code: 'custom', path: ['project'], message: 'engine google-speech needs asr.project, the Google Cloud project id' });
  // The embedded model is US English: any other language would be heard as English words, silently.
  if (asr.engine === 'pocketsphinx' && !asr.modelDir && asr.language && !/^en(-|$)/i.test(asr.language)) {
    ctx.addIssue({
      code: 'custom',
      path: ['language'],
      message: `the embedded engine's model is US English only: ${asr.language} speech would be captioned as English-sounding words. Use an engine that has ${asr.language} (deepgram, assemblyai, speechmatics, google-speech, aws-transcribe, openai-realtime, whisperlive), or a pocketsphinx model of that language (modelDir)`,
    });
  }
  if (asr.engine === 'zoom-transcript' && asr.language && transcriptLanguageId(asr.language) === undefined) {
    ctx.addIssue({ code: 'custom', path: ['language'], message: `Zoom's transcript has no ${asr.language}; it has ${ZOOM_TRANSCRIPT_LANGUAGE_LIST}` });
  }
  if (asr.engine === 'sherpa-onnx' && !asr.modelDir) ctx.addIssue({ code: 'custom', path: ['modelDir'], message: 'engine sherpa-onnx needs asr.modelDir, the folder of a streaming model' });
};
const engine = z.strictObject(engineFields).superRefine(engineNeeds);
/**
 * Meeting vocabulary: a name or product word, or { text, pronunciation } to add a word pocketsphinx does not know
 * (CMU phones, e.g. "K UW B ER N EH T IY Z").
 */
const phrase = z.union([
  z.string().min(1).transform((text) => ({ text })),
  z
    .strictObject({ text: z.string().min(1), pronunciation: z.string().regex(/^[A-Z]{1,3}[0-2]?( [A-Z]{1,3}[0-2]?)*$/, 'expected CMU phones like "K AE T"').optional() })
    .refine((p) => !p.pronunciation || !/\s/.test(p.text.trim()), { message: 'a pronunciation is for a single word', path: ['text'] }),
]);
/** The preferred engine, and engines that take over, in order, when it fails (e.g. a GPU server, then the embedded one). */
export const asrOptions = z
  .strictObject({
    ...engineFields,
    phrases: z.array(phrase).max(100).default([]),
    /**
     * The meeting's own words as vocabulary (Zoom meetings): its topic and agenda from the Zoom API, its participants'
     * names as RTMS announces them. Names are personal data, sent to the engine: off unless a meeting opts in.
     */
    meetingWords: z.boolean().default(false),
    fallback: z.array(engine).default([]),
  })
  .superRefine(engineNeeds);

export type EngineConfig = z.output<typeof engine>;
export type AsrConfig = z.output<typeof asrOptions>;

/** The engine (first or a fallback) that reads Zoom's own transcript, when one does: the source must then carry it. */
export function zoomTranscriptEngine(asr: AsrConfig): EngineConfig | undefined {
  return [asr, ...asr.fallback].find((engine) => engine.engine === 'zoom-transcript');
}

/**
 * What the parser cannot know: whether an engine's files are there. Run by `--check` and at start (and reload),
 * so a wrong folder is reported before a meeting begins, but parsing a config never touches the disk.
 */
export function asrFileProblems(asr: AsrConfig): OptionProblem[] {
  return [asr, ...asr.fallback].flatMap((engine, index) => {
    if (engine.engine !== 'sherpa-onnx' || !engine.modelDir) return [];
    const found = findSherpaModelFiles(engine.modelDir);
    if (typeof found !== 'string') return [];
    return [{ path: index === 0 ? ['modelDir'] : ['fallback', index - 1, 'modelDir'], message: found }];
  });
}
