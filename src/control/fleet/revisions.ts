/**
 * Which etcd revision what this process knows of each key is as of: the whole state as of the last full read, and
 * single keys changed since. A change at or below that is old news and must be ignored: a watch that reconnects
 * replays what it missed, after a full read may already have shown the outcome, and a replayed deletion of an
 * owner key must not stop a meeting this process has claimed since.
 */
export class KnownRevisions {
  private readUpTo = 0n;
  private readonly keys = new Map<string, bigint>();

  /** Whether a change to `key` at `revision` is newer than what is known; if so, it is what is known now. */
  isNews(key: string, revision: string | bigint): boolean {
    const at = BigInt(revision);
    if (at <= this.readUpTo || at <= (this.keys.get(key) ?? 0n)) return false;
    this.keys.set(key, at);
    return true;
  }

  /** Whether a key a full read at `readAt` did not return is gone: not if it was written after the read. */
  goneAsOf(key: string, readAt: bigint): boolean {
    return (this.keys.get(key) ?? 0n) <= readAt;
  }

  /** A full read at `readAt` was applied: every change up to it is known, so single keys need no entry for it. */
  read(readAt: bigint): void {
    if (readAt > this.readUpTo) this.readUpTo = readAt;
    for (const [key, at] of [...this.keys]) if (at <= this.readUpTo) this.keys.delete(key);
  }
}
