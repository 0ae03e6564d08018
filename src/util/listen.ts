import type { AddressInfo, Server } from 'node:net';

/** Listens, resolving with the bound address (port 0 picks one) or rejecting with the bind error (port in use). */
export function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
