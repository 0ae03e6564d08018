import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** A stand-in that takes connections from one address alone (a proxy's outbound address), counting the others. */
export interface OnlyFrom {
  onlyFrom: string | undefined;
  refusedDirect: number;
}

/** Drops, before a byte is read, every connection to `server` that does not come from `stand.onlyFrom` (when set). */
export function refuseOthers(server: Server, stand: OnlyFrom): void {
  server.prependListener('connection', (socket: Socket) => {
    if (stand.onlyFrom === undefined || socket.remoteAddress === stand.onlyFrom) return;
    stand.refusedDirect += 1;
    socket.destroy();
  });
}
