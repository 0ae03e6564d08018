import type { Duplex } from 'node:stream';
import type { RawData, WebSocket } from 'ws';

/** RFC 6455: a close frame's reason is at most 123 bytes of UTF-8 (125 less the two-byte code). */
const MAX_CLOSE_REASON_BYTES = 123;

/** A close reason that fits the frame, cut on a character boundary (a peer's text may be anything). */
export function closeReason(text: string): string {
  if (Buffer.byteLength(text) <= MAX_CLOSE_REASON_BYTES) return text;
  let cut = '';
  for (const char of text) {
    if (Buffer.byteLength(cut + char) > MAX_CLOSE_REASON_BYTES - 3) break;
    cut += char;
  }
  return `${cut}...`;
}

/**
 * Closes a socket from inside any handler without throwing: `ws.close` throws on a reason too long or a code it does
 * not allow, and a throw there would end the process. A socket that cannot be closed cleanly is cut.
 */
export function closeSocket(ws: WebSocket, code: number, reason = ''): void {
  try {
    ws.close(code, closeReason(reason));
  } catch {
    ws.terminate();
  }
}

/** Sends on an open socket; a socket that closed meanwhile (or a send that fails) is no error of the caller's. */
export function sendIfOpen(ws: WebSocket, data: string | Buffer): void {
  if (ws.readyState !== ws.OPEN) return;
  try {
    ws.send(data, () => undefined);
  } catch {
    ws.terminate();
  }
}

/** A message's bytes, however ws delivered them (one buffer, fragments, or an ArrayBuffer). */
export function bytesOf(data: RawData): Buffer {
  return Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 503: 'Service Unavailable' };

/** Answers an upgrade request with a plain HTTP refusal on the raw socket, then closes it. */
export function refuseUpgrade(socket: Duplex, status: number, reason = ''): void {
  const body = reason ? `${reason}\n` : '';
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
