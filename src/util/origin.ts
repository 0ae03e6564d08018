/**
 * The origin (scheme, host and port) of an http(s) address that is nothing more than that: no credentials, path,
 * query or fragment. Anything else (another scheme, `http://host/latest/meta-data#`, `http://user@host`) is
 * undefined: an address that is later joined to a path must not be able to steer where that path goes.
 */
export function httpOrigin(text: string): string | undefined {
  if (!URL.canParse(text)) return undefined;
  const url = new URL(text);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username || url.password || url.search || url.hash || text.includes('?') || text.includes('#')) return undefined;
  if (url.pathname !== '/') return undefined;
  return url.origin;
}
