import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { refuseOthers, type OnlyFrom } from './only-from.js';

/** What the next POST gets instead of a normal answer. */
export type ZoomFault =
  | { kind: 'ok' } // answer normally: lets a test place faults between successes
  | { kind: 'status'; status: number; body?: string }
  | { kind: 'hang' } // never answer: the client must time out
  | { kind: 'reset-before' } // drop the connection without processing
  | { kind: 'accept-then-reset' }; // process the caption, then drop the connection before answering

export interface ReceivedCaption {
  seq: number;
  lang: string;
  body: string;
  receivedAt: number;
}

export interface Violation {
  kind: 'seq-reused-with-other-body' | 'seq-went-back' | 'bad-content-type' | 'missing-param' | 'bad-seq' | 'wrong-param';
  detail: string;
}

const CAPTION_PATH = '/closedcaption';

/**
 * A strict stand-in for Zoom's caption endpoint. It enforces the rules from Zoom's REST API document and
 * records every breach instead of failing silently, so tests can assert "no violations" and see why not.
 */
export class FakeZoom implements OnlyFrom {
  readonly accepted: ReceivedCaption[] = [];
  readonly violations: Violation[] = [];
  readonly requests: { method: string; seq?: number; fault?: string; at: number }[] = [];
  readonly faults: ZoomFault[] = [];
  /** Gaps in the accepted seq sequence (legitimate only where the client gave up on a caption). */
  readonly gaps: { after: number; next: number }[] = [];
  serveSeq = true;
  /**
   * Zoom unreachable for every request, GET seq included: 'reset' drops each connection, 'hang' never answers.
   * `acceptDuring` lets POSTs reach Zoom during the outage while their answers are still lost.
   */
  outage: { kind: 'reset' | 'hang'; acceptDuring?: boolean } | undefined;
  private lastSeq = 0;
  private server: Server | undefined;
  /** Only connections from this address are taken (a proxy's outbound address): the others are dropped at once. */
  onlyFrom: string | undefined;
  /** Connections dropped for coming from elsewhere (see onlyFrom). */
  refusedDirect = 0;
  private readonly sockets = new Set<Socket>();
  readonly query = { id: '200610693', ns: 'GZHkEA==', expire: '86400', sparams: 'id,ns,expire', signature: 'nYtXJqRKCWsecret' };
  private readonly listeners = new Set<() => void>();
  /** Signatures Zoom would accept: a renewed Caption URL carries a new one while the old one still works. */
  readonly acceptedSignatures = new Set<string>([this.query.signature]);

  constructor(private readonly extraQuery: Record<string, string> = {}) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res));
    refuseOthers(this.server, this);
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this.captionUrl();
  }

  captionUrl(overrides: Record<string, string> = {}): string {
    const { port } = this.server!.address() as AddressInfo;
    const params = new URLSearchParams({ ...this.query, ...this.extraQuery, ...overrides });
    return `http://127.0.0.1:${port}${CAPTION_PATH}?${params.toString()}`;
  }

  /** Pretend Zoom already accepted captions up to `seq` (as after an earlier run). */
  setLastSeq(seq: number): void {
    this.lastSeq = seq;
  }

  get lastAcceptedSeq(): number {
    return this.lastSeq;
  }

  /** Everything accepted, as one text (line breaks within a caption read as spaces). */
  text(): string {
    return this.accepted.map((c) => c.body.replace(/\n/g, ' ')).join(' ');
  }

  /** Resolves once `count` captions have been accepted. */
  async waitForCaptions(count: number, timeoutMs = 30_000): Promise<void> {
    if (this.accepted.length >= count) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        reject(new Error(`only ${this.accepted.length} of ${count} captions within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = (): void => {
        if (this.accepted.length >= count) {
          clearTimeout(timer);
          this.listeners.delete(check);
          resolve();
        }
      };
      this.listeners.add(check);
    });
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const body = await readBody(req);
    if (this.outage) {
      this.requests.push({ method: req.method ?? '?', seq: Number(url.searchParams.get('seq')), fault: `outage-${this.outage.kind}`, at: Date.now() });
      if (this.outage.acceptDuring && req.method === 'POST') this.record(url, body);
      if (this.outage.kind === 'reset') req.socket.destroy();
      return;
    }
    if (req.method === 'GET' && url.pathname === `${CAPTION_PATH}/seq`) {
      this.requests.push({ method: 'GET', at: Date.now() });
      if (!this.serveSeq) return void res.writeHead(404).end('not found');
      if (!this.checkParams(url)) return void res.writeHead(401).end('unauthorized');
      return void res.writeHead(200, { 'content-type': 'text/plain' }).end(String(this.lastSeq));
    }
    if (url.pathname !== CAPTION_PATH) return void res.writeHead(404).end('not found');
    if (req.method !== 'POST') return void res.writeHead(405).end('Method not allowed');

    const seqText = url.searchParams.get('seq');
    const seq = Number(seqText);
    const fault = this.faults.shift();
    this.requests.push({ method: 'POST', seq, fault: fault?.kind, at: Date.now() });

    if (fault?.kind === 'hang') return; // the client's timeout must fire; the socket is destroyed at stop()
    if (fault?.kind === 'reset-before') return void req.socket.destroy();
    if (fault?.kind === 'status') return void res.writeHead(fault.status).end(fault.body ?? 'injected failure');

    if (!this.checkParams(url)) return void res.writeHead(401).end('Unauthorized. missing parameter');
    if (seqText === null || !Number.isSafeInteger(seq) || seq < 0) {
      this.violations.push({ kind: 'bad-seq', detail: String(seqText) });
      return void res.writeHead(401).end('Unauthorized. bad seq');
    }
    const lang = url.searchParams.get('lang');
    if (!lang) {
      this.violations.push({ kind: 'missing-param', detail: 'lang' });
      return void res.writeHead(400).end('missing lang');
    }
    const contentType = req.headers['content-type'] ?? '';
    if (!/^text\/plain(\s*;\s*charset=utf-8)?$/i.test(contentType)) {
      this.violations.push({ kind: 'bad-content-type', detail: contentType });
      return void res.writeHead(400).end('content type must be text/plain');
    }

    this.record(url, body);
    // A retry of an accepted caption is answered like the first time: the client may not have heard it.
    if (fault?.kind === 'accept-then-reset') return void req.socket.destroy();
    res.writeHead(200, { 'content-type': 'text/plain' }).end(new Date().toISOString().replace('Z', ''));
  }

  /** Zoom's bookkeeping for a well-formed POST: a new seq is a caption, a repeated one must repeat its body. */
  private record(url: URL, body: string): void {
    const seq = Number(url.searchParams.get('seq'));
    const previous = this.accepted.find((c) => c.seq === seq);
    if (previous && previous.body !== body) {
      this.violations.push({ kind: 'seq-reused-with-other-body', detail: `seq ${seq}: ${JSON.stringify(previous.body)} then ${JSON.stringify(body)}` });
    } else if (!previous && seq <= this.lastSeq) {
      this.violations.push({ kind: 'seq-went-back', detail: `seq ${seq} after ${this.lastSeq}` });
    } else if (!previous) {
      if (seq !== this.lastSeq + 1) this.gaps.push({ after: this.lastSeq, next: seq });
      this.lastSeq = seq;
      this.accepted.push({ seq, lang: url.searchParams.get('lang') ?? '', body, receivedAt: Date.now() });
      for (const listener of this.listeners) listener();
    }
  }

  private checkParams(url: URL): boolean {
    const expected = { ...this.query, ...this.extraQuery };
    for (const [name, value] of Object.entries(expected)) {
      // A renewed Caption URL differs in signature and expire; acceptedSignatures says which are valid.
      if (name === 'expire') continue;
      if (name === 'signature' ? !this.acceptedSignatures.has(url.searchParams.get(name) ?? '') : url.searchParams.get(name) !== value) {
        this.violations.push({ kind: 'wrong-param', detail: `${name}=${url.searchParams.get(name)}` });
        return false;
      }
    }
    return true;
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
