import { timingSafeEqual } from 'node:crypto';

/** Constant-time comparison of a presented secret with the expected one. */
/** The token of an Authorization header: `Bearer <token>`, or also Deepgram's `Token <token>` where `schemes` says so. */
export function presentedToken(header: string | undefined, schemes: readonly string[] = ['Bearer']): string | undefined {
  if (!header) return undefined;
  const [scheme, ...rest] = header.trim().split(/\s+/);
  const token = rest.join(' ');
  return token && schemes.some((s) => s.toLowerCase() === scheme!.toLowerCase()) ? token : undefined;
}

export function tokensMatch(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Values shipped in this project's examples: fine on 127.0.0.1, never on an address others can reach. */
const PLACEHOLDERS = new Set(['demo-token', 'demo-token-change-me', 'change-me-long-random', 'change-me', 'changeme', 'secret', 'token', 'password']);
export const MIN_SECRET_LENGTH = 16;

/** Why a secret is too weak to guard a port others can reach, or undefined when it is fine. */
export function weakSecret(value: string): string | undefined {
  if (PLACEHOLDERS.has(value.toLowerCase())) return `"${value}" is a placeholder from the examples`;
  if (value.length < MIN_SECRET_LENGTH) return `it is shorter than ${MIN_SECRET_LENGTH} characters`;
  return undefined;
}

/** An address only this machine can reach. */
export function isLoopback(host: string): boolean {
  return /^(127(\.\d{1,3}){3}|::1|\[::1\]|localhost)$/i.test(host.trim());
}
