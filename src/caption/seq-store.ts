import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { BridgeError } from '../errors.js';
import type { Logger } from '../log.js';

interface SeqRecord {
  lastSeq: number;
  destination: string;
  updatedAt: string;
}

/**
 * The last seq used per caption URL, one small JSON file per destination in the state dir. The sender writes a
 * seq here before posting it; on restart Zoom's GET seq, when it answers, has the last word (see the sender).
 * Nothing here may stop captioning: a file that cannot be read counts as missing, a write that fails is reported
 * to the caller, who posts anyway.
 */
export class SeqStore {
  constructor(
    private readonly dir: string,
    private readonly log?: Logger,
  ) {}

  private file(stateKey: string): string {
    return join(this.dir, `seq-${stateKey}.json`);
  }

  /** The stored seq; undefined when there is none, or when the file is torn, empty or unreadable (with a warning). */
  async read(stateKey: string): Promise<number | undefined> {
    const path = this.file(stateKey);
    try {
      const record = JSON.parse(await readFile(path, 'utf8')) as Partial<SeqRecord> | null;
      if (record && Number.isSafeInteger(record.lastSeq) && record.lastSeq! >= 0) return record.lastSeq;
      this.log?.warn({ path }, 'seq file holds no seq; Zoom GET seq decides where to resume');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      this.log?.warn({ path, err: (err as Error).message }, 'seq file unreadable; Zoom GET seq decides where to resume');
    }
    return undefined;
  }

  /** Durable and atomic: the data is on disk before the rename, and the rename before this resolves. */
  async write(stateKey: string, lastSeq: number, destination: string): Promise<void> {
    const record: SeqRecord = { lastSeq, destination, updatedAt: new Date().toISOString() };
    const target = this.file(stateKey);
    const temp = `${target}.${process.pid}.tmp`;
    try {
      await mkdir(this.dir, { recursive: true });
      const handle = await open(temp, 'w');
      try {
        await handle.writeFile(JSON.stringify(record));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, target);
      const dir = await open(this.dir, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch (err) {
      throw new BridgeError('STATE_WRITE_FAILED', `could not persist seq in ${this.dir}: ${(err as Error).message}`, { cause: err });
    }
  }
}
