import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { FeedCaption, FeedHistory } from './caption-feed.js';

/** One caption as stored: checked on the way in, so a torn or edited line is skipped, never shown. */
export const feedCaptionRecord = z.object({
  seq: z.number().int().positive(),
  text: z.string().max(2_000),
  start: z.number(),
  end: z.number(),
  speaker: z.string().max(200).optional(),
  at: z.number(),
  corrects: z.number().int().positive().optional(),
});

/** The captions of `lines` (JSON, one a line) that parse, in order of seq, at most the newest `keep`. */
export function readFeedLines(lines: readonly string[], keep: number): FeedCaption[] {
  const captions: FeedCaption[] = [];
  for (const line of lines) {
    if (!line.trim()) continue;
    try {
      const parsed = feedCaptionRecord.safeParse(JSON.parse(line));
      if (parsed.success) captions.push(parsed.data);
    } catch {
      // A line torn by a crash mid-write: the ones around it still count.
    }
  }
  captions.sort((a, b) => a.seq - b.seq);
  return captions.slice(-keep);
}

/**
 * A meeting's feed history in the state dir (feeds/<meeting>.jsonl), appended caption by caption, so a restart or a
 * reload goes on with the numbering and the scroll-back. Trimmed to what the feed keeps when it is loaded.
 */
export class FileFeedHistory implements FeedHistory {
  private readonly path: string;
  private writing: Promise<void> = Promise.resolve();
  private folder: Promise<unknown> | undefined;

  constructor(
    stateDir: string,
    meetingId: string,
    private readonly log: Logger,
  ) {
    this.path = join(stateDir, 'feeds', `${meetingId}.jsonl`);
  }

  async load(keep: number): Promise<FeedCaption[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn({ path: this.path, err: errorMessage(err) }, 'caption page history unreadable: its numbering starts again');
      return [];
    }
    const lines = text.split('\n');
    const kept = readFeedLines(lines, keep);
    // Rewritten only when it has grown well past what is kept: the common start reads it and goes on appending.
    if (lines.length > kept.length * 2 + 100) {
      const temp = `${this.path}.${process.pid}.tmp`;
      await writeFile(temp, kept.map((c) => `${JSON.stringify(c)}\n`).join(''))
        .then(() => rename(temp, this.path))
        .catch((err: unknown) => this.log.warn({ path: this.path, err: errorMessage(err) }, 'caption page history could not be trimmed'));
    }
    return kept;
  }

  append(caption: FeedCaption): Promise<void> {
    // The folder is made once, before the first caption, not at every one (tried again after a failure).
    this.folder ??= mkdir(dirname(this.path), { recursive: true }).catch((err: unknown) => {
      this.folder = undefined;
      throw err;
    });
    const folder = this.folder;
    this.writing = this.writing
      .then(() => folder)
      .then(() => appendFile(this.path, `${JSON.stringify(caption)}\n`))
      .catch((err: unknown) => this.log.warn({ path: this.path, err: errorMessage(err) }, 'caption page history not written: a restart would lose this caption from the page'));
    return this.writing;
  }

  close(): Promise<void> {
    return this.writing;
  }
}
