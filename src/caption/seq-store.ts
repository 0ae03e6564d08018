import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BridgeError } from '../errors.js';

interface SeqRecord {
  lastSeq: number;
  destination: string;
  updatedAt: string;
}

/**
 * The last seq used per caption URL, one small JSON file per destination in the state dir. The sender writes
 * a seq here *before* posting it, so a crash at any point can never lead to the same seq with another body.
 */
export class SeqStore {
  constructor(private readonly dir: string) {}

  private file(stateKey: string): string {
    return join(this.dir, `seq-${stateKey}.json`);
  }

  async read(stateKey: string): Promise<number | undefined> {
    let text: string;
    try {
      text = await readFile(this.file(stateKey), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const record = JSON.parse(text) as Partial<SeqRecord>;
    return Number.isSafeInteger(record.lastSeq) ? record.lastSeq : undefined;
  }

  /** Atomic: readers see the old file or the new one, never a torn write. */
  async write(stateKey: string, lastSeq: number, destination: string): Promise<void> {
    const record: SeqRecord = { lastSeq, destination, updatedAt: new Date().toISOString() };
    const target = this.file(stateKey);
    const temp = `${target}.${process.pid}.tmp`;
    try {
      await mkdir(this.dir, { recursive: true });
      await writeFile(temp, JSON.stringify(record));
      await rename(temp, target);
    } catch (err) {
      throw new BridgeError('STATE_WRITE_FAILED', `could not persist seq in ${this.dir}: ${(err as Error).message}`, {
        retryable: true,
        cause: err,
      });
    }
  }
}
