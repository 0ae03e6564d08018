import { createHash } from 'node:crypto';
import { BridgeError } from '../errors.js';
import { redactUrl } from '../redact.js';

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

export function parseCaptionUrl(raw: string): CaptionUrl {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new BridgeError('CAPTION_URL_INVALID', `caption URL is not a valid URL: ${redactUrl(raw)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new BridgeError('CAPTION_URL_INVALID', `caption URL must be http(s), got ${url.protocol}`);
  }
  if (url.username || url.password) {
    throw new BridgeError('CAPTION_URL_INVALID', 'caption URL must not carry user credentials');
  }
  const base = new URL(url.toString());
  for (const name of SENDER_PARAMS) base.searchParams.delete(name);
  const stateKey = createHash('sha256').update(base.toString()).digest('hex').slice(0, 24);

  return {
    redacted: redactUrl(base),
    stateKey,
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
