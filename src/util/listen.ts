import type { AddressInfo, Server } from 'node:net';

/**
 * Listens, resolving with the bound address (port 0 picks one) or rejecting with the bind error (port in use). Once
 * listening, a server error (EMFILE when out of file descriptors, say) goes to `onError`: without a listener it would
 * end the process.
 */
export function listen(server: Server, port: number, host: string, onError: (err: Error) => void): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      server.on('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}
