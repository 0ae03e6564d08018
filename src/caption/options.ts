import { z } from 'zod';
import { language, milliseconds } from '../util/schema.js';
import { DEFAULT_ARCHIVE_RETENTION, type ArchiveRetention } from './archive.js';
import { parseCaptionUrl, parseTeamsCartUrl, parseYouTubeCaptionUrl } from './caption-url.js';
import { DEFAULT_GIVE_UP_AFTER_MS, DEFAULT_REQUEST_TIMEOUT_MS } from './zoom-sender.js';
import { zoomTargetFields } from '../zoom-api/target.js';

/** What every destination that POSTs captions to a service takes besides where: Zoom's, Teams', YouTube's. */
const postingFields = {
  /** Zoom: the caption language; Teams: the CART language readers must choose (the link's own lang wins). Default: the meeting's. */
  lang: language.optional(),
  /** blocks: complete one- or two-line blocks paced for reading; rollup: two rolling lines (each line reaches Zoom's transcript twice). */
  display: z.enum(['blocks', 'rollup']).default('blocks'),
  /** An empty url turns this destination off instead of failing: for the quick start's ${ZOOM_CAPTION_URL:-}. */
  optional: z.boolean().default(false),
  requestTimeoutMs: milliseconds(100, 30_000).default(DEFAULT_REQUEST_TIMEOUT_MS),
  giveUpAfterMs: milliseconds(500, 60_000).default(DEFAULT_GIVE_UP_AFTER_MS),
};

/** A URL given in the config checked as its service reads it (an empty one of an optional destination is off). */
function checkPostUrl(destination: { url?: string; optional: boolean }, parse: (raw: string) => unknown, ctx: z.RefinementCtx): void {
  if (destination.url === undefined || (destination.url === '' && destination.optional)) return;
  try {
    parse(destination.url);
  } catch (err) {
    ctx.addIssue({ code: 'custom', path: ['url'], message: (err as Error).message });
  }
}

const zoomDestination = z
  .strictObject({
    /** The Caption URL itself, or the meeting/webinar whose Caption URL the bridge fetches from the Zoom API. */
    url: z.string().optional(),
    ...zoomTargetFields,
    ...postingFields,
  })
  .superRefine((zoom, ctx) => {
    const given = (['url', 'meetingId', 'webinarId'] as const).filter((key) => zoom[key] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({ code: 'custom', message: `zoom needs exactly one of url, meetingId, webinarId (got ${given.join(', ') || 'none'})` });
      return;
    }
    checkPostUrl(zoom, (raw) => parseCaptionUrl(raw), ctx);
  });
/**
 * Another service that takes captions by POST, at a URL a person copies from it: Microsoft Teams' CART link, YouTube
 * Live's caption ingestion URL. Checked when the config loads (the shape of the URL), posted by Zoom's rules.
 */
const postedDestination = (parse: (raw: string) => unknown) =>
  z.strictObject({ url: z.string(), ...postingFields }).superRefine((destination, ctx) => checkPostUrl(destination, parse, ctx));

const fileDestination = z.strictObject({
  path: z.string().regex(/\.(vtt|srt|txt)$/, 'transcript file must end in .vtt, .srt or .txt'),
});

/** Readers a process serves at once by default (http.maxReaders): an idle one costs a socket and a few KiB. */
export const DEFAULT_MAX_READERS = 2_000;

/** The caption page and feed for people and programs reading along (src/caption/caption-feed.ts). */
const pageDestination = z
  .strictObject({
    /** The viewer token readers present (in the page link's #token=, or the feed's ?token= / Bearer). */
    token: z.string().min(16, 'a viewer token needs at least 16 characters (it is all that guards the captions)').optional(),
    /** No token: anyone who can reach the bridge reads along. */
    public: z.boolean().default(false),
    /** Readers at once, at most; one more is refused with a clear message. */
    maxReaders: z.number().int().min(1).max(5_000).default(500),
    /**
     * Readers one address may hold at once (default: a quarter of maxReaders): a room behind one NAT still reads
     * along, one client cannot take every slot. Behind a proxy, list it in http.trustedProxies so readers count apart.
     */
    maxReadersPerAddress: z.number().int().min(1).max(5_000).optional(),
    /** Captions kept for scrolling back and for readers that reconnect. */
    keep: z.number().int().min(10).max(100_000).default(20_000),
  })
  .transform((page) => ({ ...page, maxReadersPerAddress: page.maxReadersPerAddress ?? Math.max(1, Math.ceil(page.maxReaders / 4)) }))
  .superRefine((page, ctx) => {
    if (page.maxReadersPerAddress > page.maxReaders) ctx.addIssue({ code: 'custom', path: ['maxReadersPerAddress'], message: `more than the page's maxReaders (${page.maxReaders})` });
    if ((page.token === undefined) === !page.public) {
      ctx.addIssue({ code: 'custom', message: page.public ? 'a public page takes no token (remove one of them)' : 'a caption page needs a viewer token, or public: true' });
    }
  });

/** One key per entry (zoom, teams, youtube, file, stdout or page); an object rather than a union so errors name the exact field. */
export const captionDestination = z
  .strictObject({
    zoom: zoomDestination.optional(),
    teams: postedDestination(parseTeamsCartUrl).optional(),
    youtube: postedDestination(parseYouTubeCaptionUrl).optional(),
    file: fileDestination.optional(),
    stdout: z.strictObject({}).optional(),
    page: pageDestination.optional(),
  })
  .superRefine((entry, ctx) => {
    const kinds = Object.keys(entry).filter((key) => entry[key as keyof typeof entry] !== undefined);
    if (kinds.length !== 1) ctx.addIssue({ code: 'custom', message: `each caption destination needs exactly one of zoom, teams, youtube, file, stdout, page (got ${kinds.join(', ') || 'none'})` });
  });

/** WebVTT and SRT of everything captioned, in the state dir, one pair per meeting per run, trimmed at start. */
export const archiveOptions = z
  .union([
    z.boolean(),
    z.strictObject({
      keepDays: z.number().positive().default(DEFAULT_ARCHIVE_RETENTION.keepDays),
      maxMegabytes: z.number().positive().default(DEFAULT_ARCHIVE_RETENTION.maxMegabytes),
    }),
  ])
  .default(true)
  .transform((given): ArchiveRetention | false => (given === true ? DEFAULT_ARCHIVE_RETENTION : given));

export type CaptionDestinationConfig = z.output<typeof captionDestination>;
