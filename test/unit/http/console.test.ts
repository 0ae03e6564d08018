import { EventEmitter } from 'node:events';
import { LiveView } from '../../../src/pipeline/live-view.js';
import type { MeetingView } from '../../../src/pipeline/types.js';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { OperatorConsole } from '../../../src/http/console.js';
import type { ConsoleView, MeetingControl } from '../../../src/pipeline/types.js';
import { captureLogs } from '../../helpers/log-capture.js';
import { waitUntil } from '../../helpers/wait.js';

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

describe('the console\'s words being recognised', () => {
  it('shows each word once: settled words, then only the rest of the utterance the engine is still hearing', () => {
    const meeting = new EventEmitter() as EventEmitter & MeetingView;
    Object.assign(meeting, { id: 'stage', state: 'streaming', snapshot: () => ({ engine: 'pocketsphinx', state: 'streaming', destinations: [] }) });
    const live = new LiveView(meeting);
    const words = (): { settled: string; interim: string } => live.view({ paused: false, canSwitchEngine: false, desk: { holdMs: 0, held: [], offers: [] } }).words;
    meeting.emit('speech', { interim: 'the quick brown' });
    expect(words()).toEqual({ settled: '', interim: 'the quick brown' });
    meeting.emit('speech', { settled: 'The quick', settledWords: 2 });
    meeting.emit('speech', { interim: 'the quick brown fox jumps' });
    expect(words()).toEqual({ settled: 'The quick', interim: 'brown fox jumps' });
    // The utterance ends: its last words settle, and the next one's interim starts from its own first word.
    meeting.emit('speech', { interim: '' });
    meeting.emit('speech', { settled: 'brown fox jumps.', settledWords: 3, endsUtterance: true });
    meeting.emit('speech', { interim: 'over the' });
    expect(words()).toEqual({ settled: 'The quick brown fox jumps.', interim: 'over the' });
  });
});
