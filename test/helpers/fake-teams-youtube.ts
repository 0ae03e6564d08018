import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the next POST gets instead of a normal answer. */
export type PostFault = { kind: 'status'; status: number } | { kind: 'reset-before' } | { kind: 'accept-then-reset' };

/** The HTTP side both stand-ins share: a loopback server, faults on demand, an outage, every breach recorded. */
abstract class CaptionStandIn {
  readonly violations: string[] = [];
  readonly faults: PostFault[] = [];
  /** The service unreachable: every connection dropped. */
  down = false;
  posts = 0;
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((req, res) => void this.receive(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this.url();
  }

  protected get origin(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  protected abstract url(): string;
  /** The answer to one POST that reached the service; `take` says whether it takes the caption. */
  protected abstract handle(url: URL, contentType: string, body: string): { status: number; body?: string };

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.down) return void req.socket.destroy();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.method !== 'POST') return void res.writeHead(405).end();
    this.posts += 1;
    const fault = this.faults.shift();
    if (fault?.kind === 'reset-before') return void req.socket.destroy();
    if (fault?.kind === 'status') return void res.writeHead(fault.status).end();
    const answer = this.handle(new URL(req.url ?? '/', this.origin), String(req.headers['content-type'] ?? ''), Buffer.concat(chunks).toString('utf8'));
    if (fault?.kind === 'accept-then-reset') return void req.socket.destroy();
    res.writeHead(answer.status, { 'content-type': 'text/plain' }).end(answer.body ?? '');
  }
}

/**
 * Microsoft Teams' CART caption endpoint as its API reference describes it (MicrosoftDocs/msteams-docs,
 * meeting-apps-apis.md, "Send real-time captions API"): POST /cartcaption?meetingid=...&token=... with a plain UTF-8
 * text body, each POST a new line of captions (best 80-120 characters); 401 for a wrong token, 404 until the meeting
 * has started and someone turned captions on, 400 without meetingid. Readers whose captions language differs from
 * the CART language see nothing (as reported by users: Teams shows CART captions only in their language): such
 * lines are taken but counted as unseen.
 */
export class FakeTeamsCart extends CaptionStandIn {
  readonly meetingId = '{"tId":"72f234bf","oId":"e071f268","thId":"19:meeting_NzJi@thread.v2","mId":"0"}';
  readonly token = '04751eac';
  /** Someone in the meeting turned on live captions. */
  captionsOn = true;
  /** The language readers chose for captions. */
  spokenLanguage = 'en-us';
  readonly lines: string[] = [];
  unseen = 0;

  protected url(): string {
    const url = new URL('/cartcaption', this.origin);
    url.searchParams.set('meetingid', this.meetingId);
    url.searchParams.set('token', this.token);
    return url.toString();
  }

  text(): string {
    return this.lines.join(' ');
  }

  protected handle(url: URL, contentType: string, body: string): { status: number; body?: string } {
    if (url.pathname !== '/cartcaption') return { status: 404 };
    if (!url.searchParams.get('meetingid')) return { status: 400, body: 'meetingid is required' };
    if (url.searchParams.get('meetingid') !== this.meetingId || url.searchParams.get('token') !== this.token) return { status: 401 };
    if (!this.captionsOn) return { status: 404 };
    if (!/^text\/plain\b/i.test(contentType)) this.violations.push(`content type ${contentType}`);
    if (/charset=/i.test(contentType) && !/charset=utf-8/i.test(contentType)) this.violations.push(`charset ${contentType}`);
    if (body.trim() === '') this.violations.push('an empty caption');
    if (body.length > 120) this.violations.push(`a line of ${body.length} characters (Microsoft: at most 120)`);
    if (body.includes('\n')) this.violations.push('a line break inside one POST (each POST is a line)');
    if (url.searchParams.has('seq')) this.violations.push('a seq parameter (the CART link is used as it is)');
    if ((url.searchParams.get('lang') ?? '').toLowerCase() !== this.spokenLanguage) this.unseen += 1;
    this.lines.push(body);
    return { status: 200 };
  }
}

/** YouTube's caption times: "2012-12-24T00:00:06.873", UTC without a zone. */
const YOUTUBE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}( region:\S+)?$/;

/**
 * YouTube Live's caption ingestion endpoint as "Closed Captions over HTTP for YouTube Live Streams"
 * (support.google.com/youtube/answer/6077032) describes it: POST /closedcaption?cid=...&seq=N, seq up by one for new
 * caption data and the same (with the same body) for a retry; a body of `<UTC time>` lines each followed by its text,
 * `<br>` for a line break; it answers with its own time. A wrong cid is refused (403).
 */
export class FakeYouTubeCaptions extends CaptionStandIn {
  readonly cid = 'abcd-efgh-ijkl-mnop';
  /** `at`: the caption's own time; `receivedAt`: when it came. */
  readonly captions: { at: number; receivedAt: number; text: string; seq: number }[] = [];
  private lastSeq = 0;
  private lastBody = '';
  private lastTime = 0;

  protected url(): string {
    return `${this.origin}/closedcaption?cid=${this.cid}`;
  }

  text(): string {
    return this.captions.map((c) => c.text).join(' ');
  }

  protected handle(url: URL, contentType: string, body: string): { status: number; body?: string } {
    if (url.pathname !== '/closedcaption') return { status: 404 };
    if (url.searchParams.get('cid') !== this.cid) return { status: 403 };
    const seq = Number(url.searchParams.get('seq'));
    if (!Number.isSafeInteger(seq) || seq < 1) {
      this.violations.push(`seq ${url.searchParams.get('seq')}`);
      return { status: 400 };
    }
    if (!/^text\/plain\b/i.test(contentType)) this.violations.push(`content type ${contentType}`);
    if (seq === this.lastSeq) {
      if (body !== this.lastBody) this.violations.push(`seq ${seq} sent again with another body`);
      return { status: 200, body: new Date().toISOString().replace(/Z$/, '') };
    }
    if (seq !== this.lastSeq + 1) this.violations.push(`seq ${seq} after ${this.lastSeq}`);
    const lines = body.split('\n');
    if (lines.at(-1) !== '') this.violations.push('a body without its final line break');
    lines.pop();
    if (lines.length === 0 || lines.length % 2 !== 0) this.violations.push(`a body of ${lines.length} lines`);
    for (let i = 0; i + 1 < lines.length; i += 2) {
      if (!YOUTUBE_TIME.test(lines[i]!)) this.violations.push(`a time line "${lines[i]}"`);
      const at = Date.parse(`${lines[i]!.split(' ')[0]}Z`);
      if (at < this.lastTime) this.violations.push('a time before the last caption\'s');
      if (Math.abs(at - Date.now()) > 60_000) this.violations.push(`a time ${Math.round((at - Date.now()) / 1000)} s from now`);
      if (at > Date.now() + 1_000) this.violations.push('a caption timed in the future');
      this.lastTime = Math.max(this.lastTime, at);
      if (lines[i + 1]!.includes('\n')) this.violations.push('a raw line break in a caption');
      this.captions.push({ at, receivedAt: Date.now(), text: lines[i + 1]!.replace(/<br>/g, ' '), seq });
    }
    this.lastSeq = seq;
    this.lastBody = body;
    return { status: 200, body: new Date().toISOString().replace(/Z$/, '') };
  }
}
