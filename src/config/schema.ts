import { z } from 'zod';
import { DEFAULT_ARCHIVE_RETENTION, type ArchiveRetention } from '../caption/archive.js';
import { parseCaptionUrl } from '../caption/caption-url.js';
import { findSherpaModelFiles } from '../asr/sherpa-onnx/model-files.js';
import { isLoopback, weakSecret } from '../security/tokens.js';
import { DEFAULT_DISPLAY_OPTIONS } from '../display/types.js';
import { DEFAULT_SEGMENTER_OPTIONS } from '../segmenter/segmenter.js';
import { DEFAULT_TEXT_OPTIONS } from '../segmenter/text-rules.js';

/** Engines this build can run. */
export const ENGINES = ['pocketsphinx', 'vosk-server', 'deepgram', 'assemblyai', 'sherpa-onnx'] as const;
/** Cloud engines take an API key; the config names the environment variable that holds it. */
const API_KEY_VARIABLES: Record<string, string> = { deepgram: 'DEEPGRAM_API_KEY', assemblyai: 'ASSEMBLYAI_API_KEY' };

const port = z.coerce.number().int().min(0).max(65_535);
const milliseconds = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const language = z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'expected a language tag like en-US');

const websocketSource = z.strictObject({
  type: z.literal('websocket'),
  token: z.string().min(1, 'an ingest token is required (clients send it as a bearer token)'),
  /** A publisher that sends nothing (no audio, no KeepAlive) this long is closed; a muted mixer still sends silence. */
  idleTimeoutMs: milliseconds(1_000, 600_000).default(30_000),
});
/** Published to rtmp://HOST:PORT/live/<streamKey> (the top-level rtmp listener); the key is the publisher's secret. */
const rtmpSource = z.strictObject({
  type: z.literal('rtmp'),
  streamKey: z.string().regex(/^[A-Za-z0-9_-]{8,128}$/, 'a stream key is 8-128 letters, digits, - or _ (it is the publisher\'s password: make it long and random)'),
});
/** Played from another server, reconnecting with backoff. */
const rtmpPullSource = z.strictObject({ type: z.literal('rtmp-pull'), url: z.string().regex(/^rtmps?:\/\/\S+$/, 'expected an rtmp:// or rtmps:// URL') });

const engineFields = {
  engine: z
    .string()
    .refine((engine) => (ENGINES as readonly string[]).includes(engine), {
      error: (issue) => `unknown engine "${String(issue.input)}"; available: ${ENGINES.join(', ')}`,
    })
    .default('pocketsphinx'),
  language: language.default('en-US'),
  /** pocketsphinx: defaults to Debian's model; sherpa-onnx: the unpacked model folder (required). */
  modelDir: z.string().optional(),
  endpointSilenceMs: milliseconds(100, 5_000).default(500),
  partialIntervalMs: milliseconds(20, 2_000).default(100),
  maxUtteranceMs: milliseconds(2_000, 120_000).default(20_000),
  /** vosk-server: ws:// or wss:// address of the recognizer (required); cloud engines: another endpoint (a proxy, a region). */
  url: z.string().regex(/^wss?:\/\//, 'expected a ws:// or wss:// URL').optional(),
  /** Cloud engines: write it as ${DEEPGRAM_API_KEY} or ${ASSEMBLYAI_API_KEY}, never the key itself. */
  apiKey: z.string().min(1, 'the API key is empty').optional(),
  /** Cloud engines' model: deepgram nova-3 by default, assemblyai universal-streaming-english. */
  model: z.string().min(1).optional(),
  /** deepgram: tell speakers apart; a new speaker starts a new block (marked with display.speakerMarker). */
  diarize: z.boolean().default(false),
};
const engineNeeds = (asr: { engine: string; url?: string; apiKey?: string; modelDir?: string }, ctx: z.RefinementCtx): void => {
  if (asr.engine === 'vosk-server' && !asr.url) ctx.addIssue({ code: 'custom', path: ['url'], message: 'engine vosk-server needs asr.url (ws://host:2700)' });
  const keyVariable = API_KEY_VARIABLES[asr.engine];
  if (keyVariable && !asr.apiKey) ctx.addIssue({ code: 'custom', path: ['apiKey'], message: `engine ${asr.engine} needs an API key: apiKey: \${${keyVariable}}` });
  if (asr.engine === 'sherpa-onnx') {
    if (!asr.modelDir) ctx.addIssue({ code: 'custom', path: ['modelDir'], message: 'engine sherpa-onnx needs asr.modelDir, the folder of a streaming model' });
    else {
      const found = findSherpaModelFiles(asr.modelDir);
      if (typeof found === 'string') ctx.addIssue({ code: 'custom', path: ['modelDir'], message: found });
    }
  }
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
const asr = z
  .strictObject({ ...engineFields, phrases: z.array(phrase).max(100).default([]), fallback: z.array(engine).default([]) })
  .superRefine(engineNeeds);

const zoomDestination = z
  .strictObject({
    /** The Caption URL itself, or the meeting/webinar whose Caption URL the bridge fetches from the Zoom API. */
    url: z.string().optional(),
    meetingId: z.coerce.string().regex(/^\d{9,12}$/, 'a Zoom meeting id is 9 to 12 digits').optional(),
    webinarId: z.coerce.string().regex(/^\d{9,12}$/, 'a Zoom webinar id is 9 to 12 digits').optional(),
    lang: language.optional(),
    /** blocks: complete one- or two-line blocks paced for reading; rollup: two rolling lines (each line reaches Zoom's transcript twice). */
    display: z.enum(['blocks', 'rollup']).default('blocks'),
    /** An empty url turns this destination off instead of failing: for the quick start's ${ZOOM_CAPTION_URL:-}. */
    optional: z.boolean().default(false),
    requestTimeoutMs: milliseconds(100, 30_000).default(2_500),
    giveUpAfterMs: milliseconds(500, 60_000).default(5_000),
  })
  .superRefine((zoom, ctx) => {
    const given = (['url', 'meetingId', 'webinarId'] as const).filter((key) => zoom[key] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({ code: 'custom', message: `zoom needs exactly one of url, meetingId, webinarId (got ${given.join(', ') || 'none'})` });
      return;
    }
    if (zoom.url === undefined || (zoom.url === '' && zoom.optional)) return;
    try {
      parseCaptionUrl(zoom.url);
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: (err as Error).message });
    }
  });
const fileDestination = z.strictObject({
  path: z.string().regex(/\.(vtt|srt|txt)$/, 'transcript file must end in .vtt, .srt or .txt'),
});

/** One key per entry (zoom, file or stdout); an object rather than a union so errors name the exact field. */
const captionDestination = z
  .strictObject({ zoom: zoomDestination.optional(), file: fileDestination.optional(), stdout: z.strictObject({}).optional() })
  .superRefine((entry, ctx) => {
    const kinds = Object.keys(entry).filter((key) => entry[key as keyof typeof entry] !== undefined);
    if (kinds.length !== 1) ctx.addIssue({ code: 'custom', message: `each caption destination needs exactly one of zoom, file, stdout (got ${kinds.join(', ') || 'none'})` });
  });

const segmenter = z.strictObject({
  stableMs: milliseconds(0, 5_000).default(DEFAULT_SEGMENTER_OPTIONS.stableMs),
  holdBackWords: z.coerce.number().int().min(0).max(5).default(DEFAULT_SEGMENTER_OPTIONS.holdBackWords),
  /** Before the display stage these lived here; still read (display's own keys win), so older files keep working. */
  maxLineChars: z.coerce.number().int().min(10).max(80).optional(),
  maxLines: z.coerce.number().int().min(1).max(4).optional(),
  minIntervalMs: milliseconds(0, 10_000).optional(),
});

/** How captions are laid out and paced on screen; the mode is chosen per destination. */
const display = z.strictObject({
  maxLineChars: z.coerce.number().int().min(10).max(80).optional(),
  maxLines: z.coerce.number().int().min(1).max(4).optional(),
  maxHoldMs: milliseconds(0, 10_000).default(DEFAULT_DISPLAY_OPTIONS.maxHoldMs),
  minShowMs: milliseconds(0, 10_000).default(DEFAULT_DISPLAY_OPTIONS.minShowMs),
  maxCharsPerSecond: z.coerce.number().min(5).max(60).default(DEFAULT_DISPLAY_OPTIONS.maxCharsPerSecond),
  maxLagMs: milliseconds(0, 30_000).default(DEFAULT_DISPLAY_OPTIONS.maxLagMs),
  rollupIntervalMs: milliseconds(0, 10_000).optional(),
  speakerMarker: z.string().max(8).default(DEFAULT_DISPLAY_OPTIONS.speakerMarker),
});

const text = z.strictObject({
  fillers: z.enum(['drop', 'keep']).default(DEFAULT_TEXT_OPTIONS.fillers),
  fillerWords: z.array(z.string().min(1)).default(DEFAULT_TEXT_OPTIONS.fillerWords),
  numbers: z.enum(['digits', 'words']).default(DEFAULT_TEXT_OPTIONS.numbers),
  profanity: z.enum(['keep', 'mask']).default(DEFAULT_TEXT_OPTIONS.profanity),
  replacements: z.record(z.string().min(1), z.string().min(1)).default({}),
});

const meeting = z.strictObject({
    id: z.string().regex(/^[a-z0-9-]+$/, 'meeting id must be lower-case letters, digits and dashes (it appears in URLs)'),
    source: z.discriminatedUnion('type', [websocketSource, rtmpSource, rtmpPullSource]),
    asr: asr.default(asr.parse({})),
    segmenter: segmenter.default(segmenter.parse({})),
    display: display.default(display.parse({})),
    text: text.default(text.parse({})),
    /** WebVTT and SRT of everything captioned, in the state dir, one pair per meeting per run, trimmed at start. */
    archive: z
      .union([
        z.boolean(),
        z.strictObject({
          keepDays: z.number().positive().default(DEFAULT_ARCHIVE_RETENTION.keepDays),
          maxMegabytes: z.number().positive().default(DEFAULT_ARCHIVE_RETENTION.maxMegabytes),
        }),
      ])
      .default(true)
      .transform((given): ArchiveRetention | false => (given === true ? DEFAULT_ARCHIVE_RETENTION : given)),
    captions: z.array(captionDestination).min(1, 'at least one caption destination'),
  })
  .transform(({ segmenter: { stableMs, holdBackWords, ...legacy }, display: given, ...rest }) => ({
    ...rest,
    segmenter: { stableMs, holdBackWords },
    display: {
      ...given,
      maxLineChars: given.maxLineChars ?? legacy.maxLineChars ?? DEFAULT_DISPLAY_OPTIONS.maxLineChars,
      maxLines: given.maxLines ?? legacy.maxLines ?? DEFAULT_DISPLAY_OPTIONS.maxLines,
      rollupIntervalMs: given.rollupIntervalMs ?? legacy.minIntervalMs ?? DEFAULT_DISPLAY_OPTIONS.rollupIntervalMs,
    },
  }));

export const configSchema = z
  .strictObject({
    log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).default({ level: 'info' }),
    http: z
      .strictObject({
        host: z.string().default('0.0.0.0'),
        port: port.default(8080),
        /** Bearer token for /meetings and /metrics; an empty value (unset ${VAR:-}) leaves it off. */
        adminToken: z.string().optional().transform((token) => token || undefined),
        /** Web origins (https://mixer.example) whose pages may stream into ingest; the bridge's own pages always may. */
        allowedOrigins: z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'expected an origin like https://host or http://host:port')).default([]),
      })
      .default({ host: '0.0.0.0', port: 8080, adminToken: undefined, allowedOrigins: [] }),
    rtmp: z.strictObject({ host: z.string().default('0.0.0.0'), port: port.default(1935) }).optional(),
    state: z.strictObject({ dir: z.string().default('./state') }).default({ dir: './state' }),
    /** A Zoom Server-to-Server OAuth app: fetches Caption URLs for meetingId/webinarId and takes webhooks. */
    zoomApi: z
      .strictObject({
        accountId: z.string(),
        clientId: z.string(),
        clientSecret: z.string(),
        /** The app's webhook Secret Token; without it POST /zoom/webhook is off. */
        webhookSecret: z.string().optional(),
        /**
         * Only for an app of a Zoom master account captioning a sub-account's meetings: the sub-account's id. Every
         * call then uses the master-account edition (/accounts/{id}/..., :master scopes). Ordinary accounts omit it.
         */
        subAccountId: z.string().min(1, 'subAccountId is empty: omit it for an ordinary account').optional(),
        apiBase: z.string().url().default('https://api.zoom.us/v2'),
        oauthBase: z.string().url().default('https://zoom.us'),
      })
      .optional(),
    meetings: z.array(meeting).min(1, 'at least one meeting'),
  })
  .superRefine((config, ctx) => {
    // Credentials are checked at start, where a missing one is a clear config error, not a failure mid-meeting.
    config.meetings.forEach((m, index) =>
      m.captions.forEach((destination, c) => {
        const key = destination.zoom?.meetingId !== undefined ? 'meetingId' : destination.zoom?.webinarId !== undefined ? 'webinarId' : undefined;
        if (!key) return;
        for (const field of ['accountId', 'clientId', 'clientSecret'] as const) {
          if (!config.zoomApi?.[field]) {
            ctx.addIssue({
              code: 'custom',
              path: config.zoomApi ? ['zoomApi', field] : ['meetings', index, 'captions', c, 'zoom', key],
              message: config.zoomApi
                ? `zoomApi.${field} is empty (set ZOOM_${field.replace(/[A-Z]/g, (l) => `_${l}`).toUpperCase()}); meetings[${index}] needs it for its ${key}`
                : `${key} needs a zoomApi section with the app's accountId, clientId and clientSecret`,
            });
            if (!config.zoomApi) return;
          }
        }
      }),
    );
    // A port others can reach must not be guarded by an example's placeholder or a short secret.
    const exposed = (host: string): string | undefined => (isLoopback(host) ? undefined : host);
    const weak = (path: (string | number)[], value: string | undefined, host: string | undefined, what: string): void => {
      const why = value === undefined || host === undefined ? undefined : weakSecret(value);
      if (why) {
        ctx.addIssue({
          code: 'custom',
          path,
          message: `${what} is too weak for ${host}, which other machines can reach: ${why}. Use a long random value (openssl rand -hex 24), or listen on 127.0.0.1`,
        });
      }
    };
    weak(['http', 'adminToken'], config.http.adminToken, exposed(config.http.host), 'the admin token');
    config.meetings.forEach((m, index) => {
      if (m.source.type === 'websocket') weak(['meetings', index, 'source', 'token'], m.source.token, exposed(config.http.host), 'the ingest token');
      if (m.source.type === 'rtmp' && config.rtmp) weak(['meetings', index, 'source', 'streamKey'], m.source.streamKey, exposed(config.rtmp.host), 'the stream key');
    });
    const keys = new Map<string, number>();
    config.meetings.forEach((m, index) => {
      if (m.source.type !== 'rtmp') return;
      if (!config.rtmp) ctx.addIssue({ code: 'custom', path: ['meetings', index, 'source', 'type'], message: 'rtmp sources need the RTMP listener: add rtmp: { port: 1935 } at the top level' });
      const first = keys.get(m.source.streamKey);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['meetings', index, 'source', 'streamKey'], message: `the same stream key as meetings[${first}]: each meeting needs its own` });
      keys.set(m.source.streamKey, index);
    });
    const seen = new Map<string, number>();
    config.meetings.forEach((m, index) => {
      const first = seen.get(m.id);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['meetings', index, 'id'], message: `duplicate meeting id "${m.id}" (also meetings[${first}])` });
      }
      seen.set(m.id, index);
    });
  });

export type Config = z.infer<typeof configSchema>;
export type MeetingConfig = Config['meetings'][number];
export type CaptionDestinationConfig = MeetingConfig['captions'][number];
export type SegmenterConfig = MeetingConfig['segmenter'];
export type EngineConfig = z.infer<typeof engine>;
