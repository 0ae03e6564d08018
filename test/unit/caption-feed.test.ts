import { describe, expect, it } from 'vitest';
import { CaptionFeed, type FeedCaption, type FeedReader } from '../../src/caption/caption-feed.js';
import type { OutgoingCaption } from '../../src/caption/sink.js';

const caption = (text: string, start: number, speaker?: string): OutgoingCaption => ({ text, words: text.split(' '), start, end: start + 1, releasedAt: 0, spokenAt: 0, wordsSpokenAt: [], ...(speaker ? { speaker } : {}) });

class Reader implements FeedReader {
  readonly got: FeedCaption[] = [];
  ended: string | undefined;
  constructor(private room = Infinity) {}
  send(c: FeedCaption): boolean {
    if (this.got.length >= this.room) return false;
    this.got.push(c);
    return true;
  }
  end(reason: string): void {
    this.ended = reason;
  }
}

describe('a meeting caption feed', () => {
  it('numbers the captions, keeps what it is told to for readers who join late, and says who spoke', async () => {
    const feed = new CaptionFeed({ meetingId: 'm', token: undefined, maxReaders: 10, keep: 3 });
    for (const [i, text] of ['one', 'two', 'three', 'four'].entries()) expect(await feed.deliver(caption(text, i, i === 3 ? 'Ana' : undefined))).toMatchObject({ status: 'written', seq: i + 1 });
    const late = new Reader();
    expect(feed.join(late)).toEqual({ caughtUp: 3 });
    expect(late.got.map((c) => [c.seq, c.text, c.speaker])).toEqual([[2, 'two', undefined], [3, 'three', undefined], [4, 'four', 'Ana']]);
    const resumed = new Reader();
    feed.join(resumed, 3);
    expect(resumed.got.map((c) => c.seq)).toEqual([4]);
  });

  it('drops a reader that cannot keep up, alone: the others get every caption', async () => {
    const feed = new CaptionFeed({ meetingId: 'm', token: 't'.repeat(16), maxReaders: 10, keep: 100 });
    const frozen = new Reader(1);
    const steady = new Reader();
    feed.join(frozen);
    feed.join(steady);
    for (const text of ['a', 'b', 'c']) await feed.deliver(caption(text, 0));
    expect(frozen.ended).toMatch(/too slow/);
    expect(steady.got.map((c) => c.text)).toEqual(['a', 'b', 'c']);
    expect(feed.readerCount).toBe(1);
  });

  it('refuses readers past its cap and tells its readers when the meeting stops here', async () => {
    const feed = new CaptionFeed({ meetingId: 'm', token: undefined, maxReaders: 1, keep: 100 });
    const first = new Reader();
    feed.join(first);
    expect(feed.join(new Reader())).toEqual({ refused: 'this caption page has its 1 readers, the most the meeting allows: try again later' });
    feed.leave(first);
    expect(feed.refusal()).toBeUndefined();
    feed.join(first);
    await feed.close();
    await feed.close();
    expect(first.ended).toBe('the meeting stopped here');
    expect(feed.refusal()).toBe('the meeting is not running here');
  });
});
