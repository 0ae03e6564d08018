import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { SeenInWindow, type SeenSignatures } from './webhook.js';

/** What is stored of a signature: its hash (the signature itself is an HMAC of a body, no secret, but no need to keep it). */
export function signatureKey(signature: string): string {
  return createHash('sha256').update(signature).digest('hex').slice(0, 32);
}

/**
 * Webhook signatures accepted within the window, in the state dir (webhooks-seen.txt), so a signed event replayed
 * after a restart is refused as it was before. Read once at start (what is older than the window is dropped then),
 * appended on each accepted webhook; a file that cannot be written is logged and memory decides.
 */
export class FileSeenSignatures implements SeenSignatures {
  private readonly seen: SeenInWindow;
  private linesWritten = 0;

  constructor(
    private readonly path: string,
    private readonly log: Logger,
    now: () => number = Date.now,
  ) {
    this.seen = new SeenInWindow(now);
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ path, err: errorMessage(err) }, 'webhook replay record unreadable: replays from before the restart are refused only by their timestamp');
    }
    for (const line of text.split('\n')) {
      const [key, at] = line.split(' ');
      if (key && /^[0-9a-f]{32}$/.test(key) && Number.isFinite(Number(at))) this.seen.add(key, Number(at));
    }
    this.rewrite();
  }

  /** The file holds only what is within the window (at start, and when appends have doubled it). */
  private rewrite(): void {
    try {
      const kept = this.seen.entries();
      mkdirSync(dirname(this.path), { recursive: true });
      writeFileSync(this.path, kept.map(([key, at]) => `${key} ${at}\n`).join(''));
      this.linesWritten = kept.length;
    } catch (err) {
      this.log.warn({ path: this.path, err: errorMessage(err) }, 'webhook replay record not writable');
    }
  }

  async firstTime(signature: string, sentAt: number): Promise<boolean> {
    const key = signatureKey(signature);
    if (!this.seen.add(key, sentAt)) return false;
    if (this.linesWritten > this.seen.size * 2 + 1_000) return this.rewrite(), true;
    try {
      appendFileSync(this.path, `${key} ${sentAt}\n`);
      this.linesWritten += 1;
    } catch (err) {
      this.log.warn({ path: this.path, err: errorMessage(err) }, 'webhook replay record not written');
    }
    return true;
  }
}

/** The state dir's record, then (in a fleet) etcd's: a signature is new only if neither has seen it. */
export function seenEverywhere(...stores: SeenSignatures[]): SeenSignatures {
  return {
    async firstTime(signature, sentAt) {
      let answer: boolean | undefined;
      for (const store of stores) {
        const said = await store.firstTime(signature, sentAt);
        if (said === false) return false;
        answer ??= said;
      }
      return answer;
    },
  };
}
