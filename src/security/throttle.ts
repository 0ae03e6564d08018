import { isIP } from 'node:net';
import { unmapped } from './client-address.js';

/**
 * The key an address is counted under. One IPv6 host is given a /64 (it can use any address in it), so an IPv6
 * address counts as its /64; IPv4 addresses count as themselves.
 */
export function throttleKey(raw: string | undefined): string {
  const address = unmapped(raw ?? '');
  if (isIP(address) !== 6) return address;
  const [head = '', tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

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
    const key = throttleKey(address);
    const entry = this.failures.get(key);
    if (!entry) return false;
    if (this.now() - entry.since >= this.windowMs) {
      this.failures.delete(key);
      return false;
    }
    return entry.count >= this.maxFailures;
  }

  fail(address: string | undefined): void {
    const key = throttleKey(address);
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
