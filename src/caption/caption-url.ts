import { createHash } from 'node:crypto';
import { BridgeError } from '../errors.js';
import { redactUrl } from '../redact.js';
import { isLoopback } from '../security/tokens.js';

/** Query parameters the sender owns; every other parameter of the caption URL is kept exactly as given. */
const SENDER_PARAMS = ['seq', 'lang'];

export interface CaptionUrl {
  /** Printable form with the signature removed. */
  readonly redacted: string;
  /** Stable file-name-safe key for this destination's state (derived from the whole URL, never reversible). */
  readonly stateKey: string;
  postUrl(seq: number, lang: string): string;
  seqUrl(): string;
}

/**
 * `stateKey` names the destination for seq persistence; by default it is derived from the URL. A URL fetched from
 * the Zoom API is renewed with a new signature for the same meeting, so it passes a key derived from the meeting.
 */
export function parseCaptionUrl(raw: string, stateKey?: string): CaptionUrl {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new BridgeError('CAPTION_URL_INVALID', `caption URL is not a valid URL: ${redactUrl(raw)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new BridgeError('CAPTION_URL_INVALID', `caption URL must be https, got ${url.protocol}`);
  }
  // Zoom's Caption URLs are https; plain http would send the signature in the clear. A local stand-in may use it.
  if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
    throw new BridgeError('CAPTION_URL_INVALID', `caption URL must be https (Zoom's are); http is allowed only for a local test server, not ${url.hostname}`);
  }
  if (url.username || url.password) {
    throw new BridgeError('CAPTION_URL_INVALID', 'caption URL must not carry user credentials');
  }
  const missing = missingZoomParts(url);
  if (missing) throw new BridgeError('CAPTION_URL_INVALID', missing);
  const base = new URL(url.toString());
  for (const name of SENDER_PARAMS) base.searchParams.delete(name);
  const key = stateKey ?? hashKey(base.toString());

  return {
    redacted: redactUrl(base),
    stateKey: key,
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
