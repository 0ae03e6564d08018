/**
 * Why a connection failed, in the terms of the network in between (DNS, a firewall, a proxy, TLS inspection), so
 * the person at the keyboard knows whom to ask; the message itself follows. Any other message comes back unchanged.
 */
export function networkProblem(message: string): string {
  if (/ENOTFOUND|EAI_AGAIN|getaddrinfo/i.test(message)) return `the host name does not resolve (DNS; behind a proxy, set HTTPS_PROXY): ${message}`;
  if (/ECONNREFUSED/i.test(message)) return `the connection was refused (nothing listens there, or a firewall): ${message}`;
  if (/certificate|CERT_|self[- ]signed|SSL|TLS/i.test(message)) return `TLS failed (a proxy that inspects TLS needs its CA in NODE_EXTRA_CA_CERTS): ${message}`;
  if (/HTTP 407|proxy/i.test(message)) return `a proxy refused the connection: ${message}`;
  if (/ETIMEDOUT|timed? ?out|EHOSTUNREACH|ENETUNREACH|ECONNRESET|UND_ERR_CONNECT/i.test(message)) return `no answer (a firewall or a proxy in the way?): ${message}`;
  return message;
}
