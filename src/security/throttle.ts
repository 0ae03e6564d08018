/**
 * Slows down guessing: an address that fails authentication `maxFailures` times within `windowMs` is refused
 * (without a check) until the window has passed. Bounded: at most `maxAddresses` are remembered, oldest first out.
 */
export class FailureThrottle {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly maxFailures = 10,
    private readonly windowMs = 60_000,
    private readonly maxAddresses = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** True while this address must be refused without looking at what it presents. */
  blocked(address: string | undefined): boolean {
    const entry = this.failures.get(address ?? '');
    if (!entry) return false;
    if (this.now() - entry.since >= this.windowMs) {
      this.failures.delete(address ?? '');
      return false;
    }
    return entry.count >= this.maxFailures;
  }

  fail(address: string | undefined): void {
    const key = address ?? '';
    const entry = this.failures.get(key);
    if (entry && this.now() - entry.since < this.windowMs) {
      entry.count += 1;
      return;
    }
    this.failures.delete(key);
    this.failures.set(key, { count: 1, since: this.now() });
    if (this.failures.size > this.maxAddresses) this.failures.delete(this.failures.keys().next().value!);
  }
}
