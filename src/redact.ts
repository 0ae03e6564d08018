/**
 * A Zoom caption URL is a bearer credential: anyone holding it can post into the meeting. These helpers make
 * sure it only ever leaves the process in a form that identifies the destination without authorising it.
 */

// cid: a YouTube caption ingestion URL's stream credential.
const SECRET_QUERY_PARAMS = ['signature', 'token', 'access_token', 'key', 'ns', 'cid'];
const SECRET_PARAM_PATTERN = new RegExp(`([?&](?:${SECRET_QUERY_PARAMS.join('|')})=)[^&\\s"']*`, 'gi');

export const REDACTED = '[REDACTED]';

/** Replace the value of every secret-bearing query parameter inside free text (error messages, answers). */
export function redactSecrets(text: string): string {
  return text.replace(SECRET_PARAM_PATTERN, `$1${REDACTED}`);
}

/** A caption URL safe to print: scheme, host, path and the non-secret parameters (id, subconfid, expire). */
export function redactUrl(url: string | URL): string {
  try {
    const parsed = new URL(url.toString());
    // A proxy's URL may carry its user's password.
    if (parsed.password) parsed.password = 'REDACTED';
    for (const name of [...parsed.searchParams.keys()]) {
      if (SECRET_QUERY_PARAMS.includes(name.toLowerCase())) parsed.searchParams.set(name, 'REDACTED');
    }
    return parsed.toString();
  } catch {
    return REDACTED;
  }
}

/**
 * An RTMP URL safe to print: its stream key (the last path segment, the publisher's password) and any password in
 * it are replaced; the host and application stay, so the source is still recognisable.
 */
export function redactStreamUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = 'REDACTED';
    const segments = parsed.pathname.split('/');
    if (segments.length > 2 && segments.at(-1)) segments[segments.length - 1] = 'REDACTED';
    parsed.pathname = segments.join('/');
    return redactUrl(parsed);
  } catch {
    return REDACTED;
  }
}

/** The secret parts of an RTMP URL (stream key, password), to scrub from text that may quote the URL. */
export function streamUrlSecrets(url: string): string[] {
  try {
    const parsed = new URL(url);
    const key = parsed.pathname.split('/').slice(2).at(-1);
    // However short: a short key is a weak one, but still the publisher's password.
    return [key, parsed.password].filter((secret): secret is string => secret !== undefined && secret.length > 0);
  } catch {
    return [];
  }
}

/** pino `redact` paths: every place a config, error or log call may carry a caption URL or token. */
export const LOG_REDACT_PATHS = [
  'url',
  'captionUrl',
  'token',
  'authorization',
  'password',
  '*.password',
  '*.url',
  '*.captionUrl',
  '*.token',
  '*.authorization',
  'apiKey',
  '*.apiKey',
  'req.headers.authorization',
  'config.meetings[*].source.token',
  'config.meetings[*].captions[*].zoom.url',
  'config.meetings[*].asr.apiKey',
  'config.meetings[*].asr.fallback[*].apiKey',
];
