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
