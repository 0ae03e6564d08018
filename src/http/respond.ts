import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A path segment, or undefined when its %-encoding is malformed (decodeURIComponent would throw). */
export function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Text put into one of the bridge's pages (a meeting id from the URL): never markup. */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function json(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' }).end(text);
}

/**
 * A request body of at most `maxBytes`, or undefined when it is larger (refused from Content-Length before
 * reading a byte when the client says so), so a peer cannot make the server buffer what it likes.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  if (Number(req.headers['content-length'] ?? 0) > maxBytes) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** What the bridge's own pages may do: this origin's scripts, styles and connections; no inline script, no framing. */
export function pageSecurityHeaders(connectSrc: string): Record<string, string> {
  return {
    'content-security-policy': `default-src 'none'; script-src 'self'; style-src 'self'; connect-src ${connectSrc}; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-cache',
  };
}

/**
 * The files of one page folder under public/, read once. A Map, not an object literal: a name from the URL such
 * as `constructor` must not find Object.prototype.
 */
export class PageAssets {
  private readonly cache = new Map<string, string>();

  constructor(
    private readonly dir: string,
    private readonly types: ReadonlyMap<string, string>,
  ) {}

  /** The file's text and content type, or undefined for a name that is not one of the page's files. */
  get(name: string): { text: string; type: string } | undefined {
    const type = this.types.get(name);
    if (!type) return undefined;
    let text = this.cache.get(name);
    if (text === undefined) {
      text = readFileSync(this.dir + name, 'utf8');
      this.cache.set(name, text);
    }
    return { text, type };
  }
}
