import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptionFeed, type FeedCaption, type FeedReader } from '../../src/caption/caption-feed.js';
import type { OutgoingCaption } from '../../src/caption/sink.js';
import { connectEtcd, dataPrefix } from '../../src/control/fleet/etcd-client.js';
import { EtcdFeedHistory, EtcdSeenSignatures } from '../../src/control/fleet/etcd-data.js';
import { silentLogger } from '../../src/log.js';
import { FileSeenSignatures, seenEverywhere } from '../../src/zoom-api/seen-signatures.js';
import { EtcdCluster } from '../helpers/etcd.js';

const caption = (text: string): OutgoingCaption => ({ text, words: text.split(' '), start: 0, end: 1, releasedAt: 0, spokenAt: 0, wordsSpokenAt: [] });

/** What must outlive a meeting's owner in a fleet: the caption page's history, and the webhooks any process took. */
describe('fleet data in etcd', () => {
  let dir: string;
  let cluster: EtcdCluster;
  let one: Etcd3;
  let other: Etcd3;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cb-etcd-data-'));
    cluster = await EtcdCluster.start(dir);
    await cluster.waitHealthy();
    const options = { endpoints: cluster.endpoints, prefix: '/caption-bridge/' };
    one = connectEtcd(options);
    other = connectEtcd(options);
  }, 60_000);

  afterAll(async () => {
    one?.close();
    other?.close();
    await cluster?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a meeting that moves to another process numbers on from its captions, and its readers scroll back over them', async () => {
    const at = (client: Etcd3): CaptionFeed => {
      const data = client.namespace(dataPrefix('/caption-bridge/'));
      return new CaptionFeed({ meetingId: 'moved', token: undefined, maxReaders: 10, keep: 3, history: new EtcdFeedHistory(data, EtcdFeedHistory.leaseFor(data), 'moved', silentLogger) });
    };
    const first = at(one);
    await first.start();
    for (const text of ['one', 'two', 'three', 'four']) await first.deliver(caption(text));
    await first.close();
    const taken = at(other);
    await taken.start();
    expect(await taken.deliver(caption('five'))).toMatchObject({ seq: 5 });
    const got: FeedCaption[] = [];
    const reader: FeedReader = { send: (c) => (got.push(c), true), end: () => undefined };
    taken.join(reader);
    expect(got.map((c) => [c.seq, c.text])).toEqual([[3, 'three'], [4, 'four'], [5, 'five']]);
    await taken.close();
    // Beside the fleet's prefix, so the fleet's watch and resyncs never read it.
    expect((await one.getAll().prefix('/caption-bridge/').keys()).length).toBe(0);
  });

  it('a signed webhook taken by one process is refused by another, and after either restarts', async () => {
    const data = (client: Etcd3): EtcdSeenSignatures => new EtcdSeenSignatures(client.namespace(dataPrefix('/caption-bridge/')), silentLogger);
    const now = Date.now();
    const here = seenEverywhere(new FileSeenSignatures(join(dir, 'a', 'seen.txt'), silentLogger), data(one));
    const there = seenEverywhere(new FileSeenSignatures(join(dir, 'b', 'seen.txt'), silentLogger), data(other));
    expect(await here.firstTime('v0=abc', now)).toBe(true);
    expect(await there.firstTime('v0=abc', now)).toBe(false);
    expect(await here.firstTime('v0=abc', now)).toBe(false);
    expect(await there.firstTime('v0=def', now)).toBe(true);
    // etcd unreachable: the process's own record still refuses what it took.
    const unreachable = connectEtcd({ endpoints: ['http://127.0.0.1:1'], prefix: '/caption-bridge/' });
    const cut = seenEverywhere(new FileSeenSignatures(join(dir, 'a', 'seen.txt'), silentLogger), data(unreachable));
    expect(await cut.firstTime('v0=abc', now)).toBe(false);
    expect(await cut.firstTime('v0=new', now)).toBe(true);
    unreachable.close();
  }, 30_000);
});
