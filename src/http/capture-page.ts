import { readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';

/** public/ sits two levels above this file both in src/http and in dist/http. */
const PUBLIC_DIR = fileURLToPath(new URL('../../public/capture/', import.meta.url));
// A Map, not an object literal: a name from the URL such as `constructor` must not find Object.prototype.
const ASSETS = new Map([
  ['app.js', 'text/javascript'],
  ['worklet.js', 'text/javascript'],
  ['capture.css', 'text/css'],
]);
export const CAPTURE_PATH = /^\/capture\/([^/]+)$/;

/**
 * Only this origin's scripts and sockets; no inline script, no framing (the page holds a token field).
 * The microphone itself needs a secure context: https, or localhost.
 */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

const cache = new Map<string, string>();
function asset(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(PUBLIC_DIR + name, 'utf8');
    cache.set(name, text);
  }
  return text;
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * GET /capture/<meetingId>: a page that streams a microphone to that meeting's WebSocket ingest once the operator
 * enters its token; GET /capture/app.js, worklet.js, capture.css: its parts. Answers false for other names.
 */
export function serveCapture(name: string, res: ServerResponse, isWebSocketMeeting: (id: string) => boolean): boolean {
  const type = ASSETS.get(name);
  if (type) {
    res.writeHead(200, { 'content-type': `${type}; charset=utf-8`, ...SECURITY_HEADERS }).end(asset(name));
    return true;
  }
  if (!isWebSocketMeeting(name)) return false;
  const page = asset('index.html').replaceAll('{{MEETING}}', escapeHtml(name));
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...SECURITY_HEADERS }).end(page);
  return true;
}
