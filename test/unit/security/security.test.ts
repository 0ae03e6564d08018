import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { parseCaptionUrl } from '../../../src/caption/caption-url.js';
import { redactStreamUrl, streamUrlSecrets } from '../../../src/redact.js';
import { ClientAddresses, isAddressOrNetwork } from '../../../src/security/client-address.js';
import { FailureThrottle, throttleKey } from '../../../src/security/throttle.js';
import { closeReason } from '../../../src/util/websocket.js';
import { httpOrigin } from '../../../src/util/origin.js';

const request = (socketAddress: string, forwardedFor?: string): IncomingMessage =>
  ({ socket: { remoteAddress: socketAddress }, headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } }) as unknown as IncomingMessage;

describe('client addresses and the failed-attempt throttle', () => {
  it('believes X-Forwarded-For only from a trusted proxy, reading from the right', () => {
    const addresses = new ClientAddresses(['10.0.0.0/8', '::1']);
    expect(addresses.of(request('10.1.2.3', '203.0.113.9, 10.0.0.7'))).toBe('203.0.113.9');
    expect(addresses.of(request('::ffff:10.1.2.3', 'spoofed, 198.51.100.4'))).toBe('198.51.100.4');
    expect(addresses.of(request('198.51.100.1', '203.0.113.9'))).toBe('198.51.100.1');
    expect(addresses.of(request('10.1.2.3'))).toBe('10.1.2.3');
    expect(new ClientAddresses().of(request('10.1.2.3', '203.0.113.9'))).toBe('10.1.2.3');
    expect(['10.0.0.0/8', '::1', 'fd00::/8', '192.0.2.1'].every(isAddressOrNetwork)).toBe(true);
    expect(['10.0.0.0/33', 'proxy.local', '10.0.0.0/8/1', ''].some(isAddressOrNetwork)).toBe(false);
  });

  it('reads a client written with its port (ip:port, [v6]:port) as that client, not as the proxy', () => {
    const addresses = new ClientAddresses(['10.0.0.0/8']);
    expect(addresses.of(request('10.1.2.3', '4.4.4.4:40001'))).toBe('4.4.4.4');
    expect(addresses.of(request('10.1.2.3', '[2001:db8::7]:40001, 10.0.0.9:80'))).toBe('2001:db8::7');
    expect(addresses.of(request('10.1.2.3', '[2001:db8::8]'))).toBe('2001:db8::8');
    expect(addresses.of(request('10.1.2.3', '2001:db8::9'))).toBe('2001:db8::9');
  });

  it('counts an IPv6 client by its /64 and a mapped IPv4 client by its IPv4 address', () => {
    expect(throttleKey('2001:db8:1:2::1')).toBe(throttleKey('2001:DB8:1:2:ffff:0:0:9'));
    expect(throttleKey('2001:db8:1:2::1')).not.toBe(throttleKey('2001:db8:1:3::1'));
    expect(throttleKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    const throttle = new FailureThrottle(3);
    for (let i = 1; i <= 3; i++) throttle.fail(`2001:db8:1:2::${i}`);
    expect(throttle.blocked('2001:db8:1:2::abcd')).toBe(true);
    expect(throttle.blocked('2001:db8:1:3::1')).toBe(false);
  });
});

describe('addresses a process relays readers to', () => {
  it('takes only a bare http(s) origin', () => {
    expect(httpOrigin('http://10.0.0.7:8080')).toBe('http://10.0.0.7:8080');
    expect(httpOrigin('https://bridge-1.example/')).toBe('https://bridge-1.example');
    for (const bad of ['http://host/latest/meta-data/iam#', 'http://host/x', 'http://host?x=1', 'http://host/?', 'http://host#', 'http://user:pw@host', 'ftp://host', 'file:///etc/passwd', 'javascript:alert(1)', 'not a url']) {
      expect(httpOrigin(bad), bad).toBeUndefined();
    }
  });
});

describe('secrets and peer text', () => {
  it('scrubs an RTMP stream key however short', () => {
    expect(streamUrlSecrets('rtmp://mixer.local/live/k1')).toEqual(['k1']);
    expect(redactStreamUrl('rtmp://mixer.local/live/k1')).not.toContain('k1');
  });

  it('takes an http Caption URL only for a local test server', () => {
    expect(() => parseCaptionUrl('http://zoom.us/closedcaption?id=1&signature=s')).toThrow(/must be https/);
    expect(parseCaptionUrl('http://127.0.0.1:9/closedcaption?id=1&signature=s').redacted).not.toContain('=s&');
  });

  it('cuts a close reason by UTF-8 bytes on a character boundary', () => {
    const reason = closeReason(`unknown control message type "${'€'.repeat(60)}"`);
    expect(Buffer.byteLength(reason)).toBeLessThanOrEqual(123);
    expect(reason).toMatch(/€\.\.\.$/);
    expect(closeReason('short')).toBe('short');
  });
});
