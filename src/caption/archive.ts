import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';

export interface ArchiveRetention {
  /** Archive files older than this are removed. */
  keepDays: number;
  /** The meeting's archive folder is kept under this size, oldest files removed first. */
  maxMegabytes: number;
}

export const DEFAULT_ARCHIVE_RETENTION: ArchiveRetention = { keepDays: 90, maxMegabytes: 200 };

/**
 * Every run of a meeting adds a WebVTT and SRT pair; a bridge left running for months would fill its volume, and a
 * full state dir costs the seq files too. Trims one meeting's archive folder: first by age, then by size.
 * A folder that cannot be read or trimmed is logged, never a reason not to caption.
 */
export async function pruneArchive(dir: string, retention: ArchiveRetention, log: Logger, now = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  try {
    const names = await readdir(dir).catch(() => []);
    const files = [];
    for (const name of names) {
      const info = await stat(join(dir, name)).catch(() => undefined);
      if (info?.isFile()) files.push({ name, bytes: info.size, modified: info.mtimeMs });
    }
    files.sort((a, b) => a.modified - b.modified);
    const oldestKept = now - retention.keepDays * 86_400_000;
    let total = files.reduce((sum, file) => sum + file.bytes, 0);
    const limit = retention.maxMegabytes * 1024 * 1024;
    for (const file of files) {
      if (file.modified >= oldestKept && total <= limit) break;
      await rm(join(dir, file.name), { force: true });
      total -= file.bytes;
      removed.push(file.name);
    }
    if (removed.length > 0) log.info({ dir, removed: removed.length, keptBytes: total }, 'transcript archive trimmed');
  } catch (err) {
    log.warn({ dir, err: errorMessage(err) }, 'transcript archive could not be trimmed');
  }
  return removed;
}
