import { createHash } from 'node:crypto';
import { BridgeError } from '../errors.js';
import { redactUrl } from '../redact.js';
import { isLoopback } from '../security/tokens.js';

/** Query parameters the sender owns; every other parameter of the caption URL is kept exactly as given. */
const SENDER_PARAMS = ['seq', 'lang'];

/** The services that take captions by HTTP POST, each with its own URL, body and rules. */
export type CaptionService = 'Zoom' | 'Teams' | 'YouTube';

/**
 * Where one destination's captions are POSTed, and how: the sender's rules (one POST in flight, in order, retries
 * within a budget) are the same for every service; what differs is here.
 */
export interface CaptionUrl {
  readonly service: CaptionService;
  /** Printable form with the signature removed. */
  readonly redacted: string;
  /** Stable file-name-safe key for this destination's state (derived from the whole URL, never reversible). */
  readonly stateKey: string;
  /**
   * Whether the service orders POSTs by seq (Zoom, YouTube): a POST keeps its seq until it is settled, retries
   * carry the same one. Without it (Teams) a POST whose captions were given up is simply dropped.
   */
  readonly ordersBySeq: boolean;
  readonly contentType: string;
  postUrl(seq: number, lang: string): string;
  /** Where the service says the last seq it took (Zoom's GET .../seq); undefined where it cannot say. */
  seqUrl(): string | undefined;
  /** One POST's body for captions whose first word was said at `at` (epoch ms). */
  body(texts: readonly string[], at: number): string;
  /** What the service means by an HTTP status, in words a user can act on ('' when it says nothing more). */
  statusMeans(status: number): string;
}

/** What Zoom's caption API means by a status (its REST API document), for whoever reads the log or `post`'s output. */
const ZOOM_STATUS_MEANS: Record<number, string> = {
  400: ' (Zoom: the meeting has not started, or has ended)',
  403: ' (Zoom refuses this Caption URL: it has expired, belongs to another meeting, or was cut off while copying; get a new one from the meeting)',
  405: ' (Zoom: not a POST; a proxy on the way may have changed the request)',
};

/**
 * `stateKey` names the destination for seq persistence; by default it is derived from the URL. A URL fetched from
 * the Zoom API is renewed with a new signature for the same meeting, so it passes a key derived from the meeting.
 */
export function parseCaptionUrl(raw: string, stateKey?: string): CaptionUrl {
  const url = postableUrl(raw, 'caption URL', "Zoom's are");
  const missing = missingZoomParts(url);
  if (missing) throw new BridgeError('CAPTION_URL_INVALID', missing);
  const base = new URL(url.toString());
  for (const name of SENDER_PARAMS) base.searchParams.delete(name);
  const key = stateKey ?? hashKey(base.toString());

  return {
    service: 'Zoom',
    redacted: redactUrl(base),
    stateKey: key,
    ordersBySeq: true,
    contentType: 'text/plain; charset=utf-8',
    body: (texts) => texts.join('\n'),
    statusMeans: (status) => ZOOM_STATUS_MEANS[status] ?? '',
    postUrl(seq, lang) {
      const post = new URL(base.toString());
      post.searchParams.set('seq', String(seq));
      post.searchParams.set('lang', lang);
      return post.toString();
    },
    seqUrl() {
      const seqUrl = new URL(base.toString());
      seqUrl.pathname = `${seqUrl.pathname.replace(/\/$/, '')}/seq`;
      return seqUrl.toString();
    },
  };
}

/**
 * A URL captions may be POSTed to: https (it carries the destination's credential; plain http would send it in the
 * clear), or http for a local test server only; no user credentials in it.
 */
function postableUrl(raw: string, what: string, whose: string): URL {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new BridgeError('CAPTION_URL_INVALID', `${what} is not a valid URL: ${redactUrl(raw)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new BridgeError('CAPTION_URL_INVALID', `${what} must be https, got ${url.protocol}`);
  }
  if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
    throw new BridgeError('CAPTION_URL_INVALID', `${what} must be https (${whose}); http is allowed only for a local test server, not ${url.hostname}`);
  }
  if (url.username || url.password) {
    throw new BridgeError('CAPTION_URL_INVALID', `${what} must not carry user credentials`);
  }
  return url;
}

/** `raw` with http:// made https:// on the hosts `secure` names (one that lists http URLs but takes https); else as given. */
function overHttps(raw: string, secure: RegExp): string {
  let given: URL;
  try {
    given = new URL(raw.trim());
  } catch {
    return raw; // postableUrl says what is wrong with it
  }
  if (given.protocol !== 'http:' || !secure.test(given.hostname)) return raw;
  given.protocol = 'https:';
  return given.toString();
}

/** What Teams means by a status (Microsoft's "Send real-time captions API", meeting-apps-apis.md). */
const TEAMS_STATUS_MEANS: Record<number, string> = {
  400: ' (Teams: a required part of the CART link is missing: copy the whole link again)',
  401: ' (Teams: the CART link is wrong or expired: in the meeting options, generate a new one and put it in the config)',
  404: ' (Teams: the meeting has not started, or nobody has turned on live captions in it yet)',
};

/**
 * A Microsoft Teams CART link (the meeting organiser's "Provide CART captions" in the meeting options): POSTed as
 * copied, "you don't need to modify the CART URL", with `meetingid` and `token`; each POST is a new line of captions,
 * plain UTF-8 text, best 80-120 characters (Microsoft's meeting apps API reference). Teams has no seq: it shows
 * lines in the order they arrive. Teams shows CART captions only to readers whose captions language is the CART
 * language: `lang` (the link's own, else the destination's) says which.
 */
export function parseTeamsCartUrl(raw: string): CaptionUrl {
  const url = postableUrl(raw, 'CART link', "Microsoft's are");
  const missing = ['meetingid', 'token'].filter((name) => !url.searchParams.get(name));
  if (missing.length > 0) {
    throw new BridgeError('CAPTION_URL_INVALID', `CART link has no ${missing.map((name) => `\`${name}\``).join(', ')}: copy the whole link from the meeting options (Provide CART captions, Copy link)`);
  }
  return {
    service: 'Teams',
    redacted: redactUrl(url),
    stateKey: hashKey(url.toString()),
    ordersBySeq: false,
    contentType: 'text/plain; charset=utf-8',
    // Each POST is one line on Teams: a block's lines go as one line of text.
    body: (texts) => texts.join(' ').replace(/\s*\n\s*/g, ' '),
    statusMeans: (status) => TEAMS_STATUS_MEANS[status] ?? '',
    postUrl(_seq, lang) {
      if (url.searchParams.get('lang')) return url.toString();
      const post = new URL(url.toString());
      post.searchParams.set('lang', lang.toLowerCase());
      return post.toString();
    },
    seqUrl: () => undefined,
  };
}

/** YouTube's times: UTC, to the millisecond, without a zone ("2012-12-24T00:00:06.873"). */
export function youTubeTime(at: number): string {
  return new Date(at).toISOString().replace(/Z$/, '');
}

/**
 * A YouTube Live caption ingestion URL (YouTube Studio, the stream's settings: closed captions over HTTP POST).
 * "Closed Captions over HTTP for YouTube Live Streams" (support.google.com/youtube/answer/6077032): a `seq` counter
 * on every POST, up by one for new caption data and unchanged on retries; the body one or more `<UTC time>` lines
 * each followed by its text, a line break inside a caption written `<br>`. YouTube lists `http://` ingestion URLs:
 * they are sent over https (the `cid` in them is the stream's credential).
 */
export function parseYouTubeCaptionUrl(raw: string): CaptionUrl {
  const url = postableUrl(overHttps(raw, /(^|\.)youtube\.com$/i), 'YouTube caption URL', "YouTube's take https");
  if (!url.searchParams.get('cid') && !url.searchParams.get('id')) {
    throw new BridgeError('CAPTION_URL_INVALID', 'YouTube caption URL has no `cid`: copy the whole caption ingestion URL from the stream settings in YouTube Studio');
  }
  url.searchParams.delete('seq');
  return {
    service: 'YouTube',
    redacted: redactUrl(url),
    stateKey: hashKey(url.toString()),
    ordersBySeq: true,
    contentType: 'text/plain',
    body: (texts, at) => texts.map((text) => `${youTubeTime(at)}\n${text.replace(/\n/g, '<br>')}\n`).join(''),
    statusMeans: (status) => (status === 403 || status === 401 ? ' (YouTube refuses this caption URL: copy it again from YouTube Studio; it changes with the stream key)' : ''),
    postUrl(seq) {
      const post = new URL(url.toString());
      post.searchParams.set('seq', String(seq));
      return post.toString();
    },
    seqUrl: () => undefined,
  };
}

/** The signed parts every Caption URL from Zoom carries (the API token Zoom's Closed Caption menu copies). */
const ZOOM_URL_PARTS = ['id', 'ns', 'expire', 'sparams', 'signature'];

/**
 * Why a Caption URL on Zoom's own hosts cannot work, or undefined: one cut off while copying lacks its last parts
 * (the signature first), and Zoom would refuse every caption with 403. Said before the meeting, not found there.
 */
function missingZoomParts(url: URL): string | undefined {
  if (!/(^|\.)(zoom\.us|zoomgov\.com)$/i.test(url.hostname)) return undefined;
  const missing = ZOOM_URL_PARTS.filter((name) => !url.searchParams.get(name));
  const signed = (url.searchParams.get('sparams') ?? '').split(',').filter((name) => name && !url.searchParams.get(name));
  const gone = [...new Set([...missing, ...signed])];
  if (gone.length === 0) return undefined;
  return `caption URL has no ${gone.map((name) => `\`${name}\``).join(', ')}: it looks cut off. Copy the whole Caption URL again from the meeting (Captions: use a 3rd-party CC service, Copy the API token); its last part is the signature`;
}

/** Short, file-name-safe and irreversible: the state dir must not hold a usable caption URL. */
export function hashKey(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 24);
}

/**
 * When the URL stops working, from its `expire` parameter: an epoch time in seconds, or (as in Zoom's examples,
 * expire=86400) a lifetime in seconds from when it was issued. Undefined when the URL does not say.
 */
export function captionUrlExpiry(raw: string, issuedAt: number): number | undefined {
  const expire = Number(new URL(raw).searchParams.get('expire'));
  if (!Number.isFinite(expire) || expire <= 0) return undefined;
  return expire > 1e9 ? expire * 1000 : issuedAt + expire * 1000;
}
