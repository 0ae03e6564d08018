/**
 * A Zoom caption URL is a bearer credential: anyone holding it can post into the meeting. These helpers make
 * sure it only ever leaves the process in a form that identifies the destination without authorising it.
 */

const SECRET_QUERY_PARAMS = ['signature', 'token', 'access_token', 'key', 'ns'];
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
    for (const name of [...parsed.searchParams.keys()]) {
      if (SECRET_QUERY_PARAMS.includes(name.toLowerCase())) parsed.searchParams.set(name, 'REDACTED');
    }
    return parsed.toString();
  } catch {
    return REDACTED;
  }
}

/** pino `redact` paths: every place a config, error or log call may carry a caption URL or token. */
export const LOG_REDACT_PATHS = [
  'url',
  'captionUrl',
  'token',
  'authorization',
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
