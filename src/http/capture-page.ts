import type { ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { escapeHtml, PageAssets, pageSecurityHeaders } from './respond.js';

/** public/ sits two levels above this file both in src/http and in dist/http. */
const ASSETS = new PageAssets(
  fileURLToPath(new URL('../../public/capture/', import.meta.url)),
  new Map([
    ['index.html', 'text/html'],
    ['app.js', 'text/javascript'],
    ['worklet.js', 'text/javascript'],
    ['capture.css', 'text/css'],
  ]),
);
export const CAPTURE_PATH = /^\/capture\/([^/]+)$/;

/** Only this origin's scripts and sockets (the microphone needs a secure context: https, or localhost). */
const SECURITY_HEADERS = pageSecurityHeaders("'self' ws: wss:");

/**
 * GET /capture/<meetingId>: a page that streams a microphone to that meeting's WebSocket ingest once the operator
 * enters its token; GET /capture/app.js, worklet.js, capture.css: its parts. Answers false for other names.
 */
export function serveCapture(name: string, res: ServerResponse, isWebSocketMeeting: (id: string) => boolean): boolean {
  const file = name === 'index.html' ? undefined : ASSETS.get(name);
  if (file) {
    res.writeHead(200, { 'content-type': `${file.type}; charset=utf-8`, ...SECURITY_HEADERS }).end(file.text);
    return true;
  }
  if (!isWebSocketMeeting(name)) return false;
  const page = ASSETS.get('index.html')!.text.replaceAll('{{MEETING}}', escapeHtml(name));
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...SECURITY_HEADERS }).end(page);
  return true;
}
