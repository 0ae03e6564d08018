import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { OperatorConsole } from '../../src/http/console.js';
import type { ConsoleView, MeetingControl } from '../../src/pipeline/types.js';
import { captureLogs } from '../helpers/log-capture.js';
import { waitUntil } from '../helpers/wait.js';

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

describe('the console live view', () => {
  it('skips a watcher that reads nothing instead of buffering every update for it, then closes it', async () => {
    const logs = captureLogs('info');
    // A large view (1 MB of posts), so a reader that stops fills the socket buffers within seconds.
    const view = { id: 'stage', recentPosts: 'x'.repeat(1 << 20) } as unknown as ConsoleView;
    const meeting: MeetingControl = { id: 'stage', consoleView: () => view, act: async () => 'done' };
    const operatorConsole = new OperatorConsole({ meetings: () => [meeting], adminRefusal: () => undefined, clientAddress: () => '127.0.0.1', log: logs.log, stalledAfterMs: 1_000 });
    const server = createServer((req, res) => void operatorConsole.handle(req, res, new URL(req.url!, 'http://x').pathname));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => server.close());
    cleanups.push(() => server.closeAllConnections());

    const frozen = connect((server.address() as AddressInfo).port, '127.0.0.1');
    cleanups.push(() => frozen.destroy());
    frozen.write('GET /console/api/events HTTP/1.1\r\nHost: x\r\n\r\n');
    frozen.pause(); // a frozen tab: the connection stays open, nothing is read
    const rssBefore = process.memoryUsage().rss;
    await waitUntil(() => logs.text().includes('console live view closed: it read nothing for too long'), { timeoutMs: 30_000, what: 'the stalled watcher closed' });
    const grownMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    // Unbounded, this grows by 2.5 MB a second for as long as the tab stays frozen.
    expect(grownMiB).toBeLessThan(64);
  });
});
