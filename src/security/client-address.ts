import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/**
 * The address of the client behind the connection. Behind an Ingress, a TLS terminator or a Kubernetes Service every
 * connection comes from the proxy, so the proxy's X-Forwarded-For names the client; it is believed only when the
 * connection comes from a proxy the config trusts (anyone can send the header), and read from the right: the last
 * entry that is not itself a trusted proxy is the one the nearest trusted proxy saw.
 */
export class ClientAddresses {
  private readonly trusted = new BlockList();
  readonly any: boolean;

  /** `proxies`: addresses (10.0.0.7, ::1) or networks (10.0.0.0/8, fd00::/8). */
  constructor(proxies: readonly string[] = []) {
    for (const proxy of proxies) {
      const [address = '', bits] = proxy.split('/');
      if (bits === undefined) this.trusted.addAddress(address, familyOf(address));
      else this.trusted.addSubnet(address, Number(bits), familyOf(address));
    }
    this.any = proxies.length > 0;
  }

  of(req: IncomingMessage): string {
    const socket = socketAddress(req);
    if (!this.any || !this.isTrusted(socket)) return socket;
    const header = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',').map((hop) => unmapped(withoutPort(hop.trim()))).filter((hop) => isIP(hop) !== 0);
    for (let i = hops.length - 1; i >= 0; i--) if (!this.isTrusted(hops[i]!)) return hops[i]!;
    return hops[0] ?? socket;
  }

  private isTrusted(address: string): boolean {
    return isIP(address) !== 0 && this.trusted.check(address, familyOf(address));
  }
}

/**
 * Some proxies write the client's port too: `192.0.2.1:40001`, `[2001:db8::1]:40001` (and `[2001:db8::1]`). A bare
 * IPv6 address has colons of its own and is left as it is.
 */
export function withoutPort(hop: string): string {
  const bracketed = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/i.exec(hop);
  if (bracketed) return bracketed[1]!;
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(hop);
  return v4 ? v4[1]! : hop;
}

/** The address the connection itself comes from: the client, when no proxy stands between. */
export function socketAddress(req: IncomingMessage): string {
  return unmapped(req.socket.remoteAddress ?? '');
}

function familyOf(address: string): 'ipv4' | 'ipv6' {
  return isIP(address) === 6 ? 'ipv6' : 'ipv4';
}

/** ::ffff:192.0.2.1 is the IPv4 client 192.0.2.1 on a dual-stack socket. */
export function unmapped(address: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) ? address.slice(7) : address;
}

/** A schema check for one trusted proxy entry: an address or a network in CIDR notation. */
export function isAddressOrNetwork(text: string): boolean {
  const [address, bits, extra] = text.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return /^\d+$/.test(bits) && n <= (family === 6 ? 128 : 32);
}
